"""The patient statement cycle: for every provider of every submitter (or one provider), one
statement per patient account with something to say, delivered to the partner's mailbox as
``<UTC>_<id>_STATEMENT.pdf`` plus one manifest per run, ``<UTC>_<run>_STATEMENTS.csv``, for
a print-and-mail vendor. No Twisted: ``gateway statements run`` calls it directly, the daemon
in a thread of its own, in the background after the payment cycles that paid something
(``[payers] statements``; one run at a time, see ``GatewayCore._statements_after``).

An account gets a statement when it has open items (a patient balance or credit, or a payment
since its last statement) and they differ from what its last statement said: running the
cycle again with nothing new sends nothing. The patient's name and address and the
practice's address are read from the source 837s (routes keep the map), never copied into
the database. Statements are PHI: the JSON goes to the blob store (its hash in
``statements``), the PDF and the manifest to the mailbox; what this returns for the audit log
is counts and file names.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from gateway.payers.billing import ZERO, ClaimBalance, balances
from gateway.payers.statement import (
    Guarantor,
    Practice,
    Statement,
    manifest_csv,
    open_items,
    payments_since,
    statement_json,
    visit_of,
)
from gateway.payers.statement_pdf import statement_pdf
from gateway.profiles import Partner, PartnerSet
from gateway.store.billing import ClaimSource, StatementRecord
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import Store, utc_stamp
from gateway.x12.claims import Claim, Party
from gateway.x12.reenvelope import source_claims
from gateway.x12.segments import Segment

DUE_DAYS = 21
HOW_TO_PAY = (
    "By check: payable to the practice, mailed to the address below, with your account "
    "number on the check.",
    "By phone or at the front desk: card or cash; have your account number ready.",
)


@dataclass
class StatementRun:
    """What one run did (log-safe: counts and file names)."""

    statements: int = 0
    files: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Source:
    claim: Claim
    segments: tuple[Segment, ...]


def _name(party: Party | None) -> str:
    if party is None:
        return ""
    return " ".join(x for x in (party.first, party.middle, party.last_or_org, party.suffix) if x)


def _address_after(segments: tuple[Segment, ...], position: int) -> tuple[str, ...]:
    """The N3/N4 that follow the NM1 at ``position`` (1-based), as printable lines."""
    lines: list[str] = []
    for segment in segments[position : position + 3]:
        e = segment.elements
        if segment.id == "N3":
            lines.append(" ".join(x for x in e[:2] if x))
        elif segment.id == "N4":
            city, state, postal = ([*list(e), "", "", ""])[:3]
            if len(postal) == 9:
                postal = f"{postal[:5]}-{postal[5:]}"
            lines.append(f"{city}, {state} {postal}".strip(", "))
        else:
            break
    return tuple(lines)


def _sources(blobs: BlobStore, wanted: list[ClaimSource]) -> dict[int, _Source]:
    by_file: dict[str, list[ClaimSource]] = defaultdict(list)
    for w in wanted:
        by_file[w.sha256].append(w)
    out: dict[int, _Source] = {}
    for sha, items in by_file.items():
        keys = {(w.interchange_control, w.st02, w.claim_index): w.claim_id for w in items}
        for source in source_claims(items[0].file_id, blobs.read(sha)):
            key = (source.transaction.isa13, source.claim.header.st02, source.claim.index)
            if key in keys:
                out[keys[key]] = _Source(source.claim, tuple(source.transaction.segments))
    return out


def _practice(partner: Partner, npi: str, source: _Source | None) -> Practice:
    name = next((p.name for p in partner.providers if p.npi == npi), partner.name)
    address: tuple[str, ...] = ()
    if source is not None and source.claim.billing_provider is not None:
        provider = source.claim.billing_provider
        name = provider.last_or_org or name
        address = _address_after(source.segments, provider.where.position)
    return Practice(name=name, npi=npi, address=address)


def _guarantor(claim: ClaimBalance, source: _Source | None) -> Guarantor:
    patient = claim.facts.patient
    fallback = (
        " ".join(x for x in (patient.patient_first, patient.patient_last) if x) if patient else ""
    )
    if source is None or source.claim.subscriber is None:
        return Guarantor(fallback, (), fallback)
    subscriber = source.claim.subscriber
    address = _address_after(source.segments, subscriber.where.position)
    patient_name = _name(source.claim.patient) or _name(subscriber)
    return Guarantor(_name(subscriber), address, patient_name)


def run_statements(
    store: Store,
    blobs: BlobStore,
    partners: PartnerSet,
    now: float,
    *,
    provider: str | None = None,
    due_days: int = DUE_DAYS,
    how_to_pay: tuple[str, ...] = HOW_TO_PAY,
) -> StatementRun:
    """One statement cycle (see the module docstring); ``provider``: one NPI only."""
    run = StatementRun()
    today = datetime.fromtimestamp(now, UTC).date()
    for _, partner in sorted(partners.partners.items()):
        npis = sorted({p.npi for p in partner.providers})
        if not npis or (provider is not None and provider not in npis):
            continue
        made = _partner_statements(store, blobs, partner, npis, now, today, provider, due_days,
                                   how_to_pay)  # fmt: skip
        if made:
            run.partners.append(partner.id)
            run.statements += made[0]
            run.files += made[1]
    return run


def _partner_statements(
    store: Store, blobs: BlobStore, partner: Partner, npis: list[str], now: float,
    today: date, provider: str | None, due_days: int, how_to_pay: tuple[str, ...],
) -> tuple[int, list[str]] | None:  # fmt: skip
    claims = balances(store.claim_facts(partner.id, npis), store.patient_payments(partner.id))
    accounts: dict[tuple[str, str], list[ClaimBalance]] = defaultdict(list)
    for c in claims:
        f = c.facts
        if f.account is None or f.billing_npi not in npis:
            continue
        if provider is not None and f.billing_npi != provider:
            continue
        accounts[(f.billing_npi, f.account)].append(c)
    todo: list[tuple[str, str, list[ClaimBalance], StatementRecord | None]] = []
    previous = store.last_statements(partner.id)
    for (npi, account), mine in sorted(accounts.items()):
        last, said = previous.get(account, (None, {}))
        items = open_items(mine, last.created_at if last else None)
        if not items:
            continue
        balances_now = {c.facts.claim_id: c.patient_balance for c in items}
        if last is not None and said == balances_now:
            continue  # nothing new since the last statement
        todo.append((npi, account, items, last))
    if not todo:
        return None
    with store.transaction() as tx:
        ids = [f"S{tx.next_counter('statement'):09d}" for _ in todo]
    wanted = {c.facts.claim_id for _, _, items, _ in todo for c in items}
    sources = _sources(blobs, [s for s in store.claim_sources(partner.id, npis)
                               if s.claim_id in wanted])  # fmt: skip
    stamp = utc_stamp(now)
    rendered: list[tuple[Statement, StatementRecord, list[tuple[int, Decimal]], bytes, int]] = []
    for statement_id, (npi, account, items, last) in zip(ids, todo, strict=True):
        since = last.created_at if last else None
        newest = items[-1]
        source = sources.get(newest.facts.claim_id)
        statement = Statement(
            id=statement_id,
            statement_date=today,
            due_date=today + timedelta(days=due_days),
            account=account,
            practice=_practice(partner, npi, source),
            guarantor=_guarantor(newest, source),
            visits=tuple(visit_of(c) for c in items),
            previous_balance=last.amount_due if last else ZERO,
            payments_received=payments_since(items, since),
            how_to_pay=how_to_pay,
        )
        pdf, pages = statement_pdf(statement)
        document = json.dumps(statement_json(statement), indent=1).encode()
        json_sha = blobs.put(document)
        name = f"{stamp}_{statement_id}_STATEMENT.pdf"
        rendered.append((
            statement,
            StatementRecord(statement_id, partner.id, npi, account, today.isoformat(),
                            statement.due_date.isoformat(), statement.previous_balance,
                            statement.payments_received, statement.amount_due, name, json_sha,
                            now),
            [(c.facts.claim_id, c.patient_balance) for c in items],
            pdf,
            pages,
        ))  # fmt: skip
    expected = {
        account: last.id if last else None for _, account, _, last in todo
    }  # the last statement each account had when this run looked
    files: list[str] = []
    with store.transaction() as tx:
        # another run (the daemon's, a `gateway statements run`) may have made a statement
        # for an account since this one looked: that account is skipped, never billed twice
        kept = [
            r for r in rendered
            if tx.last_statement_id(partner.id, r[1].account) == expected[r[1].account]
        ]  # fmt: skip
        if not kept:
            return None
        for _, record, statement_items, pdf, _ in kept:
            tx.add_mailbox(partner.id, record.mailbox_name, "STATEMENT", None, blobs.put(pdf),
                           len(pdf), now)  # fmt: skip
            tx.add_statement(record, statement_items)
            files.append(record.mailbox_name)
        manifest = manifest_csv([(s, r.mailbox_name, pages) for s, r, _, _, pages in kept])
        manifest_name = f"{stamp}_{kept[0][1].id}_STATEMENTS.csv"
        tx.add_mailbox(partner.id, manifest_name, "STATEMENTS-CSV", None, blobs.put(manifest),
                       len(manifest), now)  # fmt: skip
        files.append(manifest_name)
    return len(kept), files


def statement_list(store: Store, partner_id: str) -> dict[str, object]:
    """``GET /api/v1/statements``: the partner's statements, newest first (no PHI beyond the
    account number: the content is in each statement's JSON and PDF)."""
    return {
        "partner": partner_id,
        "statements": [
            {"id": r.id, "account": r.account, "provider_npi": r.provider_npi,
             "statement_date": r.statement_date, "due_date": r.due_date,
             "previous_balance": f"{r.previous_balance:.2f}",
             "payments": f"{r.payments:.2f}", "amount_due": f"{r.amount_due:.2f}",
             "mailbox_name": r.mailbox_name}
            for r in reversed(store.statements(partner_id))
        ],
    }  # fmt: skip


def statement_document(store: Store, blobs: BlobStore, partner_id: str, statement_id: str) -> Any:
    """``GET /api/v1/statements/{id}``: the statement as JSON (from the blob store), or None
    when the partner has no such statement."""
    found = [r for r in store.statements(partner_id) if r.id == statement_id]
    if not found:
        return None
    return json.loads(blobs.read(found[0].sha256))
