"""Routing accepted claims to payers, and the simulated payers' payment cycle. No Twisted.

Both steps run in the store thread, each inside ONE transaction, so a crash redoes a step
whole or not at all and nothing is sent twice:

* :func:`route_file` (file state ``processed`` → ``routed``): the claims the front-end edits
  accepted are split by payer ID (2010BB), re-enveloped per payer with fresh control numbers
  from that payer's durable counter, and kept as a batch. An external payer finds its batch
  in its ``/outbound``; a simulated payer's batch waits for its next cycle. Every routed claim
  gets a ``routes`` row mapping it back to its source file, interchange, set and CLM01.
* :func:`run_payer_cycle`: a simulated payer adjudicates everything waiting for it
  (claims routed since the last cycle, claims pended in an earlier one), answers each
  submitter with a payer 277CA (one per source file: no partner sees another's patients) and
  pays each payee (billing NPI/TIN) with one balanced 835, sent to the partner enrolled for
  that provider.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from gateway.config import GatewayConfig
from gateway.payers.adjudicate import (
    Accumulator,
    AccumulatorKey,
    AdjudicationResult,
    ClaimInput,
    adjudicate,
    release_pended,
)
from gateway.payers.codec import decision_from_json, decision_to_json
from gateway.payers.config import PayerConfig
from gateway.payers.inputs import claim_inputs
from gateway.payers.model import ClaimDecision, Outcome, Payment
from gateway.pipeline.inquiries import answer_file_inquiries, inquiry_of, st02_of
from gateway.pipeline.posting import post_835
from gateway.profiles import Partner, PartnerSet
from gateway.states import REJECTED
from gateway.store.blobs import BlobStore
from gateway.store.routing import (
    InquiryRoute,
    NewBatch,
    NewRemit,
    NewRoute,
    RouteDecision,
    RouteRecord,
    SavedDecision,
    WaitingRoute,
)
from gateway.store.sqlite import (
    PROCESSED,
    AcceptedSet,
    FileRecord,
    Store,
    Transaction,
    utc_stamp,
)
from gateway.x12.acks import Gateway
from gateway.x12.claims import Claim, TransactionSet, extract_claims, iter_transaction_sets
from gateway.x12.envelope import set_implementation
from gateway.x12.forward import read_277ca_claims, read_999, rewrap
from gateway.x12.kinds import (
    Handling,
    carries_attachments,
    is_attachment,
    kind_of,
    kinds_for,
    payer_answer_names,
)
from gateway.x12.payer277 import PayerAckBatch, PayerIdentity, build_payer_277ca
from gateway.x12.reenvelope import (
    PayerEndpoint,
    ReenvelopeError,
    SourceClaim,
    Submitter,
    reenvelope,
    source_claims,
)
from gateway.x12.remit835 import (
    Address,
    PayerRemitInfo,
    build_835,
    with_forward_balance,
)
from gateway.x12.remit_read import Remittance, read_835

ROUTED = "routed"
"""File state after routing; also a claim route's state until its payer answers."""
PAYER_REJECTED = "payer_rejected"
PENDED = "pended"
ADJUDICATED = "adjudicated"
PAYER_ACCEPTED = "payer_accepted"
"""An external payer's 277CA accepted the claim; its 835 is still to come."""


def _unique_name(tx: Transaction, partner_id: str, base: str, extension: str) -> str:
    """``base.extension``, or ``base-2.extension``... if the partner's mailbox has it."""
    name = f"{base}.{extension}"
    n = 1
    while tx.mailbox_name_taken(partner_id, name):
        n += 1
        name = f"{base}-{n}.{extension}"
    return name


def _place(
    tx: Transaction,
    blobs: BlobStore,
    partner_id: str,
    kind: str,
    ref: str,
    content: bytes,
    now: float,
    file_id: str | None,
    qualifier: str = "",
) -> tuple[int, str]:
    """Put ``content`` in the partner's mailbox as ``<UTC>_<ref>_<KIND>[-<qualifier>].x12``."""
    sha = blobs.put(content)
    label = f"{kind}-{qualifier}" if qualifier else kind
    extension = "txt" if kind == "REPORT" else "x12"
    name = _unique_name(tx, partner_id, f"{utc_stamp(now)}_{ref}_{label}", extension)
    mailbox_id = tx.add_mailbox(partner_id, name, kind, file_id, sha, len(content), now)
    return mailbox_id, name


# ----------------------------------------------------------------------------- routing


@dataclass
class Placed:
    """A file put in a partner's mailbox (for the audit log)."""

    partner_id: str
    kind: str
    name: str
    file_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass
class RouteOutcome:
    file: FileRecord
    already_done: bool = False
    batches: list[Placed] = field(default_factory=list)
    """One per payer: partner_id = the payer partner, details = payer id, ISA13, claims."""
    unroutable: int = 0
    warnings: list[str] = field(default_factory=list)
    forwarded: list[Placed] = field(default_factory=list)
    """Payer answers (999/277CA/835) forwarded to the partners they are for."""
    problems: list[str] = field(default_factory=list)
    """Why parts of a payer's file were not forwarded (reported to the payer; no PHI)."""
    answer_files: list[Placed] = field(default_factory=list)
    """Answers to inquiries (batch 270 → ``_271.x12``) placed for the submitter."""
    inquiries: list[dict[str, object]] = field(default_factory=list)
    """One audit entry per inquiry answered in batch (identifiers only)."""
    inquiry_keys: set[tuple[str, str]] = field(default_factory=set)
    inquiry_batches: list[Placed] = field(default_factory=list)
    """Batch inquiries routed to external payers' mailboxes (one file per payer)."""
    events: list[dict[str, object]] = field(default_factory=list)
    """Audit entries ``{"event": name, ...}`` (requests for information, attachments:
    identifiers, sizes and formats only)."""


