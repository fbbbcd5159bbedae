"""Run the daemon in the foreground (``gateway run``) and bridge Twisted's log to the console."""

from __future__ import annotations

import sys
from typing import Any

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
    globalLogBeginner,
    textFileLogObserver,
)

from gateway.audit import console_stream
from gateway.config import GatewayConfig
from gateway.errors import ConfigError

_LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warning": LogLevel.warn,
    "error": LogLevel.error,
}


def is_noise(event: dict[str, Any]) -> bool:
    """Conch logs every packet at info and normal disconnects at error; drop those."""
    namespace = str(event.get("log_namespace", ""))
    text = str(event.get("log_format") or event.get("message") or "")
    level = event.get("log_level")
    if namespace.startswith("twisted.conch") and level in (LogLevel.debug, LogLevel.info):
        return True
    lowered = text.lower()
    if "connection lost" in lowered or "connectionlost" in lowered:
        return level is not LogLevel.critical
    if namespace.startswith(("twisted.conch", "SSH")) and "disconnect" in lowered:
        return True
    return namespace.endswith("SSHServerTransport") and level is not LogLevel.critical


def _drop_noise(event: dict[str, Any]) -> PredicateResult:
    from gateway.transports.sftp import is_conch_noise

    noisy = is_conch_noise(event) or is_noise(event)
    return PredicateResult.no if noisy else PredicateResult.maybe


def log_observer(level: str) -> Any:
    """Twisted's own log on the console, without Conch's per-packet chatter."""
    predicate: Any = LogLevelFilterPredicate(defaultLogLevel=_LEVELS.get(level, LogLevel.info))
    sink: Any = textFileLogObserver(console_stream())
    noise: Any = _drop_noise
    return FilteringLogObserver(sink, [noise, predicate])


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
        except Exception as exc:  # a listener that cannot bind, say
            print(f"error: cannot start: {exc}", file=sys.stderr)
            exit_code[0] = 1
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return exit_code[0]
