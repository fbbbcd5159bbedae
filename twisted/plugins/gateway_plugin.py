"""twistd plugin: ``twistd -n gateway [--config FILE] [--data-dir DIR] ...``."""

from __future__ import annotations

from typing import Any

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    optParameters = [
        ["config", "c", None, "gateway config file (TOML)"],
        ["data-dir", "d", None, "data directory (env GATEWAY_DATA_DIR)"],
        ["partners", "p", None, "partner profile directory"],
        ["sftp-listen", None, None, "SFTP endpoint (env GATEWAY_SFTP_LISTEN)"],
        ["http-listen", None, None, "HTTP endpoint (env GATEWAY_HTTP_LISTEN)"],
    ]


@implementer(IServiceMaker, IPlugin)
class GatewayServiceMaker:
    tapname = "gateway"
    description = "Clearinghouse EDI gateway (SFTP mailboxes, X12 acknowledgments)"
    options = Options

    def makeService(self, options: Any) -> Any:
        from twisted.internet import reactor

        from gateway.config import Overrides, load_config
        from gateway.errors import ConfigError
        from gateway.service import make_service

        try:
            config = load_config(
                options["config"],
                Overrides(
                    data_dir=options["data-dir"],
                    sftp_listen=options["sftp-listen"],
                    http_listen=options["http-listen"],
                    partners_dir=options["partners"],
                ),
            )
            return make_service(config, reactor)
        except ConfigError as exc:  # twistd prints this without a traceback
            raise usage.UsageError("\n" + "\n".join(str(p) for p in exc.problems)) from None


serviceMaker = GatewayServiceMaker()