def payer_endpoint(partner: Partner, payer_id: str) -> PayerEndpoint:
    return PayerEndpoint(
        payer_id=payer_id, name=partner.name, interchange=(partner.isa_qualifier, partner.isa_id)
    )


def route_file(
    store: Store,
    blobs: BlobStore,
    record: FileRecord,
    *,
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    payers: Mapping[str, PayerConfig] | None = None,
) -> RouteOutcome:
    with store.transaction() as tx:
        current = tx.get_file(record.id)
        if current is None or current.state != PROCESSED:
            return RouteOutcome(current or record, already_done=True)
        outcome = RouteOutcome(current)
        uploader = partners.get(record.partner_id)
        if uploader is not None and uploader.role == "payer":
            _payer_answers(tx, blobs, record, uploader, partners, config, now, outcome)
            tx.set_state(record.id, ROUTED if _usages(tx, record.id) else REJECTED)
            return outcome
        foreign = tx.accepted_sets_not_837(record.id)
        answered = False
        attached = [r for r in foreign if carries_attachments(r.st01)]
        if attached and uploader is not None:
            answered = _take_attachments(tx, blobs, record, uploader, attached, partners,
                                         config, now, outcome)  # fmt: skip
            foreign = [r for r in foreign if not carries_attachments(r.st01)]
        if foreign and uploader is not None:
            answered = _answer_inquiries(
                tx, blobs, record, uploader, foreign, partners, config, payers or {}, now,
                outcome,
            )  # fmt: skip
            done = outcome.inquiry_keys
            foreign = [r for r in foreign if (r.isa13, r.st02) not in done]
        if foreign or outcome.problems:
            outcome.problems += [
                f"{r.st01} set {r.st02} (interchange {r.isa13}): a submitter sends "
                "837 claims; this transaction set was not forwarded"
                for r in foreign
            ]
            report = _problem_report(record, record.partner_id, outcome.problems)
            _, name = _place(tx, blobs, record.partner_id, "REPORT", record.id, report, now,
                             record.id)  # fmt: skip
            outcome.forwarded.append(Placed(record.partner_id, "REPORT", name, record.id, {}))
        wanted = tx.accepted_claim_ids(record.id)
        if wanted:
            usages = _usages(tx, record.id)
            _route_claims(tx, blobs, record, wanted, usages, partners, config, now, outcome)
        # see gateway/states.py: rejected = nothing in the file went on
        tx.set_state(record.id, ROUTED if wanted or answered else REJECTED)
    return outcome


def _take_attachments(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    uploader: Partner,
    accepted: list[AcceptedSet],
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    outcome: RouteOutcome,
) -> bool:
    """A provider's 275 sets (ATTACHMENT kind): see :func:`gateway.pipeline.rfai.take_attachments`.
    True when some attachment answered a request."""
    from gateway.pipeline.rfai import take_attachments

    keys = {(r.isa13, r.st02) for r in accepted}
    sets = []
    for ts in iter_transaction_sets(blobs.read(record.sha256)):
        if (ts.isa13, st02_of(ts)) not in keys:
            continue
        st01 = ts.segments[0].elements[0] if ts.segments and ts.segments[0].elements else ""
        if is_attachment(st01, _guide(ts)) is None:
            outcome.problems.append(
                f"{st01} set {st02_of(ts)} (interchange {ts.isa13}): taken as an attachment "
                f"(005010X210) only; this one is {_guide(ts) or 'without a guide'}"
            )
            continue
        sets.append(ts)
    taken = take_attachments(tx, blobs, record, uploader, sets, partners=partners,
                             config=config, now=now, outcome=outcome,
                             usages={r.isa13: r.usage for r in accepted})  # fmt: skip
    return taken > 0


def _answer_inquiries(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    uploader: Partner,
    accepted: list[AcceptedSet],
    partners: PartnerSet,
    config: GatewayConfig,
    payers: Mapping[str, PayerConfig],
    now: float,
    outcome: RouteOutcome,
) -> bool:
    """Batch inquiries (a 270 file): the sets for an external payer are routed to its mailbox
    (:func:`_route_inquiries`); the others are answered here, one answer interchange per source
    interchange, all in ``<stamp>_<file id>_<answer kind>.x12`` for the submitter (see
    :mod:`gateway.pipeline.inquiries`). True when some set was routed or answered."""
    data = blobs.read(record.sha256)
    keys = {(r.isa13, r.st02) for r in accepted}
    usages = {r.isa13: r.usage for r in accepted}
    routed = _route_inquiries(tx, blobs, record, data, keys, usages, partners, config, now,
                              outcome)  # fmt: skip
    found = answer_file_inquiries(
        tx,
        data,
        keys - routed,
        config=config,
        partners=partners,
        payers=payers,
        usages=usages,
        receiver=(uploader.isa_qualifier, uploader.isa_id),
        now=datetime.fromtimestamp(now, UTC),
    )
    for kind_name, content in sorted(found.by_kind.items()):
        _, name = _place(tx, blobs, record.partner_id, kind_name, record.id, content, now,
                         record.id)  # fmt: skip
        outcome.answer_files.append(
            Placed(record.partner_id, kind_name, name, record.id, {"sets": found.sets})
        )
    outcome.inquiries += found.audit
    outcome.inquiry_keys = found.answered | routed
    return bool(outcome.inquiry_keys)


