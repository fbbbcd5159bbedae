"""Run the daemon in the foreground (``gateway run``) and bridge Twisted's log to the console."""

from __future__ import annotations

import sys
from typing import Any

from twisted.logger import globalLogBeginner

from gateway import gctune
from gateway.config import GatewayConfig
from gateway.errors import ConfigError


def log_observer(level: str) -> Any:
    """Twisted's own log on the console, re-levelled and rendered like the audit events."""
    from gateway.audit.twisted_log import observer

    return observer(level)


def run(config: GatewayConfig) -> int:
    from twisted.internet import reactor as _reactor

    from gateway.service import make_service

    reactor: Any = _reactor
    globalLogBeginner.beginLoggingTo([log_observer(config.log.level)], redirectStandardIO=False)
    try:
        service = make_service(config, reactor)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unusable data directory, say
        print(f"error: cannot start: {exc}", file=sys.stderr)
        return 2
    exit_code = [0]

    def start() -> None:
        try:
            service.startService()
            # what the daemon loaded to start (guides, profiles, Twisted) stays for good
            gctune.tune()
        except Exception as exc:  # a listener that cannot bind, say
            print(f"error: cannot start: {exc}", file=sys.stderr)
            exit_code[0] = 1
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return exit_code[0]
