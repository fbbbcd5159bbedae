"""POST /as2 over a real socket: every disposition, duplicates, intake, async MDNs."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
import pytest_twisted

from gateway.as2 import cms, parse_mdn
from gateway.as2.mime import build_entity
from gateway.store import as2 as as2_state
from tests.as2.handmade import compressed_data
from tests.as2_web.conftest import (
    BILLING,
    CLEARINGHOUSE,
    CLEARINGHOUSE_NEXT,
    EXT01,
    MDN_OPTIONS,
    As2Env,
    MakeEnv,
    PartnerServer,
    allow_async_mdns,
    as2_config,
    claims,
    message,
    partners_copy,
    stop,
    until,
)


def mdn_of(answer):  # type: ignore[no-untyped-def]
    assert answer.status == 200, answer.body
    return parse_mdn(answer.headers, answer.body, verify_with=[CLEARINGHOUSE[1]])


async def processed(env: As2Env) -> list[str]:
    return [f.id for f in await env.files() if f.state != "received"]


# ------------------------------------------------------------------- accepted


@pytest_twisted.ensureDeferred
async def test_signed_encrypted_837_gets_a_signed_mdn_and_goes_through_the_pipeline(
    make_env: MakeEnv,
) -> None:
    env = await make_env()
    headers, body, mic = message(claims(101), message_id="ok-1@demobilling")
    answer = await env.post(headers, body)
    mdn = mdn_of(answer)
    assert mdn.processed and mdn.signed and mdn.is_positive(mic)
    assert mdn.original_message_id == "ok-1@demobilling"
    assert (mdn.as2_from, mdn.as2_to) == ("CLEARINGHOUSE", "DEMOBILLING")
    (record,) = await env.files()
    assert (record.partner_id, record.channel, record.name) == ("demo-billing", "as2", "claims.837")
    assert await until(lambda: processed(env))
    responses = await env.core.in_store(env.core.store.responses_for, record.id)
    assert [r.accepted for r in responses if r.kind == "999"] == [True]
    (received,) = env.named("as2.received")
    assert received["file_id"] == record.id and received["signed"] and received["encrypted"]
    assert [e["disposition"] for e in env.named("as2.mdn.sent")] == ["processed"]
    assert env.staged() == []


@pytest_twisted.ensureDeferred
async def test_rollover_key_and_compression_and_quoted_names(make_env: MakeEnv) -> None:
    env = await make_env()
    headers, body, mic = message(
        claims(102),
        message_id="roll-1@demobilling",
        encrypt_to=CLEARINGHOUSE_NEXT[1],
        compress=True,
    )
    headers = [(n, f'"{v}"' if n in ("AS2-From", "AS2-To") else v) for n, v in headers]
    mdn = mdn_of(await env.post(headers, body))
    assert mdn.is_positive(mic)
    assert env.named("as2.received")[0]["compressed"] is True


@pytest_twisted.ensureDeferred
async def test_no_mdn_requested(make_env: MakeEnv) -> None:
    env = await make_env()
    headers, body, _ = message(claims(103), message_id="nomdn@demobilling")
    headers = [(n, v) for n, v in headers if not n.startswith("Disposition-Notification")]
    answer = await env.post(headers, body)
    assert answer.status == 200 and b"received" in answer.body
    assert len(await env.files()) == 1


# ------------------------------------------------------------------- every disposition


def _compressed(content: bytes) -> bytes:
    return build_entity(
        [("Content-Type", "application/pkcs7-mime; smime-type=compressed-data")],
        compressed_data(content),
    )


def _case(name: str) -> tuple[list[tuple[str, str]], bytes]:
    payload = claims(200)
    if name == "unknown-from":
        headers, body, _ = message(payload, message_id="x@y", as2_from="NOBODY")
    elif name == "unknown-to":
        headers, body, _ = message(payload, message_id="x@y", as2_to="SOMEONEELSE")
    elif name == "authentication-failed":
        headers, body, _ = message(payload, message_id="x@y", sign_with=EXT01)
    elif name == "decryption-failed":
        headers, body, _ = message(payload, message_id="x@y", encrypt_to=EXT01[1])
    elif name == "insufficient-message-security":
        headers, body, _ = message(payload, message_id="x@y", sign_with=None)
    elif name == "integrity-check-failed":
        headers, signed, _ = message(payload, message_id="x@y", encrypt_to=None)
        content_type = dict(headers)["Content-Type"]
        inner = build_entity([("Content-Type", content_type)], signed.replace(b"CLM*", b"CLX*", 1))
        body = cms.encrypt(inner, [CLEARINGHOUSE[1]])
        headers = [(n, v) for n, v in headers if n != "Content-Type"] + [
            ("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data")
        ]
    elif name == "decompression-failed":
        headers, _, _ = message(payload, message_id="x@y")
        inner = _compressed(zlib.compress(payload)[:-40])
        body = cms.encrypt(inner, [CLEARINGHOUSE[1]])
        headers = [(n, v) for n, v in headers if n != "Content-Type"] + [
            ("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data")
        ]
    elif name == "unsupported-mic":
        headers, body, _ = message(payload, message_id="x@y")
        headers = [(n, v) for n, v in headers if n != "Disposition-Notification-Options"] + [
            (
                "Disposition-Notification-Options",
                "signed-receipt-protocol=required, pkcs7-signature; "
                "signed-receipt-micalg=required, md5",
            )
        ]
    elif name == "malformed":
        headers, _, _ = message(payload, message_id="x@y", sign_with=None, encrypt_to=None)
        headers = [(n, v) for n, v in headers if n != "Content-Type"] + [
            ("Content-Type", 'multipart/signed; boundary="nope"')
        ]
        body = b"no delimiters here"
    else:
        raise AssertionError(name)
    return headers, body


DISPOSITIONS = {
    "unknown-from": "processed/Error: authentication-failed",
    "unknown-to": "processed/Error: authentication-failed",
    "authentication-failed": "processed/Error: authentication-failed",
    "decryption-failed": "processed/Error: decryption-failed",
    "insufficient-message-security": "processed/Error: insufficient-message-security",
    "integrity-check-failed": "processed/Error: integrity-check-failed",
    "decompression-failed": "processed/Error: decompression-failed",
    "unsupported-mic": "failed/Failure: unsupported MIC-algorithms",
    "malformed": "processed/Error: unexpected-processing-error",
}


@pytest_twisted.ensureDeferred
async def test_every_error_disposition_and_nothing_stored(
    make_env: MakeEnv, tmp_path: Path
) -> None:
    # decompression-failed needs a partner that may skip signing (sign -> compress is checked
    # after the signature, which a hand-made bad zlib stream cannot carry without our signer)
    relaxed = partners_copy(
        tmp_path / "partners",
        lambda name, text: (
            text.replace(
                "<require-signature>true</require-signature>\n    <require-encryption>true",
                "<require-signature>false</require-signature>\n    <require-encryption>true",
            )
            if name == "demo-billing.xml"
            else text
        ),
    )
    strict = await make_env()
    loose = await make_env(partners_dir=relaxed)
    for case, expected in DISPOSITIONS.items():
        env = loose if case == "decompression-failed" else strict
        headers, body = _case(case)
        mdn = mdn_of(await env.post(headers, body))
        assert mdn.disposition.endswith("; " + expected), (case, mdn.disposition)
        if case == "unknown-from":
            assert "NOBODY" in mdn.text
        if case == "unknown-to":
            assert "SOMEONEELSE" in mdn.text
    for env in (strict, loose):
        assert await env.files() == []
        assert env.staged() == []
        assert await env.in_store(as2_state.seen, "DEMOBILLING", "x@y") is None
    sent = sorted(e["disposition"] for e in strict.named("as2.mdn.sent"))
    assert sent == sorted(v for k, v in DISPOSITIONS.items() if k != "decompression-failed")
    samples = strict.metrics.render().decode()
    assert 'gateway_as2_mdns_total{disposition="processed/error: decryption-failed"} 1.0' in samples


@pytest_twisted.ensureDeferred
async def test_missing_headers_and_empty_body(make_env: MakeEnv) -> None:
    env = await make_env()
    answer = await env.post([("Content-Type", "application/edi-x12")], b"ISA*...")
    assert answer.status == 400 and b"not an AS2 message" in answer.body
    empty = await env.post([("AS2-From", "DEMOBILLING")], b"")
    assert empty.status == 400
    assert await env.files() == []


@pytest_twisted.ensureDeferred
async def test_intake_failure_answers_unexpected_processing_error_and_allows_a_resend(
    make_env: MakeEnv,
) -> None:
    env = await make_env()
    real = env.core.accept_upload

    def broken(*args: object, **kwargs: object) -> object:
        raise OSError("disk full")

    env.core.accept_upload = broken  # type: ignore[method-assign]
    headers, body, mic = message(claims(104), message_id="intake@demobilling")
    mdn = mdn_of(await env.post(headers, body))
    assert mdn.disposition.endswith("processed/Error: unexpected-processing-error")
    assert mdn.mic is not None and mdn.mic.matches(mic)
    assert await env.files() == [] and env.staged() == []
    env.core.accept_upload = real  # type: ignore[method-assign]
    again = mdn_of(await env.post(headers, body))
    assert again.is_positive(mic)
    assert len(await env.files()) == 1


# ------------------------------------------------------------------- duplicates


@pytest_twisted.ensureDeferred
async def test_duplicate_gets_the_original_mdn_and_is_not_processed_again(
    make_env: MakeEnv,
) -> None:
    env = await make_env()
    headers, body, mic = message(claims(105), message_id="dup-1@demobilling")
    first = await env.post(headers, body)
    # a resend is a new encryption of the same message: same Message-ID, different bytes
    headers2, body2, _ = message(claims(105), message_id="dup-1@demobilling")
    second = await env.post(headers2, body2)
    assert second.body == first.body and mdn_of(second).is_positive(mic)
    assert len(await env.files()) == 1
    (dup,) = env.named("as2.duplicate")
    assert dup["message_id"] == "dup-1@demobilling" and dup["disposition"] == "processed"
    # at the same time: still one file
    headers3, body3, _ = message(claims(106), message_id="dup-2@demobilling")
    import twisted.internet.defer as defer

    answers = await defer.gatherResults([env.post(headers3, body3) for _ in range(3)])
    assert len({a.body for a in answers}) == 1
    assert len(await env.files()) == 2


@pytest_twisted.ensureDeferred
async def test_a_message_that_failed_authentication_is_not_recorded(make_env: MakeEnv) -> None:
    env = await make_env()
    bad_headers, bad_body, _ = message(claims(107), message_id="same@demobilling", sign_with=EXT01)
    bad = mdn_of(await env.post(bad_headers, bad_body))
    assert bad.disposition.endswith("authentication-failed")
    headers, body, mic = message(claims(107), message_id="same@demobilling")
    assert mdn_of(await env.post(headers, body)).is_positive(mic)
    assert env.named("as2.duplicate") == []


@pytest_twisted.ensureDeferred
async def test_pending_reservation_left_by_a_crash_is_resolved(make_env: MakeEnv) -> None:
    env = await make_env()
    # a crash after the reservation and before intake: the resend is processed
    await env.in_store(
        as2_state.reserve,
        as2_from="DEMOBILLING",
        message_id="crash@demobilling",
        partner_id="demo-billing",
        sha256="0" * 64,
        disposition="processed",
        headers=[],
        body=b"",
        async_url=None,
    )
    headers, body, mic = message(claims(108), message_id="crash@demobilling")
    assert mdn_of(await env.post(headers, body)).is_positive(mic)
    assert len(await env.files()) == 1 and env.named("as2.duplicate") == []


# ------------------------------------------------------------------- asynchronous MDNs


@pytest_twisted.ensureDeferred
async def test_async_mdn_is_posted_retried_and_survives_a_restart(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    data = tmp_path / "data-async"
    url = partner_server.url  # type: ignore[attr-defined]
    allowed = allow_async_mdns(tmp_path / "partners", url)
    env = await make_env(
        data_dir=data, partners_dir=allowed, as2=as2_config(mdn_retry=(0.05, 0.05, 0.05))
    )
    headers, body, mic = message(claims(109), message_id="async-1@demobilling", async_url=url)
    answer = await env.post(headers, body)
    assert answer.status == 200 and b"asynchronously" in answer.body
    assert env.kicks == 1 and env.named("as2.mdn.sent") == []
    # the partner's server is down (500): retried with backoff
    partner_server.mode = "http-500"
    await env.sender.run_once()
    (queued,) = await env.in_store(as2_state.mdn_outbox)
    assert (queued.state, queued.attempts) == ("pending", 1)
    assert env.named("as2.mdn.failed")[0]["retry_in"] == 0.05
    # restart: the outbox is durable
    await stop(env)
    env2 = await make_env(data_dir=data, partners_dir=allowed, as2=as2_config())
    partner_server.mode = "accept"
    await until(lambda: _sent(env2))
    posted = partner_server.received[-1]
    mdn = parse_mdn(posted.headers, posted.body, verify_with=[CLEARINGHOUSE[1]])
    assert mdn.is_positive(mic) and mdn.signed
    (sent,) = env2.named("as2.mdn.sent")
    assert sent["disposition"] == "processed" and sent["attempt"] == 2
    assert len(await env2.files()) == 1


async def _sent(env: As2Env) -> bool:
    await env.sender.run_once()
    return bool(env.named("as2.mdn.sent"))


@pytest_twisted.ensureDeferred
async def test_async_mdn_gives_up_after_the_schedule(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(
        partners_dir=allow_async_mdns(tmp_path / "partners", url),
        as2=as2_config(mdn_retry=(0.01,)),
    )
    partner_server.mode = "http-500"
    headers, body, _ = message(claims(110), message_id="async-2@demobilling", async_url=url)
    await env.post(headers, body)

    async def given_up() -> bool:
        await env.sender.run_once()
        return any(e["final"] for e in env.named("as2.mdn.failed"))

    await until(given_up)
    (queued,) = await env.in_store(as2_state.mdn_outbox)
    assert (queued.state, queued.attempts) == ("failed", 2)


async def _nothing_posted(env: As2Env, partner_server: PartnerServer) -> None:
    """No row in the MDN outbox, nothing POSTed when the sender runs, nobody kicked."""
    partner_server.mode = "accept"
    assert await env.in_store(as2_state.mdn_outbox) == []
    await env.sender.run_once()
    assert partner_server.received == []
    assert env.kicks == 0 and env.named("as2.mdn.failed") == []


@pytest_twisted.ensureDeferred
async def test_junk_from_a_real_partner_never_steers_an_outbound_post(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    # Even a URL the profile allows: 40 bytes of junk did not authenticate.
    allowed = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(partners_dir=allow_async_mdns(tmp_path / "partners", allowed))
    base = allowed.rsplit("/", 1)[0]
    for n, url in enumerate([f"{base}/internal/admin?x=1", allowed]):
        headers = [
            ("AS2-Version", "1.2"),
            ("AS2-From", "DEMOBILLING"),
            ("AS2-To", "CLEARINGHOUSE"),
            ("Message-ID", f"<junk-{n}@attack>"),
            ("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data"),
            ("Disposition-Notification-To", "edi@demo-billing.example"),
            ("Disposition-Notification-Options", MDN_OPTIONS),
            ("Receipt-Delivery-Option", url),
        ]
        mdn = mdn_of(await env.post(headers, b"j" * 40))  # answered in the response
        assert mdn.disposition.endswith("processed/Error: decryption-failed")
    await _nothing_posted(env, partner_server)
    assert [e["reason"] for e in env.named("as2.mdn.sync")] == ["not authenticated"] * 2


@pytest_twisted.ensureDeferred
async def test_async_mdn_only_to_urls_the_profile_allows(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    # No <async-mdn-url> in the demo profile: an authenticated message gets its MDN in the
    # response, nothing is queued.
    env = await make_env()
    headers, body, mic = message(claims(112), message_id="a1@demobilling", async_url=url)
    mdn = mdn_of(await env.post(headers, body))
    assert mdn.is_positive(mic)
    await _nothing_posted(env, partner_server)
    (refused,) = env.named("as2.mdn.sync")
    assert refused["reason"] == "async MDN URL not allowed by the profile"
    assert len(await env.files()) == 1
    # A prefix that does not cover the URL: the same.
    other = await make_env(
        partners_dir=allow_async_mdns(tmp_path / "p2", url.rsplit("/", 1)[0] + "/mdn/")
    )
    headers, body, mic = message(claims(113), message_id="a2@demobilling", async_url=url)
    assert mdn_of(await other.post(headers, body)).is_positive(mic)
    await _nothing_posted(other, partner_server)


@pytest_twisted.ensureDeferred
async def test_async_error_mdn_only_after_the_signature_verified(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(partners_dir=allow_async_mdns(tmp_path / "partners", url))
    # Signed by someone else: authentication-failed, answered in the response.
    headers, body, _ = message(claims(111), message_id="e1@x", async_url=url, sign_with=EXT01)
    sync = mdn_of(await env.post(headers, body))
    assert sync.disposition.endswith("authentication-failed")
    stranger, body2, _ = message(claims(111), message_id="e2@x", async_url=url, as2_from="EVIL")
    sync = mdn_of(await env.post(stranger, body2))  # unknown: answered in the response
    assert sync.disposition.endswith("authentication-failed")
    await _nothing_posted(env, partner_server)
    # Signed by the partner (verified) but not encrypted as its policy requires: the error MDN
    # goes to the allowed URL.
    headers, body, _ = message(claims(111), message_id="e3@x", async_url=url, encrypt_to=None)
    answer = await env.post(headers, body)
    assert answer.status == 200 and b"asynchronously" in answer.body
    await env.sender.run_once()
    (posted,) = partner_server.received
    mdn = parse_mdn(posted.headers, posted.body, verify_with=[CLEARINGHOUSE[1]])
    assert mdn.disposition.endswith("insufficient-message-security")
    assert await env.files() == []


@pytest_twisted.ensureDeferred
async def test_queued_mdn_to_a_url_no_longer_allowed_is_given_up_unsent(
    make_env: MakeEnv, partner_server: PartnerServer
) -> None:
    # A row queued by an older version (or before the profile changed): never POSTed.
    env = await make_env()
    url = partner_server.url  # type: ignore[attr-defined]
    await env.in_store(
        as2_state.queue_mdn,
        as2_from="DEMOBILLING",
        original_message_id="old@x",
        partner_id="demo-billing",
        url=url,
        disposition="processed/Error: decryption-failed",
        headers=[("Content-Type", "text/plain")],
        body=b"x",
    )
    partner_server.mode = "accept"
    await env.sender.run_once()
    assert partner_server.received == []
    (queued,) = await env.in_store(as2_state.mdn_outbox)
    assert queued.state == "failed"
    (failed,) = env.named("as2.mdn.failed")
    assert failed["final"] and "not allowed" in failed["error"]


@pytest.mark.parametrize("unused", [None])
def test_options_constant_matches_builder(unused: None) -> None:
    headers, _, _ = message(b"x", message_id="m@x")
    assert dict(headers)["Disposition-Notification-Options"] == MDN_OPTIONS
    assert BILLING[1] != CLEARINGHOUSE[1]