def _set_payers(ts: TransactionSet) -> set[str]:
    """The payer IDs an inquiry set names (NM1*PR NM109, loop 2100A of 270 and 276)."""
    return {
        s.elements[8] for s in ts.segments
        if s.id == "NM1" and s.elements[:1] == ("PR",) and len(s.elements) > 8
    }  # fmt: skip


def _route_inquiries(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    data: bytes,
    keys: set[tuple[str, str]],
    usages: Mapping[str, str],
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    outcome: RouteOutcome,
) -> set[tuple[str, str]]:
    """The accepted inquiry sets whose requests all name one external payer: re-enveloped to
    it (per payer and usage) into its mailbox as ``<stamp>_<file id>_<kind>.x12``, one
    :class:`InquiryRoute` per TRN02 so its answers are matched back. Returns their keys."""
    by_payer: dict[tuple[str, str], list[TransactionSet]] = defaultdict(list)
    for ts in iter_transaction_sets(data):
        key = (ts.isa13, st02_of(ts))
        if key not in keys or inquiry_of(ts) is None:
            continue
        payers = {partners.by_payer_id(p) for p in _set_payers(ts)}
        if len(payers) != 1:
            continue
        (payer,) = payers
        if payer is None or payer.kind != "external":
            continue
        by_payer[(payer.id, usages.get(ts.isa13, "P"))].append(ts)
    gateway = Gateway(config.interchange_qualifier, config.interchange_id)
    when = datetime.fromtimestamp(now, UTC)
    routed: set[tuple[str, str]] = set()
    for (payer_id, usage), sets in sorted(by_payer.items()):
        payer = partners.get(payer_id)
        assert payer is not None
        kind = inquiry_of(sets[0])
        assert kind is not None
        counter = f"control:{payer_id}"
        content, isa13 = rewrap(
            sets, gateway=gateway, receiver=(payer.isa_qualifier, payer.isa_id), usage=usage,
            next_control=lambda: tx.next_counter(counter),  # noqa: B023 - used right here
            now=when,
        )  # fmt: skip
        gs06 = next(iter_transaction_sets(content)).gs06
        _, name = _place(tx, blobs, payer_id, kind.name, record.id, content, now, record.id)
        rows = [
            InquiryRoute(payer_id, seg.elements[1], record.id, record.partner_id, ts.isa13,
                         st02_of(ts), usage, isa13, gs06, now)
            for ts in sets
            for seg in ts.segments
            if seg.id == "TRN" and seg.elements[:1] == ("1",) and len(seg.elements) > 1
        ]  # fmt: skip
        tx.add_inquiry_routes(rows)
        routed |= {(ts.isa13, st02_of(ts)) for ts in sets}
        outcome.inquiry_batches.append(
            Placed(payer_id, kind.name, name, record.id,
                   {"isa13": isa13, "sets": len(sets), "requests": len(rows)})
        )  # fmt: skip
    return routed


def _match_inquiry_answer(
    tx: Transaction,
    payer: Partner,
    partners: PartnerSet,
    ts: TransactionSet,
    where: str,
    now: float,
    outcome: RouteOutcome,
) -> list[Partner]:
    """A payer's answer to batch inquiries (a 271): matched by the TRN02s it echoes (TRN*2)
    to the inquiries sent to it; forwarded once to their submitters."""
    traces = [
        s.elements[1] for s in ts.segments
        if s.id == "TRN" and s.elements[:1] == ("2",) and len(s.elements) > 1
    ]  # fmt: skip
    found = [r for t in dict.fromkeys(traces) for r in tx.inquiry_routes(payer.id, trn02=t)]
    if not found:
        outcome.problems.append(f"{where}: answers no inquiry we sent you (TRN02 unknown)")
        return []
    waiting = [r for r in found if r.answered_at is None]
    if not waiting:
        outcome.problems.append(f"{where}: answers inquiries already answered; not forwarded again")
        return []
    for route in waiting:
        tx.answer_inquiry_route(route, now)
    targets = {r.submitter_partner_id for r in waiting}
    return [p for p in (partners.get(t) for t in sorted(targets)) if p is not None]


