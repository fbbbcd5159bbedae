"""Limits of the HTTP listener, and the counters that enforce them."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class HttpLimits:
    max_body: int = 64 * MiB
    """Largest request body (bytes): a bigger Content-Length is answered 413 before any of
    the body is read; a chunked body is cut off with 413 as soon as it passes the limit."""
    max_uploads: int = 32
    """Request bodies being received at once (all clients): more → 503 before reading. A slot
    is taken only after the request authenticated from its headers (API bearer token; known
    AS2-From/AS2-To names)."""
    max_uploads_per_address: int = 4
    """Request bodies being received at once from one source address: more → 429."""
    max_in_flight: int = 64
    """Authenticated API requests being handled at once (all partners): more → 503."""
    max_per_partner: int = 8
    """API requests of one partner being handled at once: more → 429."""
    idle_timeout: float = 30.0
    """Seconds a connection may send nothing (between or inside requests) before it is closed."""
    request_timeout: float = 300.0
    """Seconds from a request's first line until its body is complete; slower → 408, closed."""
    min_body_rate: int = 1024
    """Bytes per second a body must arrive at, measured over each ``body_rate_window``;
    slower → 408, closed (0: no rate check, only ``request_timeout``)."""
    body_rate_window: float = 10.0
    """Seconds over which ``min_body_rate`` is measured."""
    max_request_line: int = 16 * 1024
    """Longest request line (method, target, version) in bytes: longer → 414."""
    max_header_bytes: int = 16 * 1024
    """Header lines of one request, in bytes all together: more → 431."""
    max_header_fields: int = 500
    """Header fields of one request: more → 431."""
    retry_after: int = 1
    """``Retry-After`` seconds sent with 429 and 503."""


class Limiter:
    """Concurrent API requests, globally and per partner."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.total = 0
        self.per_partner: dict[str, int] = {}

    def acquire(self, partner_id: str) -> int | None:
        """None when the request may go on (call :meth:`release` when it ends), else the
        status to answer: 429 (this partner is over its share) or 503 (the gateway is busy)."""
        if self.per_partner.get(partner_id, 0) >= self.limits.max_per_partner:
            return 429
        if self.total >= self.limits.max_in_flight:
            return 503
        self.total += 1
        self.per_partner[partner_id] = self.per_partner.get(partner_id, 0) + 1
        return None

    def release(self, partner_id: str) -> None:
        self.total = max(0, self.total - 1)
        left = self.per_partner.get(partner_id, 0) - 1
        if left > 0:
            self.per_partner[partner_id] = left
        else:
            self.per_partner.pop(partner_id, None)
