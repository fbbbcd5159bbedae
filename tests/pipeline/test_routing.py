"""Routing accepted claims to payers and the simulated payers' cycle (store-level, no daemon)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.payers.loader import load_simulated_payers
from gateway.pipeline.routing import ROUTED, route_file, run_payer_cycle
from gateway.pipeline.steps import analyze_blob, commit_answers
from gateway.profiles import Partner, PartnerSet, edit_context, load_partners, partner_directory
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import FileRecord, Store
from gateway.x12.remit_read import read_835
from tests import dbs
from tests.payerfiles import ext01_835
from tests.x12.conftest import pyx12_check
from tests.x12.test_remit835 import assert_valid_835, corrected_maps  # noqa: F401 (fixture)
from tests.x12files import engine_verdicts, segments

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_795_600_000.0  # 2026-11-24


def _gen() -> object:
    spec = importlib.util.spec_from_file_location("gen_837", ROOT / "scripts" / "gen_837.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _gen()


class Env:
    def __init__(self, tmp: Path) -> None:
        self.config = GatewayConfig(
            source="t", data_dir=tmp, partners_dir=ROOT / "partners", **dbs.settings(tmp)
        )
        self.partners: PartnerSet = load_partners(str(ROOT / "partners"))
        self.payers = load_simulated_payers(self.partners, ROOT / "partners")
        self.directory = partner_directory(self.config, self.partners)
        self.store = Store(dbs.location(tmp / "g.sqlite3"))
        self.blobs = BlobStore(tmp / "blobs")

    def upload(self, data: bytes) -> FileRecord:
        sha = self.blobs.put(data)
        record = self.store.add_file("demo-billing", "sftp", "x.837", sha, len(data))
        context = edit_context(self.partners, "demo-billing", date(2026, 11, 24))
        found = analyze_blob(str(self.blobs.path(sha)), "demo-billing", self.directory, context)
        commit_answers(self.store, self.blobs, record, found, self.directory, NOW)
        stored = self.store.get_file(record.id)
        assert stored is not None
        return stored

    def cycle(self, partner_id: str, now: float = NOW + 60) -> object:
        partner = self.partners.get(partner_id)
        assert partner is not None
        return run_payer_cycle(
            self.store,
            self.blobs,
            payer=partner,
            payer_config=self.payers[partner_id],
            partners=self.partners,
            config=self.config,
            now=now,
        )

    def route(self, data: bytes) -> FileRecord:
        """Upload ``data`` as demo-billing and route it."""
        record = self.upload(data)
        route_file(self.store, self.blobs, record, partners=self.partners, config=self.config,
                   now=NOW)  # fmt: skip
        return record

    @property
    def demo(self) -> Partner:
        partner = self.partners.get("demo-billing")
        assert partner is not None
        return partner

    def mailbox(self, partner_id: str, kind: str) -> list[bytes]:
        return [
            self.blobs.read(m.sha256) for m in self.store.list_mailbox(partner_id) if m.kind == kind
        ]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.store.close()


def batch(claims: int, control: int) -> bytes:
    data: bytes = GEN.render(  # type: ignore[attr-defined]
        GEN.interchange(  # type: ignore[attr-defined]
            claims, control, date="20261120", payers=["SIM01", "SIM02", "EXT01"]
        )
    )
    return data


def test_route_splits_per_payer_and_keeps_the_map(env: Env) -> None:
    record = env.upload(batch(6, 501))
    outcome = route_file(
        env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW
    )
    assert sorted(b.details["payer_id"] for b in outcome.batches) == ["EXT01", "SIM01", "SIM02"]
    assert env.store.get_file(record.id).state == ROUTED  # type: ignore[union-attr]
    routes = env.store.query("SELECT * FROM routes WHERE file_id = ?", (record.id,))
    assert len(routes) == 6 and {r["state"] for r in routes} == {"routed"}
    # the external payer polls its batch; it is a valid 837 to EXT01PAYER
    (ext,) = env.mailbox("ext01", "837")
    isa = segments(ext)[0]
    assert isa[6].strip() == "CLEARINGHOUSE" and isa[8].strip() == "EXT01PAYER"
    assert ext.count(b"CLM*") == 2
    # routing again is a no-op
    again = route_file(
        env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW
    )
    assert again.already_done
    assert len(env.store.query("SELECT * FROM routes")) == 6


def test_simulated_payer_answers_with_277ca_and_a_balanced_835(
    env: Env,
    corrected_maps: str,  # noqa: F811
) -> None:
    record = env.upload(batch(6, 502))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    outcome = env.cycle("sim01")
    assert outcome.decided == 2  # type: ignore[attr-defined]
    (ca,) = [c for c in env.mailbox("demo-billing", "277CA") if b"NM1*PR" in c]
    ok, _, log = pyx12_check(ca)
    assert ok, log
    (remit,) = env.mailbox("demo-billing", "835")
    (read,) = read_835(remit)
    assert read.ok, read.errors
    assert_valid_835(remit, corrected_maps)  # pyx12 with the ST03 fix
    assert all(ok for _, ok, _ in engine_verdicts(remit)), engine_verdicts(remit)
    assert all(ok for _, ok, _ in engine_verdicts(ca)), engine_verdicts(ca)
    assert read.payment.total == sum((c.decision.paid for c in read.claims), Decimal(0))
    # a second cycle has nothing left to do
    assert env.cycle("sim01").decided == 0  # type: ignore[attr-defined]


def _oop(env: Env) -> Decimal:
    rows = env.store.query("SELECT oop_met FROM accumulators WHERE member_id = 'MBR000000001'")
    return Decimal(rows[0]["oop_met"]) if rows else Decimal(0)


def test_accumulators_carry_across_cycles(env: Env) -> None:
    def one_claim(control: int, seed: int) -> bytes:
        data: bytes = GEN.render(  # type: ignore[attr-defined]
            GEN.interchange(1, control, date="20261120", payers=["SIM01"], seed=seed)  # type: ignore[attr-defined]
        )
        return data

    first = env.upload(one_claim(503, 1))
    route_file(env.store, env.blobs, first, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01")
    after_first = _oop(env)
    assert after_first > 0
    second = env.upload(one_claim(504, 2))
    route_file(env.store, env.blobs, second, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01", now=NOW + 120)
    assert _oop(env) > after_first


def _upload_as(env: Env, partner_id: str, data: bytes) -> FileRecord:
    sha = env.blobs.put(data)
    record = env.store.add_file(partner_id, "sftp", "answer.x12", sha, len(data))
    found = analyze_blob(str(env.blobs.path(sha)), partner_id, env.directory, None)
    commit_answers(env.store, env.blobs, record, found, env.directory, NOW)
    stored = env.store.get_file(record.id)
    assert stored is not None
    return stored


def test_external_payer_835_reaches_the_provider(env: Env) -> None:
    record = env.upload(batch(6, 505))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    (ext_batch,) = env.mailbox("ext01", "837")
    answer = _upload_as(env, "ext01", ext01_835(ext_batch))
    (ack,) = env.mailbox("ext01", "999")  # our 999 to the payer
    assert next(s for s in segments(ack) if s[0] == "AK9")[1] == "A"
    outcome = route_file(
        env.store, env.blobs, answer, partners=env.partners, config=env.config, now=NOW
    )
    assert outcome.problems == []
    (forwarded,) = env.mailbox("demo-billing", "835")
    isa = segments(forwarded)[0]
    assert isa[6].strip() == "CLEARINGHOUSE" and isa[8].strip() == "DEMOBILLING"
    (read,) = read_835(forwarded)
    assert read.ok and len(read.claims) == 2
    states = {r["state"] for r in env.store.query("SELECT * FROM routes WHERE payer_id='EXT01'")}
    assert states == {"adjudicated"}
    # the same payment again (new envelope, same TRN02) is not forwarded twice
    again = _upload_as(env, "ext01", ext01_835(ext_batch, control=7200))
    outcome = route_file(
        env.store, env.blobs, again, partners=env.partners, config=env.config, now=NOW
    )
    assert any("already received" in p for p in outcome.problems)
    assert len(env.mailbox("demo-billing", "835")) == 1


def test_unbalanced_or_unknown_835_is_reported_to_the_payer_not_forwarded(env: Env) -> None:
    record = env.upload(batch(6, 506))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    (ext_batch,) = env.mailbox("ext01", "837")
    bad = _upload_as(env, "ext01", ext01_835(ext_batch, tamper=True))
    outcome = route_file(
        env.store, env.blobs, bad, partners=env.partners, config=env.config, now=NOW
    )
    assert outcome.problems and "balance" in outcome.problems[0]
    assert env.mailbox("demo-billing", "835") == []
    reports = env.mailbox("ext01", "REPORT")
    assert len(reports) == 1 and b"NOT forwarded" in reports[0]


def test_835_with_an_unknown_claim_is_forwarded_and_posts_unmatched(env: Env) -> None:
    """The payer is authenticated and the 835 balances: a claim the gateway never routed is
    still the provider's money. It is forwarded, the known claim posts matched and the unknown
    one unmatched ("needs attention"); the same payment again is neither forwarded nor posted
    twice. (Before: the whole 835 was refused back to the payer.)"""
    record = env.upload(batch(6, 506))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    (ext_batch,) = env.mailbox("ext01", "837")
    remit = ext01_835(ext_batch, control=7100).replace(b"CLP*C506X3*", b"CLP*NOSUCHCLAIM*")
    unknown = _upload_as(env, "ext01", remit)
    outcome = route_file(
        env.store, env.blobs, unknown, partners=env.partners, config=env.config, now=NOW
    )
    assert outcome.problems == []
    assert any("posted as unmatched" in w for w in outcome.warnings)
    (forwarded,) = env.mailbox("demo-billing", "835")
    assert b"CLP*NOSUCHCLAIM*" in forwarded
    with env.store.transaction() as tx:
        (payment,) = tx.ledger_payments("demo-billing")
        claims = tx.ledger_claims(payment.payer_key, payment.trace)
        (needs_attention,) = tx.ledger_unmatched("demo-billing")
    assert len(claims) == 2 and needs_attention.patient_control == "NOSUCHCLAIM"
    states = [
        r["state"] for r in env.store.query("SELECT state FROM routes WHERE payer_id='EXT01'")
    ]
    assert sorted(states) == ["adjudicated", "routed"]  # the unanswered claim still waits
    again_remit = ext01_835(ext_batch, control=7101)
    again = _upload_as(env, "ext01", again_remit.replace(b"CLP*C506X3*", b"CLP*NOSUCHCLAIM*"))
    outcome = route_file(env.store, env.blobs, again, partners=env.partners, config=env.config,
                         now=NOW)  # fmt: skip
    assert any("already received" in p for p in outcome.problems)
    assert len(env.mailbox("demo-billing", "835")) == 1
    assert env.store.query("SELECT COUNT(*) FROM ledger_claims")[0][0] == 2


# ------------------------------------------- who the payer of an uploaded 835 is


def _ext01_answer(env: Env, control: int, **kwargs: object) -> tuple[FileRecord, object]:
    """EXT01 answers a fresh batch of ours with an 835 (``kwargs`` as for ext01_835):
    (the uploaded record, the routing outcome)."""
    record = env.upload(batch(6, control))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    (ext_batch,) = env.mailbox("ext01", "837")
    edit = kwargs.pop("edit", None)
    remit = ext01_835(ext_batch, **kwargs)  # type: ignore[arg-type]
    if edit is not None:
        remit = edit(remit)  # type: ignore[operator]
    answer = _upload_as(env, "ext01", remit)
    (ack,) = env.mailbox("ext01", "999")
    assert next(s for s in segments(ack) if s[0] == "AK9")[1] == "A"  # guide-valid
    outcome = route_file(
        env.store, env.blobs, answer, partners=env.partners, config=env.config, now=NOW
    )
    return answer, outcome


def test_835_without_a_payer_id_is_the_uploading_payers(env: Env) -> None:
    """No REF*2U, no N1*PR N104: TRN03 ("1" + EIN) is not a payer ID; the payer is the
    partner that uploaded the file. (Before: "names payer 1990000009, which ext01 does not
    answer for".)"""
    _, outcome = _ext01_answer(env, 520, payer_id="")
    assert outcome.problems == []  # type: ignore[attr-defined]
    (forwarded,) = env.mailbox("demo-billing", "835")
    assert b"REF*2U" not in forwarded
    (row,) = env.store.query("SELECT payer_id, trace FROM remits")
    assert (row["payer_id"], row["trace"]) == ("EXT01", "EXT0000001")


def test_835_trn03_must_be_1_and_the_payers_tin(env: Env) -> None:
    """EXT01's profile states its TIN: an 835 with another TRN03 is not forwarded, even with
    the right REF*2U. (Before: forwarded; TRN03 was never compared with anything.)"""
    _, outcome = _ext01_answer(env, 521, payer_tin="361234567")
    (problem,) = outcome.problems  # type: ignore[attr-defined]
    assert 'TRN03 1361234567 is not 1990000009, "1" and the TIN in ext01\'s profile' in problem
    assert env.mailbox("demo-billing", "835") == []
    (report,) = env.mailbox("ext01", "REPORT")
    assert b"TRN03 1361234567" in report


def test_835_trn03_is_not_checked_without_a_tin_in_the_profile(env: Env) -> None:
    from dataclasses import replace

    ext01 = env.partners.get("ext01")
    assert ext01 is not None and ext01.payer_tin
    env.partners = PartnerSet({**env.partners.partners, "ext01": replace(ext01, payer_tin="")})
    _, outcome = _ext01_answer(env, 522, payer_tin="361234567", payer_id="")
    assert outcome.problems == []  # type: ignore[attr-defined]
    assert len(env.mailbox("demo-billing", "835")) == 1


def test_835_ref_2u_naming_another_payer_is_refused(env: Env) -> None:
    _, outcome = _ext01_answer(env, 523, payer_id="SIM01")
    (problem,) = outcome.problems  # type: ignore[attr-defined]
    assert "REF*2U names payer ID SIM01, which ext01 does not answer for" in problem
    assert env.mailbox("demo-billing", "835") == []


@pytest.mark.parametrize(
    ("n1_tail", "problem"),
    [
        (b"", None),  # no N104: nothing to compare
        (b"*XV*EXT01", None),  # a plan ID that is one of ext01's payer IDs
        (b"*XV*PLAN0042", "N1*PR names payer ID PLAN0042, which ext01 does not answer for"),
    ],
)
def test_835_n1_pr_n104_checked_against_the_payer_ids(
    env: Env, n1_tail: bytes, problem: str | None
) -> None:
    """N1*PR N104 is compared only under a payer-ID qualifier (XV is the one the 835 guide
    allows in 1000A; other N103 values are answered by our 999, and remit_read ignores
    them: tests/x12/test_remit_read.py)."""

    def edit(remit: bytes) -> bytes:
        assert remit.count(b"N1*PR*EXTERNAL PAYER~") == 1
        return remit.replace(b"N1*PR*EXTERNAL PAYER~", b"N1*PR*EXTERNAL PAYER" + n1_tail + b"~")

    _, outcome = _ext01_answer(env, 524, payer_id="", edit=edit)
    problems = outcome.problems  # type: ignore[attr-defined]
    if problem is None:
        assert problems == [] and len(env.mailbox("demo-billing", "835")) == 1
    else:
        assert len(problems) == 1 and problem in problems[0]
        assert env.mailbox("demo-billing", "835") == []


def _one_claim(control: int, seed: int = 1) -> bytes:
    data: bytes = GEN.render(  # type: ignore[attr-defined]
        GEN.interchange(1, control, date="20261120", payers=["SIM01"], seed=seed)  # type: ignore[attr-defined]
    )
    return data


def _replacement(original: bytes, control: int, frequency: str, payer_claim_id: str) -> bytes:
    """The same claim sent again as a replacement (7) or void (8) of ``payer_claim_id``."""
    text = original.decode()
    text = text.replace(f"{control - 100:09d}", f"{control:09d}")
    text = text.replace(f"*{control - 100}*X*", f"*{control}*X*")
    text = text.replace(f"GE*1*{control - 100}", f"GE*1*{control}")
    lines = text.split("~\n")
    out = []
    for seg in lines:
        if seg.startswith("CLM*"):
            seg = seg.replace("*11:B:1*", f"*11:B:{frequency}*")
            out.append(seg)
            out.append(f"REF*F8*{payer_claim_id}")
            continue
        out.append(seg)
    body = "~\n".join(out)
    count = body.count("~\n", body.index("\nST*837"), body.index("\nSE*") + 1) + 1
    return re.sub(r"(?m)^SE\*\d+\*", f"SE*{count}*", body).encode()


def _remit_claims(env: Env) -> list[tuple[str, str, Decimal]]:
    out = []
    for doc in env.mailbox("demo-billing", "835"):
        for read in read_835(doc):
            assert read.ok, read.errors
            out += [
                (c.status_code, c.decision.payer_claim_id, c.decision.paid) for c in read.claims
            ]
    return out


def test_corrected_claim_reverses_the_payment_and_pays_the_new_version(
    env: Env,
    corrected_maps: str,  # noqa: F811
) -> None:
    original = _one_claim(601)
    first = env.upload(original)
    route_file(env.store, env.blobs, first, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01")
    ((status, clp07, paid),) = _remit_claims(env)
    assert status == "1" and paid > 0
    corrected = env.upload(_replacement(original, 701, "7", clp07))
    rows = env.store.claims_for(corrected.id)
    assert [r.accepted for r in rows] == [True], rows  # 7 with REF*F8 passes the edits
    route_file(env.store, env.blobs, corrected, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01", now=NOW + 120)
    claims = _remit_claims(env)
    assert ("22", clp07, -paid) in claims  # the reversal, negated
    new = [c for c in claims if c[0] == "1" and c[1] != clp07]
    assert len(new) == 1 and new[0][2] == paid  # the new version paid again
    for remit in env.mailbox("demo-billing", "835"):
        assert_valid_835(remit, corrected_maps)
        assert all(ok for _, ok, _ in engine_verdicts(remit)), engine_verdicts(remit)
    # every claim answered exactly once by the payer's 277CAs
    cas = [c for c in env.mailbox("demo-billing", "277CA") if b"NM1*PR" in c]
    assert len(cas) == 2


def test_void_only_reverses(env: Env) -> None:
    original = _one_claim(602)
    first = env.upload(original)
    route_file(env.store, env.blobs, first, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01")
    ((_, clp07, paid),) = _remit_claims(env)
    void = env.upload(_replacement(original, 702, "8", clp07))
    route_file(env.store, env.blobs, void, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01", now=NOW + 120)
    claims = _remit_claims(env)
    assert ("22", clp07, -paid) in claims and len(claims) == 2


def test_unknown_original_is_rejected_in_the_payer_277ca(env: Env) -> None:
    bogus = env.upload(_replacement(_one_claim(603), 703, "7", "SIM019999999999"))
    route_file(env.store, env.blobs, bogus, partners=env.partners, config=env.config, now=NOW)
    outcome = env.cycle("sim01")
    assert outcome.rejected == 1  # type: ignore[attr-defined]
    (ca,) = [c for c in env.mailbox("demo-billing", "277CA") if b"NM1*PR" in c]
    assert b"STC*A7:464" in ca
    assert env.mailbox("demo-billing", "835") == []


def test_submitter_sending_an_835_gets_a_report(env: Env) -> None:
    from tests.x12files import readdress

    # a guide-valid 835 (so our 999 accepts it), but from a submitter
    remit = readdress(ext01_835(batch(2, 509), control=7400), control=604)
    record = env.upload(remit)
    assert [r["st01"] for r in env.store.query("SELECT st01 FROM accepted_sets")] == ["835"]
    outcome = route_file(
        env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW
    )
    assert any("a submitter sends 837 claims" in p for p in outcome.problems)
    (report,) = env.mailbox("demo-billing", "REPORT")
    assert b"not forwarded" in report and outcome.batches == []


def test_payer_claim_status_277_is_reported_not_dropped(env: Env) -> None:
    """A 277 that is not a 277CA (a claim status answer, 005010X212) from an external payer,
    answering no 276 the gateway routed to it: our 999 accepts it (guide-valid) and the payer
    is told it was not forwarded (tests/pipeline/test_claim_status.py: one that answers)."""
    from tests.x12files import corpus_file, readdress

    status = readdress(
        corpus_file("277/claim-level-status.277"), sender=("ZZ", "EXT01PAYER"), control=7501
    )
    record = _upload_as(env, "ext01", status)
    (ack,) = env.mailbox("ext01", "999")
    assert next(s for s in segments(ack) if s[0] == "AK9")[1] == "A"
    outcome = route_file(
        env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW
    )
    assert any("answers no inquiry we sent you" in p for p in outcome.problems), outcome.problems
    (report,) = env.mailbox("ext01", "REPORT")
    assert b"NOT forwarded" in report
    assert env.mailbox("demo-billing", "277CA") == [] and env.mailbox("demo-billing", "277") == []


def _clm01s(doc: bytes) -> list[str]:
    from gateway.x12.claims import iter_transaction_sets
    from gateway.x12.forward import read_277ca_claims

    return [c for ts in iter_transaction_sets(doc) for c, _ in read_277ca_claims(ts)]


def test_every_accepted_claim_is_answered_exactly_once(env: Env) -> None:
    record = env.upload(batch(12, 507))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    for n in range(3):  # repeated cycles answer nothing twice
        env.cycle("sim01", now=NOW + 60 * (n + 1))
        env.cycle("sim02", now=NOW + 60 * (n + 1))
    payer_cas = [c for c in env.mailbox("demo-billing", "277CA") if b"NM1*PR" in c]
    answered = sorted(c for doc in payer_cas for c in _clm01s(doc))
    routed = sorted(
        r["clm01"] for r in env.store.query("SELECT clm01 FROM routes WHERE payer_id != 'EXT01'")
    )
    assert answered == routed and len(routed) == 8
    remitted = sorted(
        c.decision.claim_id
        for doc in env.mailbox("demo-billing", "835")
        for r in read_835(doc)
        for c in r.claims
    )
    assert remitted == routed


def test_pended_claim_is_released_in_a_later_cycle(env: Env) -> None:
    # a pend rule that does not ask for documents (tests/pipeline/test_rfai.py: one that asks)
    from dataclasses import replace

    sim01 = env.payers["sim01"]
    rules = tuple(replace(rule, request=()) for rule in sim01.pend_rules)
    env.payers["sim01"] = replace(sim01, pend_rules=rules)
    data = _one_claim(605).replace(b"MBR000000001", b"MBR900000005")
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    first = env.cycle("sim01")
    assert first.pended == 1  # type: ignore[attr-defined]
    (ca,) = [c for c in env.mailbox("demo-billing", "277CA") if b"NM1*PR" in c]
    assert b"STC*A2:20" in ca and b"Pended" in ca
    assert env.mailbox("demo-billing", "835") == []
    second = env.cycle("sim01", now=NOW + 120)
    assert second.released == 1  # type: ignore[attr-defined]
    (remit,) = env.mailbox("demo-billing", "835")
    (read,) = read_835(remit)
    assert read.ok and len(read.claims) == 1


def _ext01_999(batch_837: bytes, control: int, ik5: str = "A") -> bytes:
    """EXT01's 999 for the batch we sent it (acknowledging our GS06 and ST02)."""
    gs = next(s for s in segments(batch_837) if s[0] == "GS")
    st = next(s for s in segments(batch_837) if s[0] == "ST")
    ak9 = "A*1*1*1" if ik5 == "A" else "R*1*1*0"
    return (
        "ISA*00*          *00*          *ZZ*EXT01PAYER     *ZZ*CLEARINGHOUSE  "
        f"*261125*0900*^*00501*{control:09d}*0*T*:~"
        f"GS*FA*EXT01PAYER*CLEARINGHOUSE*20261125*0900*{control}*X*005010X231A1~"
        f"ST*999*0001*005010X231A1~AK1*HC*{gs[6]}*005010X222A1~AK2*837*{st[2]}*005010X222A1~"
        f"IK5*{ik5}~AK9*{ak9}~SE*6*0001~GE*1*{control}~IEA*1*{control:09d}~"
    ).encode()


def test_external_payer_999_is_forwarded_once_and_rejections_recorded(env: Env) -> None:
    record = env.upload(batch(6, 508))
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    (ext_batch,) = env.mailbox("ext01", "837")
    first = _upload_as(env, "ext01", _ext01_999(ext_batch, 7301, ik5="R"))
    assert env.mailbox("ext01", "999") == []  # a 999 is never acknowledged
    outcome = route_file(
        env.store, env.blobs, first, partners=env.partners, config=env.config, now=NOW
    )
    assert outcome.problems == [] and [p.partner_id for p in outcome.forwarded] == ["demo-billing"]
    states = {r["state"] for r in env.store.query("SELECT * FROM routes WHERE payer_id='EXT01'")}
    assert states == {"payer_rejected"}
    again = _upload_as(env, "ext01", _ext01_999(ext_batch, 7302, ik5="R"))
    outcome = route_file(
        env.store, env.blobs, again, partners=env.partners, config=env.config, now=NOW
    )
    assert any("acknowledged already" in p for p in outcome.problems)
    assert len(env.mailbox("demo-billing", "999")) == 2  # ours for the 837 + the payer's once