def _route_claims(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    wanted: dict[tuple[str, str, int], int],
    usages: dict[tuple[str, str], str],
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    outcome: RouteOutcome,
) -> None:
    data = blobs.read(record.sha256)
    # never mix test and production claims in one outbound interchange
    by_payer: dict[tuple[str, str], list[SourceClaim]] = defaultdict(list)
    claim_rows: dict[tuple[str, str, int], int] = {}
    for source in source_claims(record.id, data):
        key = _source_key(source)
        if key not in wanted:
            continue
        claim_rows[key] = wanted[key]
        usage = usages.get((source.transaction.isa13, source.claim.header.st02), "P")
        by_payer[(source.claim.payer_id, usage)].append(source)
    gateway = Gateway(config.interchange_qualifier, config.interchange_id)
    submitter = Submitter(name=config.interchange_id, id=config.interchange_id)
    when = datetime.fromtimestamp(now, UTC)
    for (payer_id, usage), sources in sorted(by_payer.items()):
        partner = partners.by_payer_id(payer_id)
        if partner is None:  # the profile went away since the edits ran
            outcome.unroutable += len(sources)
            continue
        counter = f"control:{partner.id}"  # ISA13/GS06/ST02 per trading partner
        try:
            built = reenvelope(
                sources,
                payer=payer_endpoint(partner, payer_id),
                gateway=gateway,
                submitter=submitter,
                usage=usage,
                next_control=lambda: tx.next_counter(counter),  # noqa: B023 - used right here
                now=when,
            )
        except ReenvelopeError as exc:  # a hierarchy the edits should have caught
            outcome.unroutable += len(sources)
            outcome.warnings.append(f"payer {payer_id}: not routed: {exc}")
            continue
        outcome.warnings += list(built.warnings)
        sha = blobs.put(built.content)
        mailbox_id: int | None = None
        name = ""
        if partner.kind == "external":
            mailbox_id, name = _place(
                tx, blobs, partner.id, "837", record.id, built.content, now, record.id,
                qualifier="" if len(partner.payer_ids) == 1 else payer_id,
            )  # fmt: skip
        batch_id = tx.add_batch(
            NewBatch(partner.id, payer_id, built.control_number, sha, len(built.content),
                     record.id, now, partner.kind, usage, mailbox_id)
        )  # fmt: skip
        by_key = {_source_key(s): s for s in sources}
        new_routes: list[NewRoute] = []
        for route in built.routes:
            key = (route.source_isa13, route.source_st02, route.source_index)
            source = by_key[key]
            new_routes.append(
                NewRoute(claim_rows[key], batch_id, partner.id, payer_id, route.outbound_isa13,
                         route.outbound_gs06, route.outbound_st02, route.outbound_index,
                         route.claim_id, record.id, record.partner_id, route.source_isa13,
                         route.source_st02, route.source_index, source.claim.billing_npi,
                         ROUTED, now)
            )  # fmt: skip
        tx.add_routes(new_routes)
        outcome.batches.append(
            Placed(
                partner.id,
                "837",
                name,
                record.id,
                {
                    "payer_id": payer_id,
                    "out_isa13": built.control_number,
                    "claims": len(built.routes),
                    "delivery": partner.kind,
                },
            )
        )


def _source_key(source: SourceClaim) -> tuple[str, str, int]:
    return (source.transaction.isa13, source.claim.header.st02, source.claim.index)


def _usages(tx: Transaction, file_id: str) -> dict[tuple[str, str], str]:
    """ISA15 (test/production) of the file's accepted sets, by (ISA13, ST02), as the envelope
    check recorded it."""
    rows = tx.accepted_sets(file_id)
    return {(r.isa13, r.st02): r.usage if r.usage in ("T", "P") else "P" for r in rows}


# ------------------------------------------------------------------------ payer cycle


@dataclass
class CycleOutcome:
    payer_partner_id: str
    decided: int = 0
    paid: int = 0
    denied: int = 0
    rejected: int = 0
    pended: int = 0
    released: int = 0
    placed: list[Placed] = field(default_factory=list)
    claims: list[dict[str, object]] = field(default_factory=list)
    """Per claim, log-safe: route id, file id, CLM01 hash, outcome, status, CLP07, CARCs."""
    held: int = 0
    """Pended claims kept waiting for an open request for information."""
    events: list[dict[str, object]] = field(default_factory=list)
    """Audit entries ``{"event": name, ...}``: rfai.sent, rfai.expired (identifiers only)."""


def _hash(clm01: str) -> str:
    return hashlib.sha256(clm01.encode("utf-8", "replace")).hexdigest()[:16]


@dataclass
class _Waiting:
    route: WaitingRoute
    claim: Claim
    item: ClaimInput


def _load_waiting(tx: Transaction, blobs: BlobStore, partner_id: str) -> list[_Waiting]:
    routes = tx.waiting_routes(partner_id, (ROUTED, PENDED))
    by_batch: dict[str, list[WaitingRoute]] = defaultdict(list)
    for route in routes:
        by_batch[route.batch_sha].append(route)
    waiting: list[_Waiting] = []
    for sha, batch_routes in by_batch.items():
        index = {(r.out_st02, r.out_index): r for r in batch_routes}
        for ts in iter_transaction_sets(blobs.read(sha)):
            claims = extract_claims(ts.segments, ts.delimiters, ts.gs08)
            st02 = ts.segments[0].elements[1] if ts.segments[0].elements[1:] else ""
            picked = [(c, index.get((st02, c.index))) for c in claims]
            mine = [(c, r) for c, r in picked if r is not None]
            inputs = claim_inputs(ts.segments, [c for c, _ in mine], [str(r.id) for _, r in mine])
            for (claim, route), item in zip(mine, inputs, strict=True):
                waiting.append(_Waiting(route, claim, item))
    waiting.sort(key=lambda w: int(w.route.id))
    return waiting


