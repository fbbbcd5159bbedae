"""Requests for more information (277 RFAI X213 → 275 X210) in the pipeline. No Twisted.

The flow (see README "Requests for more information"):

* a simulated payer's cycle pends a claim under a pend rule with ``request = [LOINC...]``:
  :func:`send_requests` records an ``open`` request (gateway/store/rfai.py) and writes a 277
  RFAI to the provider's mailbox as ``<UTC stamp>_<request id>_277RFAI.x12``;
* the next cycles keep the claim pended while its request is open (:func:`hold_or_release`),
  release it once answered, and deny it (CARC 252) once the cycle's date is past the due date;
* a provider's 275 (:func:`take_attachments`, from :func:`~gateway.pipeline.routing.route_file`)
  is matched to an OPEN request by payer claim number (and attachment control number when
  given) among the submitting partner's own requests only; matched: stored in the blob store,
  the request answered, and for an external payer the 275 placed in its mailbox; else a
  report to the submitter, nothing forwarded;
* an external payer's 277 X213 (:func:`forward_external_rfai`) is matched to the claims
  routed to it and forwarded to the provider; the request is recorded as open.

PHI stays in the X12 and the blob store: audit entries carry ids, sizes and formats only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from gateway.config import GatewayConfig
from gateway.payers.adjudicate import pend_rule_for
from gateway.payers.config import PayerConfig
from gateway.payers.model import ClaimDecision, Outcome
from gateway.profiles import Partner, PartnerSet
from gateway.store.blobs import BlobStore
from gateway.store.rfai import (
    ANSWERED,
    CLOSED,
    EXPIRED,
    EXTERNAL,
    OPEN,
    SIMULATED,
    AttachmentRow,
    InfoRequestRow,
)
from gateway.store.sqlite import FileRecord, Transaction
from gateway.x12.claims import Claim, TransactionSet
from gateway.x12.forward import Gateway, rewrap
from gateway.x12.rfai import (
    InfoRequest,
    RequestedItem,
    read_275,
    read_277_rfai,
    write_277_rfai,
)

if TYPE_CHECKING:
    from gateway.pipeline.routing import RouteOutcome, _Waiting

RFAI_KIND = "277RFAI"
"""The mailbox kind (and file name suffix) of a 277 RFAI."""
ATTACHMENT_KIND = "275"

LOINC_NAMES: dict[str, str] = {
    "11506-3": "progress note",
    "18842-5": "discharge summary",
    "11488-4": "consultation note",
    "28570-0": "procedure note",
    "34117-2": "history and physical note",
    "11504-8": "operative note",
    "18748-4": "diagnostic imaging study",
    "11502-2": "laboratory report",
}
"""Plain words for the LOINC codes most often asked for (others read as ``LOINC <code>``)."""


def loinc_words(code: str) -> str:
    return LOINC_NAMES.get(code, f"LOINC {code}")


def waiting_words(items: Sequence[str], due: str) -> str:
    """``waiting for information: progress note, due 2026-12-31``."""
    return f"waiting for information: {', '.join(loinc_words(c) for c in items)}, due {due}"


def cycle_date(as_of: date | None, now: float) -> date:
    return as_of if as_of is not None else datetime.fromtimestamp(now, UTC).date()


# ------------------------------------------------------------------------ the payer's cycle


@dataclass
class Held:
    """What the pended claims' requests say for this cycle."""

    release: list[_Waiting] = field(default_factory=list)
    hold: list[_Waiting] = field(default_factory=list)
    expired: dict[str, InfoRequestRow] = field(default_factory=dict)
    """Route id (the claim's reference) → its request, due date passed unanswered."""


def hold_or_release(tx: Transaction, pended: Sequence[_Waiting], today: date) -> Held:
    """Pended claims without a request, or with an answered one, are released; an open
    request keeps its claim pended until its due date; past it the claim is released to be
    denied (CARC 252)."""
    out = Held()
    requests = tx.requests_for_routes(int(w.route.id) for w in pended)
    for w in pended:
        request = requests.get(int(w.route.id))
        if request is None or request.state != OPEN:
            out.release.append(w)
        elif today > date.fromisoformat(request.due):
            out.release.append(w)
            out.expired[str(w.route.id)] = request
        else:
            out.hold.append(w)
    return out


def close_requests(
    tx: Transaction,
    held: Held,
    released: Sequence[_Waiting],
    now: float,
    events: list[dict[str, object]],
) -> None:
    """After the release: expired requests are ``expired``, answered ones ``closed``."""
    requests = tx.requests_for_routes(int(w.route.id) for w in released)
    for w in released:
        request = requests.get(int(w.route.id))
        if request is None:
            continue
        if str(w.route.id) in held.expired:
            tx.set_request_state(request.id, EXPIRED, now)
            events.append(
                {"event": "rfai.expired", "request_id": request.id, "route_id": int(w.route.id),
                 "file_id": w.route.file_id, "payer_claim_id": request.payer_claim_id,
                 "due": request.due}
            )  # fmt: skip
        elif request.state == ANSWERED:
            tx.set_request_state(request.id, CLOSED, now)


