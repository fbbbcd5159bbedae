"""AS2 delivery of mailbox files to a partner's AS2 server (a twisted.web site in the test that
parses with gateway.as2.parse_inbound and answers signed MDNs)."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted

from gateway.as2 import parse_request
from gateway.store import as2 as as2_state
from tests.as2_web.conftest import (
    As2Env,
    MakeEnv,
    PartnerServer,
    as2_config,
    claims,
    partners_copy,
    set_as2_attributes,
    sleep,
    until,
)


def delivering(tmp_path: Path, url: str, mdn: str = "sync") -> Path:
    """The demo partners, demo-billing asking for AS2 delivery to ``url``."""
    return partners_copy(
        tmp_path / "partners",
        lambda name, text: (
            set_as2_attributes(text, f'url="{url}" deliver="true" mdn="{mdn}"')
            if name == "demo-billing.xml"
            else text
        ),
    )


async def with_answers(env: As2Env, control: int) -> list[str]:
    """Submit an 837 for demo-billing; returns its mailbox names once processed."""
    file_id = await env.core.accept_bytes("demo-billing", "sftp", "claims.837", claims(control))

    async def answered() -> list[str]:
        entries = await env.core.in_store(env.core.store.list_mailbox, "demo-billing")
        return [e.name for e in entries if e.file_id == file_id]

    return sorted(await until(answered))


async def mailbox(env: As2Env) -> list[str]:
    return sorted(
        e.name for e in await env.core.in_store(env.core.store.list_mailbox, "demo-billing")
    )


@pytest_twisted.ensureDeferred
async def test_mailbox_files_are_pushed_signed_and_encrypted_and_picked_up_on_a_good_mdn(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(partners_dir=delivering(tmp_path, url))
    names = await with_answers(env, 301)
    assert names  # 999 (+ 277CA)
    await env.sender.run_once()
    assert await mailbox(env) == []
    sent = await env.in_store(as2_state.deliveries, "demo-billing")
    assert {d.mailbox_name for d in sent} == set(names)
    assert sorted(r.payload for r in partner_server.received) == sorted(  # type: ignore[type-var]
        env.core.blobs.read(d.sha256) for d in sent
    )
    assert all(d.state == "delivered" and d.attempts == 1 for d in sent)
    request = parse_request(partner_server.received[0].headers)
    assert (request.as2_from, request.as2_to) == ("CLEARINGHOUSE", "DEMOBILLING")
    assert request.mdn is not None and request.mdn.signed and not request.mdn.is_async
    assert len(env.named("as2.send.ok")) == len(names)
    picked = env.named("file.picked_up")
    assert sorted(p["file_name"] for p in picked) == names
    # nothing more to do
    await env.sender.run_once()
    assert len(partner_server.received) == len(names)


@pytest_twisted.ensureDeferred
async def test_negative_mdn_wrong_mic_and_errors_are_retried_with_the_same_message_id(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(
        partners_dir=delivering(tmp_path, url), as2=as2_config(send_retry=(0.05, 0.05, 0.05))
    )
    names = await with_answers(env, 302)
    count = len(names)
    for attempt, mode in enumerate(("negative", "wrong-mic", "http-500"), start=1):
        partner_server.mode = mode
        await sleep(0.06)
        await env.sender.run_once()
        assert await mailbox(env) == names, mode
        for d in await env.in_store(as2_state.deliveries, "demo-billing"):
            assert (d.state, d.attempts) == ("pending", attempt), mode
    failed = env.named("as2.send.failed")
    assert len(failed) == 3 * count and not any(f["final"] for f in failed)
    assert {f["error"] for f in failed} == {
        "negative MDN: processed/Error: unexpected-processing-error",
        "MIC mismatch",
        "HTTP 500",
    }
    ids = {r.message_id for r in partner_server.received if r.message_id}
    assert len(ids) == count  # resends keep their Message-ID
    partner_server.mode = "ok"
    await sleep(0.06)
    await env.sender.run_once()
    assert await mailbox(env) == []
    assert all(d.attempts == 4 for d in await env.in_store(as2_state.deliveries, "demo-billing"))


@pytest_twisted.ensureDeferred
async def test_delivery_gives_up_after_the_schedule(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(partners_dir=delivering(tmp_path, url), as2=as2_config(send_retry=(0.01,)))
    names = await with_answers(env, 303)
    partner_server.mode = "negative"
    await env.sender.run_once()
    await sleep(0.02)
    await env.sender.run_once()
    states = {d.state for d in await env.in_store(as2_state.deliveries, "demo-billing")}
    assert states == {"failed"}
    assert sum(f["final"] for f in env.named("as2.send.failed")) == len(names)
    assert await mailbox(env) == names  # still there for SFTP/HTTP pickup


@pytest_twisted.ensureDeferred
async def test_async_mdn_delivery(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(partners_dir=delivering(tmp_path, url, mdn="async"))
    # our MDN URL is only known once listening: a second env on the same data/partners dirs
    env.sender.config = as2_config(mdn_url=env.url)
    partner_server.mode = "async"
    names = await with_answers(env, 304)
    await env.sender.run_once()
    awaiting = await env.in_store(as2_state.deliveries, "demo-billing")
    assert {d.state for d in awaiting} == {"awaiting-mdn"}
    request = parse_request(partner_server.received[0].headers)
    assert request.mdn is not None and request.mdn.async_url == env.url
    answers = await partner_server.send_async_mdns()
    assert [a.status for a in answers] == [200] * len(names)
    assert await mailbox(env) == []
    assert len(env.named("as2.send.ok")) == len(names)
    # a repeated MDN changes nothing; an MDN signed by someone else is refused
    (first,) = partner_server.received[:1]
    assert first.message_id is not None
    again = [(url_, mdn) for url_, mdn in partner_server.replayable]
    partner_server.pending_async.extend(again[:1])
    (repeat,) = await partner_server.send_async_mdns()
    assert repeat.status == 200 and b"already settled" in repeat.body
    forged_headers = [(n, v) for n, v in again[0][1].headers]
    forged = await env.post(forged_headers, again[0][1].body.replace(b"processed", b"processeD"))
    assert forged.status == 400
    assert len(env.named("as2.send.ok")) == len(names)


@pytest_twisted.ensureDeferred
async def test_async_mdn_that_never_comes_is_a_failed_attempt(
    make_env: MakeEnv, partner_server: PartnerServer, tmp_path: Path
) -> None:
    url = partner_server.url  # type: ignore[attr-defined]
    env = await make_env(
        partners_dir=delivering(tmp_path, url, mdn="async"),
        as2=as2_config(mdn_wait=0.05, send_retry=(0.05,)),
    )
    env.sender.config = as2_config(mdn_url=env.url, mdn_wait=0.05, send_retry=(0.05, 0.05))
    partner_server.mode = "async"
    await with_answers(env, 305)
    await env.sender.run_once()
    partner_server.pending_async.clear()  # lost
    await sleep(0.06)
    await env.sender.run_once()
    failed = env.named("as2.send.failed")
    assert failed and all("no asynchronous MDN" in f["error"] for f in failed)
    await sleep(0.06)
    await env.sender.run_once()  # sent again
    assert {d.state for d in await env.in_store(as2_state.deliveries, "demo-billing")} == {
        "awaiting-mdn"
    }
    await partner_server.send_async_mdns()
    assert await mailbox(env) == []