def run_payer_cycle(
    store: Store,
    blobs: BlobStore,
    *,
    payer: Partner,
    payer_config: PayerConfig,
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    as_of: date | None = None,
) -> CycleOutcome:
    """One payment cycle of a simulated payer (see the module docstring). ``as_of``: the
    cycle's date for requests for information (due dates; default: the UTC date of ``now``)."""
    from gateway.pipeline import rfai

    outcome = CycleOutcome(payer.id)
    today = rfai.cycle_date(as_of, now)
    with store.transaction() as tx:
        waiting = _load_waiting(tx, blobs, payer.id)
        if not waiting:
            return outcome
        payer_id = payer_config.payer_id
        lookups = _Lookups(tx, payer_id)
        fresh = [w for w in waiting if w.route.state == ROUTED]
        held = rfai.hold_or_release(tx, [w for w in waiting if w.route.state == PENDED], today)
        pended = held.release
        outcome.held = len(held.hold)
        results: list[tuple[_Waiting, Sequence[ClaimDecision]]] = []
        if pended:
            released = release_pended(
                [(w.item, decision_from_json(w.route.decision or "")) for w in pended],
                payer_config,
                lookups.accumulator,
                paid_history=lookups.paid,
                original=lookups.original,
                unanswered=held.expired.keys(),
            )
            lookups.persist(released)
            results += [(w, r.decisions) for w, r in zip(pended, released.claims, strict=True)]
            outcome.released = len(pended)
            rfai.close_requests(tx, held, pended, now, outcome.events)
        by_day: dict[date, list[_Waiting]] = defaultdict(list)
        for w in fresh:
            by_day[datetime.fromtimestamp(w.route.batch_created, UTC).date()].append(w)
        for received, group in sorted(by_day.items()):
            result = adjudicate(
                [w.item for w in group],
                payer_config,
                lookups.accumulator,
                received=received,
                paid_history=lookups.paid,
                original=lookups.original,
                next_claim_number=lambda: f"{payer_id}{tx.next_counter(f'clp07:{payer_id}'):010d}",
            )
            lookups.persist(result)
            results += [(w, r.decisions) for w, r in zip(group, result.claims, strict=True)]
        # record each claim's own decision (the last one: a correction's new version)
        updates: list[RouteDecision] = []
        for w, decisions in results:
            own = decisions[-1]
            state = {
                Outcome.ADJUDICATED: ADJUDICATED,
                Outcome.REJECTED: PAYER_REJECTED,
                Outcome.PENDED: PENDED,
            }[own.outcome]
            updates.append(
                RouteDecision(state, own.payer_claim_id or None, lookups.json(own), now, w.route.id)
            )
            _count(outcome, own)
            outcome.claims.append(
                {
                    "route_id": int(w.route.id),
                    "file_id": w.route.file_id,
                    "claim_id_hash": _hash(w.route.clm01),
                    "outcome": own.outcome.value,
                    "status": own.status.value,
                    "payer_claim_id": own.payer_claim_id,
                    "paid": str(own.paid),
                    "patient_responsibility": str(own.patient_responsibility),
                    "carcs": sorted({f"{a.group}-{a.reason}" for a in _all_adjustments(own)}),
                    "reversal": len(decisions) > 1 or own.status.value == "22",
                }
            )
        tx.set_route_decisions(updates)
        when = datetime.fromtimestamp(now, UTC)
        _answer_submitters(tx, blobs, payer, payer_config, partners, config, fresh, results, when,
                           now, outcome)  # fmt: skip
        _remit(tx, blobs, payer, payer_config, partners, config, results, when, now, outcome)
        rfai.send_requests(
            tx, blobs, payer_config=payer_config, partners=partners, config=config,
            results=results, fresh_ids={int(w.route.id) for w in fresh}, today=today, now=now,
            events=outcome.events,
        )  # fmt: skip
    return outcome


def _all_adjustments(decision: ClaimDecision) -> list[Any]:
    return [*decision.adjustments, *(a for line in decision.lines for a in line.adjustments)]


def _count(outcome: CycleOutcome, decision: ClaimDecision) -> None:
    outcome.decided += 1
    if decision.outcome is Outcome.REJECTED:
        outcome.rejected += 1
    elif decision.outcome is Outcome.PENDED:
        outcome.pended += 1
    elif decision.paid > 0:
        outcome.paid += 1
    else:
        outcome.denied += 1


class _Lookups:
    """The simulated payer's memory, read and written inside the cycle's transaction."""

    def __init__(self, tx: Transaction, payer_id: str) -> None:
        self.tx = tx
        self.payer_id = payer_id
        self._json: dict[int, tuple[ClaimDecision, str]] = {}

    def json(self, decision: ClaimDecision) -> str:
        """``decision_to_json(decision)``, encoded once per decision (persist and the route
        update both store it)."""
        known = self._json.get(id(decision))
        if known is not None and known[0] is decision:
            return known[1]
        text = decision_to_json(decision)
        self._json[id(decision)] = (decision, text)
        return text

    def accumulator(self, key: AccumulatorKey) -> Accumulator | None:
        row = self.tx.accumulator(key.payer_id, key.member_id, key.year)
        if row is None:
            return None
        return Accumulator(Decimal(row.deductible_met), Decimal(row.oop_met))

    def paid(self, fingerprint: str) -> str | None:
        return self.tx.paid_claim(self.payer_id, fingerprint)

    def original(self, payer_claim_id: str) -> ClaimDecision | None:
        text = self.tx.decision(self.payer_id, payer_claim_id)
        return decision_from_json(text) if text is not None else None

    def persist(self, result: AdjudicationResult) -> None:
        for update in result.accumulator_updates:
            key, after = update.key, update.after
            self.tx.save_accumulator(
                key.payer_id, key.member_id, key.year, str(after.deductible_met),
                str(after.oop_met),
            )  # fmt: skip
        for record in result.paid:
            self.tx.record_paid(self.payer_id, record.fingerprint, record.payer_claim_id)
        for payer_claim_id in result.reversed:
            self.tx.forget_paid(self.payer_id, payer_claim_id)
        rows: list[SavedDecision] = []
        for claim in result.claims:
            ref = claim.reference
            route_id = int(ref) if ref.isascii() and ref.isdecimal() else None
            rows += [
                SavedDecision(self.payer_id, decision.payer_claim_id, self.json(decision), route_id)
                for decision in claim.decisions
                if decision.payer_claim_id
            ]
        self.tx.save_decisions(rows)


