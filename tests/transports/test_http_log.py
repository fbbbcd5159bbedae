"""The HTTP access log never carries query strings (a ``?filename=`` may name a patient)."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.transports.http import access_log_line


def test_query_string_is_not_logged() -> None:
    request = SimpleNamespace(
        uri=b"/api/v1/files?filename=DOE_JANE_19700101.x12",
        method=b"POST",
        code=202,
        sentLength=57,
        getClientAddress=lambda: SimpleNamespace(host="10.0.0.5"),
    )
    line = access_log_line("ts", request)
    assert line == '"10.0.0.5" "POST /api/v1/files" 202 57'
    assert "DOE" not in line