def send_requests(
    tx: Transaction,
    blobs: BlobStore,
    *,
    payer_config: PayerConfig,
    partners: PartnerSet,
    config: GatewayConfig,
    results: Sequence[tuple[_Waiting, Sequence[ClaimDecision]]],
    fresh_ids: set[int],
    today: date,
    now: float,
    events: list[dict[str, object]],
) -> None:
    """A request and a 277 RFAI for each claim this cycle pended under a rule that asks."""
    from gateway.pipeline.routing import _payee_partner, _place

    when = datetime.fromtimestamp(now, UTC)
    for w, decisions in results:
        own = decisions[-1]
        if int(w.route.id) not in fresh_ids or own.outcome is not Outcome.PENDED:
            continue
        rule = pend_rule_for(payer_config, w.claim)
        if rule is None or not rule.request:
            continue
        provider = _payee_partner(
            partners, own.billing_npi, own.billing_tin, w.route.submitter_partner_id
        )
        if provider is None:
            continue
        request_id = tx.new_request_id()
        due = today + timedelta(days=rule.due_days)
        row = InfoRequestRow(
            request_id, int(w.route.id), w.route.claim_row_id, w.route.clm01,
            w.route.payer_partner_id, payer_config.payer_id, provider.id, own.payer_claim_id,
            request_id, rule.request, due.isoformat(), OPEN, SIMULATED, now, now,
        )  # fmt: skip
        tx.add_info_request(row)
        content = write_277_rfai(
            [_info_request(w.claim, own, rule.request, due, request_id, provider)],
            payer_name=payer_config.name,
            payer_id=payer_config.payer_id,
            receiver_name=provider.name,
            receiver_id=provider.isa_id,
            sender_id=config.interchange_id,
            receiver_isa_id=provider.isa_id,
            control_number=tx.next_counter("control"),
            now=when,
            usage=w.route.usage,
        )
        _, name = _place(tx, blobs, provider.id, RFAI_KIND, request_id, content, now, None)
        tx.set_request_sent(request_id, name)
        events.append(
            {"event": "rfai.sent", "request_id": request_id, "route_id": int(w.route.id),
             "file_id": w.route.file_id, "partner": provider.id, "file_name": name,
             "payer_id": payer_config.payer_id, "items": len(rule.request),
             "due": due.isoformat()}
        )  # fmt: skip


def _info_request(
    claim: Claim,
    decision: ClaimDecision,
    codes: Sequence[str],
    due: date,
    control: str,
    provider: Partner,
) -> InfoRequest:
    period = claim.service_period()
    start = decision.service_date or (period[0] if period else None) or due
    end = decision.service_date_end or (period[1] if period else None) or start
    provider_name = next(
        (p.name for p in provider.providers if p.npi == decision.billing_npi), provider.name
    )
    return InfoRequest(
        payer_claim_number=decision.payer_claim_id,
        patient_control_number=claim.claim_id,
        billed_amount=decision.charge if decision.charge is not None else Decimal("0"),
        service_from=start,
        service_to=end,
        items=tuple(RequestedItem(code=c, text=loinc_words(c)) for c in codes),
        due=due,
        patient_last=decision.patient_last,
        patient_first=decision.patient_first,
        member_id=decision.member_id,
        provider_npi=decision.billing_npi,
        provider_name=provider_name,
        attachment_control=control,
    )


# ------------------------------------------------------------------------ 275 intake