def _answer_submitters(
    tx: Transaction,
    blobs: BlobStore,
    payer: Partner,
    payer_config: PayerConfig,
    partners: PartnerSet,
    config: GatewayConfig,
    fresh: list[_Waiting],
    results: list[tuple[_Waiting, Sequence[ClaimDecision]]],
    when: datetime,
    now: float,
    outcome: CycleOutcome,
) -> None:
    """A payer 277CA per source file for the claims the payer received this cycle.

    Pended claims are acknowledged as received (A2:20, the P status in the text: X214 allows
    only A categories per claim); released ones were acknowledged when they pended.
    """
    fresh_ids = {int(w.route.id) for w in fresh}
    per_file: dict[str, list[tuple[_Waiting, ClaimDecision]]] = defaultdict(list)
    for w, decisions in results:
        if int(w.route.id) in fresh_ids:
            per_file[w.route.file_id].append((w, decisions[-1]))
    identity = PayerIdentity(
        payer_id=payer_config.payer_id,
        name=payer_config.name,
        interchange=(config.interchange_qualifier, config.interchange_id),
    )
    for file_id, answered in sorted(per_file.items()):
        submitter_id = answered[0][0].route.submitter_partner_id
        submitter = partners.get(submitter_id)
        if submitter is None:
            continue
        usage = answered[0][0].route.usage
        batch = PayerAckBatch(
            claims=[w.claim for w, _ in answered],
            decisions=[d for _, d in answered],
            received=datetime.fromtimestamp(answered[0][0].route.batch_created, UTC).date(),
            trace=f"{payer_config.payer_id}-{answered[0][0].route.out_isa13}",
            clearinghouse_ids=[f"{file_id}-{w.route.id}" for w, _ in answered],
        )
        built = build_payer_277ca(
            [batch],
            payer=identity,
            receiver=(submitter.isa_qualifier, submitter.isa_id),
            usage=usage,
            next_control=lambda: tx.next_counter("control"),
            now=when,
        )
        _, name = _place(
            tx, blobs, submitter.id, "277CA", file_id, built.content, now, file_id,
            qualifier=payer_config.payer_id,
        )  # fmt: skip
        rejected = sum(1 for _, d in answered if d.outcome is Outcome.REJECTED)
        outcome.placed.append(
            Placed(submitter.id, "277CA", name, file_id, {
                "payer_id": payer_config.payer_id,
                "isa13": built.control_number,
                "claims": len(answered),
                # the verdict, as the clearinghouse's own 277CA event carries it
                "accepted": rejected < len(answered),
                "claims_received": len(answered),
                "claims_accepted": len(answered) - rejected,
                "claims_rejected": rejected,
            })
        )  # fmt: skip


def _payee_partner(partners: PartnerSet, npi: str, tin: str, fallback: str) -> Partner | None:
    """The submitter enrolled for this provider (NPI and TIN), else the claim's submitter."""
    for partner in partners.partners.values():
        if partner.role != "submitter":
            continue
        for provider in partner.providers:
            if provider.npi == npi and (not tin or provider.tin == tin):
                return partner
    return partners.get(fallback)


def _remit(
    tx: Transaction,
    blobs: BlobStore,
    payer: Partner,
    payer_config: PayerConfig,
    partners: PartnerSet,
    config: GatewayConfig,
    results: list[tuple[_Waiting, Sequence[ClaimDecision]]],
    when: datetime,
    now: float,
    outcome: CycleOutcome,
) -> None:
    """One 835 per payee (billing NPI/TIN) for everything adjudicated this cycle."""
    per_payee: dict[tuple[str, str], list[tuple[_Waiting, ClaimDecision]]] = defaultdict(list)
    for w, decisions in results:
        for decision in decisions:
            if decision.outcome is Outcome.ADJUDICATED:
                per_payee[(decision.billing_npi, decision.billing_tin)].append((w, decision))
    remit = payer_config.remit
    info = PayerRemitInfo(
        address=Address(remit.address, remit.city, remit.state, remit.postal_code),
        tin=remit.tin,
        contact_name=remit.contact_name,
        contact_phone=remit.phone,
    )
    for (npi, tin), paid in sorted(per_payee.items()):
        first = paid[0][0]
        partner = _payee_partner(partners, npi, tin, first.route.submitter_partner_id)
        if partner is None:
            continue
        provider_name = next((p.name for p in partner.providers if p.npi == npi), partner.name)
        trace = f"{payer_config.payer_id}{tx.next_counter(f'trace:{payer_config.payer_id}'):09d}"
        payment = Payment(
            payer_id=payer_config.payer_id,
            payer_name=payer_config.name,
            payee_npi=npi,
            payee_tin=tin,
            payee_name=provider_name,
            method="CHK",
            trace_number=trace,
            payment_date=when.date(),
            production_date=when.date(),
            claims=tuple(d for _, d in paid),
        )
        if payment.total < 0:
            payment = with_forward_balance(payment, trace)
        elif payment.total == 0:
            payment = replace(payment, method="NON")
        built = build_835(
            payment,
            sender=(config.interchange_qualifier, config.interchange_id),
            receiver=(partner.isa_qualifier, partner.isa_id),
            usage=first.route.usage,
            next_control=lambda: tx.next_counter("control"),
            now=when,
            payer=info,
        )
        mailbox_id, name = _place(tx, blobs, partner.id, "835", trace, built.content, now, None)
        posted = post_835(tx, blobs, partner.id, payer.id, name, built.content, now)
        tx.add_remit(
            NewRemit(payer_config.payer_id, npi, tin, partner.id, trace, str(payment.total),
                     len(payment.claims), built.control_number, mailbox_id, None, now)
        )  # fmt: skip
        outcome.placed.append(
            Placed(partner.id, "835", name, None, {
                "payer_id": payer_config.payer_id,
                "trace": trace,
                "isa13": built.control_number,
                "claims": len(payment.claims),
                "total": str(payment.total),
                "payee_npi": npi,
                **posted,
            })
        )  # fmt: skip


