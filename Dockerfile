# The gateway daemon. Data (SQLite, payloads, host keys, audit log) lives in the /data volume.
#   docker build -t edi-gateway .
#   docker run -p 2222:2222 -p 8080:8080 -v gateway-data:/data edi-gateway
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_DATA_DIR=/data \
    GATEWAY_SFTP_LISTEN=tcp:2222 \
    GATEWAY_HTTP_LISTEN=tcp:8080

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
ENTRYPOINT ["gateway", "run", "--config", "/app/config/gateway.toml"]