def take_attachments(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    uploader: Partner,
    sets: Sequence[TransactionSet],
    *,
    partners: PartnerSet,
    config: GatewayConfig,
    now: float,
    outcome: RouteOutcome,
    usages: Mapping[str, str] | None = None,
) -> int:
    """The provider's accepted 275 sets: each matched to one of ITS open requests, stored and
    routed; problems go to ``outcome.problems`` (the caller writes the report). Returns how
    many attachments were taken."""
    from gateway.pipeline.routing import Placed, _place

    taken = 0
    for ts in sets:
        st02 = (
            ts.segments[0].elements[1] if ts.segments and len(ts.segments[0].elements) > 1 else ""
        )
        where = f"275 set {st02} (interchange {ts.isa13})"
        attachments = read_275(ts.segments, ts.delimiters)
        if not attachments:
            outcome.problems.append(f"{where}: no attachment (BIN) could be read")
            continue
        sizes = [len(a.data) for a in attachments]
        if max(sizes) > config.attachments.max_bytes:
            outcome.problems.append(
                f"{where}: an attachment is {max(sizes)} bytes; this gateway accepts at most "
                f"{config.attachments.max_bytes} bytes; not forwarded"
            )
            continue
        # one 275 set answers one claim (the TR3: a set per claim; its LX loops are the
        # documents): matched once, by its first attachment's identifiers
        first = attachments[0]
        request = _open_request(tx, uploader.id, first.payer_claim_number,
                                first.attachment_control)  # fmt: skip
        if request is None:
            outcome.problems.append(
                f"{where}: no open request for information matches payer claim number "
                f"{first.payer_claim_number!r}"
                + (
                    f" and attachment control number {first.attachment_control!r}"
                    if first.attachment_control
                    else ""
                )
                + "; not forwarded"
            )
            continue
        forwarded: str | None = None
        payer = partners.get(request.payer_partner_id)
        if request.source == EXTERNAL and payer is not None:
            # this set only, re-enveloped from the gateway to the payer: never the
            # provider's whole file (its other sets may be for other payers)
            content, _ = rewrap(
                [ts], gateway=Gateway(config.interchange_qualifier, config.interchange_id),
                receiver=(payer.isa_qualifier, payer.isa_id),
                usage=(usages or {}).get(ts.isa13, "P"),
                next_control=lambda: tx.next_counter(f"control:{payer.id}"),  # noqa: B023
                now=datetime.fromtimestamp(now, UTC),
            )  # fmt: skip
            _, forwarded = _place(tx, blobs, payer.id, ATTACHMENT_KIND, record.id, content,
                                  now, record.id)  # fmt: skip
        for attachment, size in zip(attachments, sizes, strict=True):
            sha = blobs.put(attachment.data)
            tx.add_attachment(
                AttachmentRow(request.id, sha, attachment.format or "", size, record.id, now,
                              forwarded)
            )  # fmt: skip
            taken += 1
            outcome.events.append(
                {"event": "attachment.received", "request_id": request.id, "size": size,
                 "format": attachment.format, "payer_partner": request.payer_partner_id}
            )  # fmt: skip
        tx.set_request_state(request.id, ANSWERED, now)
        if forwarded is not None:
            outcome.forwarded.append(
                Placed(request.payer_partner_id, ATTACHMENT_KIND, forwarded, record.id,
                       {"request_id": request.id, "size": sum(sizes)})
            )  # fmt: skip
        outcome.events.append(
            {"event": "attachment.forwarded", "request_id": request.id,
             "payer_partner": request.payer_partner_id,
             "to": "payer mailbox" if forwarded is not None else "simulated payer",
             **({"file_name": forwarded} if forwarded is not None else {})}
        )  # fmt: skip
    return taken


def _open_request(
    tx: Transaction, partner_id: str, payer_claim: str, control: str
) -> InfoRequestRow | None:
    """The partner's own open request for this payer claim number (and control number when
    given); another partner's request is never found."""
    if not payer_claim.strip():
        return None
    for request in tx.requests_by_payer_claim(payer_claim.strip()):
        if request.provider_partner_id != partner_id or request.state != OPEN:
            continue
        if control and request.attachment_control and control != request.attachment_control:
            continue
        return request
    return None


# ------------------------------------------------------------------------ external payers


def forward_external_rfai(
    tx: Transaction,
    payer: Partner,
    partners: PartnerSet,
    ts: TransactionSet,
    where: str,
    now: float,
    outcome: RouteOutcome,
) -> list[Partner]:
    """An external payer's 277 X213: each request matched to a claim routed to that payer (by
    payer claim number, else CLM01); an open request recorded per match; the targets are the
    providers (the claims' submitters)."""
    targets: dict[str, Partner] = {}
    received = read_277_rfai(ts.segments, ts.delimiters)
    if not received:
        outcome.problems.append(f"{where}: no request for information could be read")
        return []
    for item in received:
        routes = (
            tx.routes_by_payer_claim(payer.id, item.payer_claim_number)
            if item.payer_claim_number
            else []
        ) or tx.routes_by_clm01(payer.id, item.patient_control_number)
        if not routes:
            outcome.problems.append(
                f"{where}: a request for claim {item.patient_control_number!r} matches no "
                "claim sent to this payer; not forwarded"
            )
            continue
        route = routes[0]
        target = partners.get(route.submitter_partner_id)
        if target is None:
            continue
        request_id = tx.new_request_id()
        due = item.due.isoformat() if item.due is not None else "9999-12-31"
        tx.add_info_request(
            InfoRequestRow(
                request_id, int(route.id), route.claim_row_id, route.clm01, payer.id,
                item.payer_id or route.payer_id, target.id,
                item.payer_claim_number or (route.payer_claim_id or ""),
                item.attachment_control, tuple(i.code for i in item.items), due, OPEN,
                EXTERNAL, now, now,
            )
        )  # fmt: skip
        outcome.events.append(
            {"event": "rfai.sent", "request_id": request_id, "route_id": int(route.id),
             "file_id": route.file_id, "partner": target.id, "payer_partner": payer.id,
             "items": len(item.items), "due": due, "source": EXTERNAL}
        )  # fmt: skip
        targets[target.id] = target
    return [targets[k] for k in sorted(targets)]
