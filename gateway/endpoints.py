"""Checks for Twisted endpoint strings, usable before a reactor exists."""

from __future__ import annotations

_KNOWN = ("tcp", "tcp6", "ssl", "unix", "systemd")


def check_endpoint_string(description: str) -> str | None:
    """``None`` if ``description`` looks like a usable server endpoint, else why not."""
    from twisted.internet.endpoints import _parseServer

    if not description.strip():
        return "empty endpoint string"
    try:
        kind, args, kwargs = _parseServer(description, None)
    except Exception as exc:  # any parse failure is a config problem, not a crash
        return f"bad endpoint string {description!r}: {exc}"
    # Plugin-based parsers (tcp6, systemd...) come back as objects with a ``prefix``.
    name = str(getattr(kind, "prefix", kind)).lower()
    if name not in _KNOWN:
        return f"unknown endpoint type {kind!r} in {description!r}"
    if name in ("tcp", "tcp6", "ssl"):
        port = args[0] if args else kwargs.get("port")
        try:
            number = int(port)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return f"bad port in {description!r}"
        if not 0 <= number <= 65535:
            return f"port out of range in {description!r}"
    return None
