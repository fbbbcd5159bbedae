# The gateway daemon. Data (SQLite, payloads, host keys, audit log) lives in the /data volume.
#   docker build -t edi-gateway .
# Production: mount your config and partner profiles (the image refuses to start without them):
#   docker run -p 2222:2222 -p 8080:8080 -v gateway-data:/data \
#       -v $PWD/gateway.toml:/etc/gateway/gateway.toml:ro -v $PWD/partners:/etc/gateway/partners:ro \
#       edi-gateway
# Demo (the published demo partners and keys, never for real data):
#   docker run -p 2222:2222 -p 8080:8080 -e GATEWAY_DEMO=1 edi-gateway
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_DATA_DIR=/data \
    GATEWAY_SFTP_LISTEN=tcp:2222 \
    GATEWAY_HTTP_LISTEN=tcp:8080 \
    GATEWAY_CONFIG=/etc/gateway/gateway.toml \
    GATEWAY_PARTNERS_DIR=/etc/gateway/partners

RUN useradd --system --home-dir /data --shell /usr/sbin/nologin gateway \
    && mkdir -p /data && chown gateway /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY twisted ./twisted
COPY config ./config
COPY partners ./partners
COPY schemas ./schemas
# Editable (compat) install: the package finds schemas/, config/ and partners/ beside it in /app
# and twistd finds twisted/plugins/gateway_plugin.py.
RUN pip install --no-cache-dir -e . --config-settings editable_mode=compat

USER gateway
VOLUME ["/data"]
EXPOSE 2222 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
# gateway/container.py: GATEWAY_DEMO=1 runs the demo set; otherwise the mounted config and
# partners (no demo profile, no demo key) or a clear refusal. Arguments go to `gateway run`.
ENTRYPOINT ["python", "-m", "gateway.container"]