# ------------------------------------------------------------------- external payers


def _payer_answers(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    payer: Partner,
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    outcome: RouteOutcome,
) -> None:
    """What an external payer uploaded (999, 277CA, 835), matched back through the routes
    and forwarded to the partners it is for; anything that cannot be matched, does not
    balance or is not this payer's is reported to the payer and never forwarded."""
    usages = _usages(tx, record.id)  # the accepted sets, with their ISA15
    data = blobs.read(record.sha256)
    remits = {(r.isa13, r.st02): r for r in read_835(data)}
    when = datetime.fromtimestamp(now, UTC)
    gateway = Gateway(config.interchange_qualifier, config.interchange_id)
    for ts in iter_transaction_sets(data):
        header = ts.segments[0].elements if ts.segments else ()
        st01, st02 = (header[0] if header else ""), (header[1] if len(header) > 1 else "")
        usage = usages.get((ts.isa13, st02))
        if usage is None:
            continue  # not accepted: our 999 to the payer already said why
        where = f"{st01} set {st02} (interchange {ts.isa13})"
        guide = _guide(ts)
        kind = kind_of(st01, guide)
        if kind is None or kind.handling is not Handling.PAYER_ANSWER:
            expected = kinds_for(st01, Handling.PAYER_ANSWER)
            if expected:
                # e.g. a claim status answer (X212) or a request for information (X213), not
                # an acknowledgment: said to the payer, never dropped in silence
                outcome.problems.append(
                    f"{where}: a payer's {st01} is forwarded as {expected[0].description} "
                    f"({expected[0].guide}) only; this one is {guide or 'without a guide'}"
                )
            else:
                names = payer_answer_names()
                outcome.problems.append(
                    f"{where}: a payer may send {', '.join(names[:-1])} or {names[-1]}, not {st01}"
                )
            continue
        if kind.name == "835":
            remit = remits.get((ts.isa13, st02))
            targets = _match_835(tx, payer, partners, remit, where, now, outcome)
        elif kind.name == "277CA":
            targets = _match_277(tx, payer, partners, ts, where, now, outcome)
        elif kind.name == "277RFAI":
            from gateway.pipeline.rfai import forward_external_rfai

            targets = forward_external_rfai(tx, payer, partners, ts, where, now, outcome)
        elif kind.answer_to:
            targets = _match_inquiry_answer(tx, payer, partners, ts, where, now, outcome)
        else:
            targets = _match_999(tx, payer, partners, ts, where, now, outcome)
        for target in targets:
            content, isa13 = rewrap(
                [ts],
                gateway=gateway,
                receiver=(target.isa_qualifier, target.isa_id),
                usage=usage,
                next_control=lambda: tx.next_counter("control"),
                now=when,
            )
            _, name = _place(
                tx, blobs, target.id, kind.name, record.id, content, now, record.id,
                qualifier=payer.payer_ids[0] if payer.payer_ids else payer.id,
            )  # fmt: skip
            posted = (
                post_835(tx, blobs, target.id, payer.id, name, content, now)
                if kind.name == "835"
                else {}
            )
            outcome.forwarded.append(
                Placed(target.id, kind.name, name, record.id, {
                    "payer_partner": payer.id,
                    "source_st02": st02,
                    "isa13": isa13,
                    **posted,
                })
            )  # fmt: skip
    if outcome.problems:
        report = _problem_report(record, payer.id, outcome.problems)
        _, name = _place(tx, blobs, payer.id, "REPORT", record.id, report, now, record.id)
        outcome.forwarded.append(Placed(payer.id, "REPORT", name, record.id, {}))


def _guide(ts: TransactionSet) -> str:
    """The implementation guide of a set (ST03, else GS08), as the validator chose it."""
    header = ts.segments[0].elements if ts.segments else ()
    st01 = header[0] if header else ""
    return set_implementation(st01, header[2] if len(header) > 2 else "", ts.gs08)


def _problem_report(record: FileRecord, partner_id: str, problems: list[str]) -> bytes:
    lines = [
        "CLEARINGHOUSE PROCESSING REPORT",
        f"File: {record.id} (received from {partner_id})",
        "",
        "These parts of your file were NOT forwarded:",
        *(f"  - {p}" for p in problems),
        "",
        "Correct them and send the affected transaction sets again.",
    ]
    return ("\n".join(lines) + "\n").encode("ascii", "replace")


def _routes_by_clm01(tx: Transaction, payer: Partner, clm01: str) -> list[RouteRecord]:
    return tx.routes_by_clm01(payer.id, clm01)


def _payer_identified(payer: Partner, remit: Remittance, where: str, outcome: RouteOutcome) -> bool:
    """The payer of an uploaded 835 is the partner that uploaded it. What the 835 says about
    its payer is checked against that partner's profile, each only where it is stated:

    * TRN03 is ``1`` + the payer's EIN (originating company), not a payer ID: it must match
      the TIN in the profile (``<payer-ids tin="...">``) when the profile states one;
    * ``REF*2U`` and ``N1*PR`` N104 under a payer-ID qualifier (N103 ``XV``/``PI``) are
      optional; when present they must be one of the partner's payer IDs.
    """
    ok = True
    for source, value in remit.payer_ids_named:
        if value not in payer.payer_ids:
            ok = False
            outcome.problems.append(
                f"{where}: {source} names payer ID {value}, which {payer.id} does not answer "
                f"for (its payer IDs: {', '.join(payer.payer_ids)})"
            )
    expected = "1" + payer.payer_tin
    if payer.payer_tin and remit.payer_identifier != expected:
        ok = False
        outcome.problems.append(
            f"{where}: TRN03 {remit.payer_identifier or '(missing)'} is not {expected}, "
            f'"1" and the TIN in {payer.id}\'s profile'
        )
    return ok


