"""Twisted's log through the structlog console renderer, at the levels an operator needs."""

from __future__ import annotations

import io

from twisted.conch.ssh.transport import SSHServerTransport
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from gateway.audit.twisted_log import TwistedLogBridge

TRANSPORT = "twisted.conch.ssh.transport.SSHServerTransport"


def emit(level: str = "info") -> tuple[io.StringIO, TwistedLogBridge]:
    out = io.StringIO()
    return out, TwistedLogBridge(out, level)


def test_normal_ssh_disconnect_is_info_not_error() -> None:
    out, bridge = emit("info")
    log = Logger(namespace=TRANSPORT, observer=bridge)
    # exactly what Conch says when a client leaves (transport.ssh_DISCONNECT)
    log.error(
        "Got remote error, code {code}\nreason: {description}",
        code=11,
        description=b"disconnected by user",
    )
    (line,) = out.getvalue().splitlines()
    assert line.startswith("[info") and "[error" not in line
    assert "Got remote error, code 11 / reason: b'disconnected by user'" in line
    assert f"[{TRANSPORT}]" in line and "ts=" in line


def test_per_connection_chatter_is_debug_and_hidden_at_info() -> None:
    out, bridge = emit("info")
    log = Logger(namespace="twisted.conch.ssh.connection.SSHConnection", observer=bridge)
    log.info("sending close {id}", id=0)
    Logger(namespace=TRANSPORT, observer=bridge).info("connection lost")
    assert out.getvalue() == ""
    out, bridge = emit("debug")
    Logger(namespace=TRANSPORT, observer=bridge).info("connection lost")
    assert out.getvalue().startswith("[debug") and "connection lost" in out.getvalue()


def test_real_errors_stay_errors_with_their_traceback() -> None:
    out, bridge = emit("warning")
    log = Logger(namespace=TRANSPORT, observer=bridge)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.failure("Unhandled error in packet {n}", Failure(), n=3)
    log.error("Got remote error, code {code}\nreason: {description}", code=2, description="x")
    Logger(namespace="gateway.ours", observer=bridge).warn("disk {what}", what="low")
    lines = out.getvalue().splitlines()
    assert (
        lines[0].startswith(("[error", "[critical")) and "Unhandled error in packet 3" in lines[0]
    )
    assert "ZeroDivisionError" in out.getvalue()  # the traceback follows
    warnings = [line for line in lines if line.startswith("[warning")]
    assert "code 2" in warnings[0]  # a protocol error is worth a look, not an alarm
    assert "disk low" in warnings[1] and "[gateway.ours]" in warnings[1]


def test_legacy_log_events() -> None:
    out, bridge = emit("info")
    bridge({"log_namespace": "log_legacy", "log_level": LogLevel.info, "system": "SSHChannel",
            "log_format": "{log_text}", "log_text": "remote close", "log_time": 0.0})  # fmt: skip
    assert out.getvalue() == ""
    bridge({"log_namespace": "log_legacy", "log_level": LogLevel.info, "isError": 1,
            "system": "SSHChannel", "log_format": "{log_text}", "log_text": "boom",
            "log_time": 0.0})  # fmt: skip
    assert out.getvalue().startswith("[error") and "boom" in out.getvalue()
    assert "ts=1970-01-01T00:00:00.000+00:00" in out.getvalue()


class GatewayTransport(SSHServerTransport):
    """Like gateway.transports.sftp: our subclass logs under our module's namespace."""


def test_our_subclasses_of_conch_are_relevelled_too() -> None:
    out, bridge = emit("info")
    transport = GatewayTransport()
    log = Logger(namespace=f"{__name__}.GatewayTransport", source=transport, observer=bridge)
    log.info("connection lost")
    assert out.getvalue() == ""
    log.error("Got remote error, code {code}\nreason: {description}", code=11, description=b"bye")
    assert out.getvalue().startswith("[info")
    ours = Logger(namespace="gateway.service", source=object(), observer=bridge)
    ours.info("listening")
    assert out.getvalue().splitlines()[-1].startswith("[info") and "listening" in out.getvalue()
