"""Upload slots over real sockets: strangers that announce big bodies and trickle them cannot
hold the slots partners need (the attack run's slot exhaustion)."""

from __future__ import annotations

import socket
from contextlib import suppress

import pytest_twisted
from twisted.internet import threads

from gateway.as2 import parse_mdn
from tests.api.conftest import DEMO_TOKEN
from tests.as2_web.conftest import (  # noqa: F401  (make_env is a fixture)
    CLEARINGHOUSE,
    MakeEnv,
    claims,
    make_env,
    message,
)

STRANGERS = 32


def _heads() -> list[bytes]:
    as2 = (
        b"POST /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAS2-From: STRANGER\r\nAS2-To: CLEARINGHOUSE\r\n"
        b"Message-ID: <s@x>\r\nContent-Type: application/pkcs7-mime\r\n"
        b"Content-Length: 1000000\r\n\r\nx"
    )
    api = b"POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\nx"
    return [as2, api]


def _open_strangers(port: int) -> list[socket.socket]:
    socks = []
    for i in range(STRANGERS):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(_heads()[i % 2])
        socks.append(s)
    return socks


def _trickle_and_read(socks: list[socket.socket]) -> list[bytes]:
    """One more byte each (a trickle), then whatever each got back."""
    answers = []
    for s in socks:
        with suppress(OSError):
            s.send(b"x")
    for s in socks:
        s.settimeout(2)
        try:
            answers.append(s.recv(200).split(b"\r\n", 1)[0])
        except OSError:
            answers.append(b"")
    return answers


def _post_file(port: int) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/v1/files?filename=slots.837",
            body=claims(7001),
            headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        )
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_trickling_strangers_do_not_hold_the_partners_slots(make_env: MakeEnv) -> None:  # noqa: F811
    env = await make_env()
    port = env.port.getHost().port
    socks = await threads.deferToThread(_open_strangers, port)
    try:
        status, body = await threads.deferToThread(_post_file, port)
        assert status == 202, body
        headers, payload, mic = message(claims(7002), message_id="slots-1@demobilling")
        answer = await env.post(headers, payload)
        assert answer.status == 200
        mdn = parse_mdn(answer.headers, answer.body, verify_with=[CLEARINGHOUSE[1]])
        assert mdn.is_positive(mic)
        answers = await threads.deferToThread(_trickle_and_read, socks)
    finally:
        for s in socks:
            s.close()
    # every stranger was answered from its headers (and its connection closed)
    assert all(a.startswith(b"HTTP/1.1 ") for a in answers), set(answers)
    assert {a.split(b" ")[1] for a in answers} == {b"400", b"401"}