def _match_835(
    tx: Transaction,
    payer: Partner,
    partners: PartnerSet,
    remit: Remittance | None,
    where: str,
    now: float,
    outcome: RouteOutcome,
) -> list[Partner]:
    if remit is None:
        outcome.problems.append(f"{where}: could not be read as an 835")
        return []
    if not remit.ok:
        for problem in remit.errors[:20]:
            outcome.problems.append(f"{where}: {problem.code}: {problem.message}")
        return []
    payment = remit.payment
    if not _payer_identified(payer, remit, where, outcome):
        return []
    # a claim that matches none the gateway routed is still the payee's money: the 835 is
    # forwarded and that claim posts unmatched ("needs attention"), never refused or dropped
    matched: list[tuple[RouteRecord, Any]] = []
    unmatched = 0
    for claim in remit.claims:
        routes = _routes_by_clm01(tx, payer, claim.decision.claim_id)
        npi_routes = [r for r in routes if r.billing_npi == payment.payee_npi] or routes
        if not npi_routes:
            unmatched += 1
            continue
        matched.append((npi_routes[0], claim))
    if unmatched:
        outcome.warnings.append(
            f"{where}: {unmatched} of {len(remit.claims)} claims match no claim the gateway "
            "sent to this payer; forwarded and posted as unmatched"
        )
    # the payer is the partner that uploaded the file; its payer ID is the one the 835
    # states (checked above) or the one the matched claims were routed to
    payer_id = payment.payer_id or (matched[0][0].payer_id if matched else payer.payer_ids[0])
    if tx.remit_trace_seen(payer_id, payment.trace_number):
        outcome.problems.append(
            f"{where}: payment trace {payment.trace_number} was already received; "
            "a payment is forwarded once"
        )
        return []
    submitter = matched[0][0].submitter_partner_id if matched else ""
    target = _payee_partner(partners, payment.payee_npi, payment.payee_tin, submitter)
    if target is None:
        outcome.problems.append(
            f"{where}: no partner is enrolled for the payee (NPI {payment.payee_npi})"
        )
        return []
    tx.set_route_decisions(
        RouteDecision(ADJUDICATED, claim.decision.payer_claim_id or None,
                      decision_to_json(claim.decision), now, route.id)
        for route, claim in matched
    )  # fmt: skip
    tx.add_remit(
        NewRemit(payer_id, payment.payee_npi, payment.payee_tin, target.id,
                 payment.trace_number, str(payment.total), len(remit.claims), remit.isa13, None,
                 matched[0][0].file_id if matched else None, now)
    )  # fmt: skip
    return [target]


def _match_277(
    tx: Transaction,
    payer: Partner,
    partners: PartnerSet,
    ts: TransactionSet,
    where: str,
    now: float,
    outcome: RouteOutcome,
) -> list[Partner]:
    answered = read_277ca_claims(ts)
    submitters: set[str] = set()
    updates: list[tuple[int, str]] = []
    for n, (clm01, categories) in enumerate(answered, start=1):
        routes = _routes_by_clm01(tx, payer, clm01)
        if not routes:
            outcome.problems.append(f"{where}: claim {n} matches no claim sent to this payer")
            continue
        submitters.add(routes[0].submitter_partner_id)
        rejected = any(c[:2] in ("A3", "A4", "A6", "A7", "A8") for c in categories)
        if routes[0].state == ROUTED:
            updates.append((int(routes[0].id), PAYER_REJECTED if rejected else PAYER_ACCEPTED))
    if len(submitters) > 1:
        outcome.problems.append(
            f"{where}: answers claims of several submitters; send one 277CA per batch"
        )
        return []
    if outcome.problems and any(p.startswith(where) for p in outcome.problems):
        return []
    if answered and not updates:
        outcome.problems.append(
            f"{where}: answers only claims already answered; not forwarded again"
        )
        return []
    for route_id, state in updates:
        tx.set_route_state(route_id, state, now)
    target = partners.get(next(iter(submitters))) if submitters else None
    return [target] if target is not None else []


def _match_999(
    tx: Transaction,
    payer: Partner,
    partners: PartnerSet,
    ts: TransactionSet,
    where: str,
    now: float,
    outcome: RouteOutcome,
) -> list[Partner]:
    gs06, sets = read_999(ts)
    routes = tx.routes_by_gs06(payer.id, gs06)
    inquiries = tx.inquiry_routes(payer.id, gs06=gs06) if not routes else []
    if inquiries:  # a 999 of batch inquiries routed to the payer: to their submitters
        targets = {r.submitter_partner_id for r in inquiries}
        return [p for p in (partners.get(t) for t in sorted(targets)) if p is not None]
    if not routes:
        outcome.problems.append(f"{where}: acknowledges group {gs06}, which we never sent you")
        return []
    batch_ids = sorted({int(r.batch_id) for r in routes})
    if all(state == "acknowledged" for state in tx.batch_states(batch_ids)):
        outcome.problems.append(
            f"{where}: group {gs06} was acknowledged already; not forwarded again"
        )
        return []
    tx.acknowledge_batches(batch_ids)
    rejected_sets = {st02 for st02, code in sets if code == "R"}
    for route in routes:
        if route.out_st02 in rejected_sets and route.state == ROUTED:
            tx.set_route_state(route.id, PAYER_REJECTED, now)
    targets = {r.submitter_partner_id for r in routes}
    return [p for p in (partners.get(t) for t in sorted(targets)) if p is not None]
