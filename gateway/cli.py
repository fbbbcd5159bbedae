"""The ``gateway`` command: run, check-config, validate, trace, eligibility, payers, audit
tail/verify, bans list/lift."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.config import DEFAULT_CONFIG_PATH, GatewayConfig, Overrides, load_config
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.profiles import PartnerSet
    from gateway.store.logins import LoginBlocks
    from gateway.store.sqlite import Store


def _add_config_args(parser: argparse.ArgumentParser, listeners: bool = True) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help=f"config file (default {DEFAULT_CONFIG_PATH})"
    )
    parser.add_argument("--data-dir", help="data directory (env GATEWAY_DATA_DIR)")
    parser.add_argument("--partners", help="partner profile directory")
    if listeners:
        parser.add_argument("--sftp-listen", help="SFTP endpoint (env GATEWAY_SFTP_LISTEN)")
        parser.add_argument("--http-listen", help="HTTP endpoint (env GATEWAY_HTTP_LISTEN)")


def _overrides(args: argparse.Namespace) -> Overrides:
    return Overrides(
        data_dir=getattr(args, "data_dir", None),
        sftp_listen=getattr(args, "sftp_listen", None),
        http_listen=getattr(args, "http_listen", None),
        partners_dir=getattr(args, "partners", None),
    )


def _load(args: argparse.Namespace, services: bool = True) -> GatewayConfig:
    return load_config(args.config, _overrides(args), services=services)


def _print_problems(error: ConfigError) -> None:
    for problem in error.problems:
        print(f"error: {problem}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from gateway.runner import run

    try:
        config = _load(args)
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    return run(config)


def cmd_check_config(args: argparse.Namespace) -> int:
    from gateway.checks import check_all

    partners = Path(args.partners) if args.partners else None
    problems = check_all(args.config, partners)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("configuration OK")
    return 0


def cmd_audit_tail(args: argparse.Namespace) -> int:
    from gateway.audit.tail import tail

    if args.log:
        path = Path(args.log)
    else:
        try:
            path = _load(args).audit_log_path
        except ConfigError as exc:
            _print_problems(exc)
            return 2
    return tail(
        path,
        follow=args.follow,
        partner=args.partner,
        event_glob=args.event,
        file_id=args.file,
        as_json=args.json,
        lines=args.lines,
    )


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit hash chain; exit 1 at the first broken line, 2 when there is no log."""
    from gateway.audit.chain import chain_files, verify

    if args.files:
        files = [Path(f) for f in args.files]
    else:
        try:
            files = chain_files(_load(args).audit_log_path)
        except ConfigError as exc:
            _print_problems(exc)
            return 2
    if not files:
        print("error: no audit log to verify", file=sys.stderr)
        return 2
    result = verify(files)
    if result.broken is not None:
        print(f"BROKEN {result.broken}", file=sys.stderr)
        print(f"{result.lines - 1} line(s) before it are intact", file=sys.stderr)
        return 1
    start = "the start" if result.first_prev == "0" * 64 else f"prev={result.first_prev}"
    print(
        f"OK {result.lines} line(s) in {result.files} file(s), chained from {start}; "
        f"last hash {result.last_hash}"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from gateway.profiles import load_partners
    from gateway.validate import run_validate

    try:
        config = _load(args, services=False)
        partners = load_partners(
            str(config.partners_dir),
            own_interchange=(config.interchange_qualifier, config.interchange_id),
            check_keys=False,  # validate authenticates nobody: no SSH/AS2 key parsing
        )
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    return run_validate(
        [Path(f) for f in args.files],
        config=config,
        partners=partners,
        ack_dir=Path(args.ack_dir) if args.ack_dir else None,
        as_json=args.json,
        tune_gc=True,  # a process of its own
    )


def config_and_partners(args: argparse.Namespace) -> tuple[GatewayConfig, PartnerSet] | None:
    """The config and the partner profiles of a command that works on an existing store
    (None: a problem, printed, or no store there: never creates one)."""
    from gateway.profiles import load_partners

    try:
        config = _load(args)
        partners = load_partners(
            str(config.partners_dir),
            own_interchange=(config.interchange_qualifier, config.interchange_id),
        )
    except ConfigError as exc:
        _print_problems(exc)
        return None
    if config.database_url is None and not config.database_path.exists():
        print(f"error: no gateway store at {config.database_path}", file=sys.stderr)
        return None
    return config, partners


def cmd_payers_run_cycle(args: argparse.Namespace) -> int:
    """One payment cycle of the simulated payers, now, against the gateway's store."""
    import time

    from gateway.audit import AuditLog
    from gateway.payers.loader import load_simulated_payers
    from gateway.pipeline.core import report_cycles
    from gateway.pipeline.routing import run_payer_cycle
    from gateway.store.blobs import BlobStore
    from gateway.store.leases import CYCLE, Holder
    from gateway.store.sqlite import Store

    as_of = None
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            print("error: --as-of must be a date YYYY-MM-DD", file=sys.stderr)
            return 2
    loaded = config_and_partners(args)
    if loaded is None:
        return 2
    config, partners = loaded
    try:
        payers = load_simulated_payers(partners, config.partners_dir)
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    chosen = {
        pid: cfg
        for pid, cfg in payers.items()
        if args.payer is None or args.payer in (pid, cfg.payer_id)
    }
    if not chosen:
        print(f"error: no simulated payer {args.payer!r}", file=sys.stderr)
        return 2
    store = Store(config.database, where=config.database_url_source)
    blobs = BlobStore(config.blob_dir)
    audit = AuditLog(config.audit_log_path, node=config.node_id)
    # one cycle per payer at a time, across the nodes of a cluster and this command
    holder = Holder.for_node(f"{config.node_id}-cli")
    try:
        outcomes = []
        for pid, cfg in sorted(chosen.items()):
            partner = partners.get(pid)
            assert partner is not None
            if not store.take_lease(CYCLE, pid, holder, config.cluster.lease_seconds):
                print(f"{cfg.payer_id}: its cycle is running on a gateway node; try again soon")
                continue
            try:
                outcome = run_payer_cycle(
                    store,
                    blobs,
                    payer=partner,
                    payer_config=cfg,
                    partners=partners,
                    config=config,
                    now=time.time(),
                    as_of=as_of,
                )
            finally:
                store.release_lease(CYCLE, pid, holder)
            outcomes.append(outcome)
            print(
                f"{cfg.payer_id}: {outcome.decided} decided ({outcome.paid} paid, "
                f"{outcome.denied} denied, {outcome.rejected} rejected, {outcome.pended} pended, "
                f"{outcome.released} released, {outcome.held} waiting for information); "
                f"{len(outcome.placed)} file(s) sent"
            )
        report_cycles(audit, outcomes)
    finally:
        audit.close()
        store.close()
    return 0


def cmd_claim_status(args: argparse.Namespace) -> int:
    """Ask for a claim's status as a partner would (POST /api/v1/claim-status), against the
    gateway's store; print the answer as a table (or JSON)."""
    import json
    from datetime import UTC, datetime

    from gateway.audit import AuditLog
    from gateway.payers.loader import load_simulated_payers
    from gateway.pipeline.claim_status import answer_one, audit_fields
    from gateway.profiles import load_partners
    from gateway.store.sqlite import Store
    from gateway.x12.claim_status import answer_json, request_from_json, status_table
    from gateway.x12.eligibility import FieldError

    try:
        config = _load(args)
        partners = load_partners(
            str(config.partners_dir),
            own_interchange=(config.interchange_qualifier, config.interchange_id),
        )
        payers = load_simulated_payers(partners, config.partners_dir)
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    partner = partners.get(args.partner)
    if partner is None:
        print(f"error: no partner {args.partner!r}", file=sys.stderr)
        return 2
    if config.database_url is None and not config.database_path.exists():
        print(f"error: no gateway store at {config.database_path}", file=sys.stderr)
        return 2
    body: dict[str, object] = {
        "tradingPartnerServiceId": args.payer,
        "providers": [{"npi": args.npi, "organizationName": "PROVIDER"}],
        "subscriber": {"memberId": args.member, "lastName": args.last_name},
        "encounter": {"trackingNumber": args.tracking or "CLI"},
        "patientControlNumber": args.claim or "",
        "payerClaimControlNumber": args.payer_claim or "",
    }
    if args.charge:
        body["submittedAmount"] = args.charge
    try:
        request = request_from_json(body)
    except FieldError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    store = Store(config.database, where=config.database_url_source)
    audit = AuditLog(config.audit_log_path)
    try:
        answer = answer_one(store, request, partner_id=partner.id, payers=payers,
                            partners=partners, channel="cli", now=datetime.now(UTC))  # fmt: skip
        audit("claim_status.answered", channel="cli", partner=partner.id, **audit_fields(answer))
    finally:
        audit.close()
        store.close()
    if args.json:
        print(json.dumps(answer_json(answer), indent=1))
    else:
        print(status_table(answer), end="")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from gateway.trace import run_trace

    try:
        config = _load(args)
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    return run_trace(config, args.identifier, args.json)


def cmd_eligibility(args: argparse.Namespace) -> int:
    from gateway.eligibility_cli import run

    try:
        return run(args, lambda: _load(args))
    except ConfigError as exc:
        _print_problems(exc)
        return 2


def _login_blocks(args: argparse.Namespace) -> tuple[Store, LoginBlocks] | None:
    from gateway.store.logins import LoginBlocks
    from gateway.store.sqlite import Store

    try:
        config = _load(args)
    except ConfigError as exc:
        _print_problems(exc)
        return None
    if config.database_url is None and not config.database_path.is_file():  # never creates one
        print(f"error: no gateway store at {config.database_path}", file=sys.stderr)
        return None
    # looking never creates (or upgrades) a PostgreSQL store either
    store = Store(
        config.database,
        where=config.database_url_source,
        migrate=config.database_url is None,
    )
    return store, LoginBlocks(store)


def cmd_bans_list(args: argparse.Namespace) -> int:
    """The SFTP password locks and address bans in force."""
    import json
    import time
    from datetime import UTC, datetime

    opened = _login_blocks(args)
    if opened is None:
        return 2
    store, table = opened
    try:
        now = time.time()
        blocks = table.active(now)
    finally:
        store.close()
    if args.json:
        print(json.dumps([b.__dict__ for b in blocks]))
        return 0
    if not blocks:
        print("no SFTP password locks or address bans in force")
        return 0
    for b in blocks:
        what = "password of user" if b.kind == "user" else "address"
        until = datetime.fromtimestamp(b.until, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        print(f"{what} {b.subject}: until {until} ({int(b.until - now)} s left), {b.reason}")
    return 0


def cmd_bans_lift(args: argparse.Namespace) -> int:
    """Lift the lock or ban of an address or a user name (the daemon notices within 30 s)."""
    from gateway.transports.sftp.auth import REFRESH_SECONDS

    opened = _login_blocks(args)
    if opened is None:
        return 2
    store, table = opened
    try:
        lifted = table.lift(args.subject)
    finally:
        store.close()
    if not lifted:
        print(f"error: no lock or ban on {args.subject}", file=sys.stderr)
        return 1
    for b in lifted:
        what = "password lock of user" if b.kind == "user" else "ban of address"
        print(f"lifted the {what} {b.subject}")
    print(f"a running gateway applies this within {int(REFRESH_SECONDS)} seconds")
    return 0


DESCRIPTION = (
    "Clearinghouse EDI gateway: run the daemon, check the configuration, validate X12 files, "
    "trace a file, claim or inquiry, send an eligibility check, run a payment cycle of the "
    "simulated payers, read the audit log, list and lift SFTP login bans."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the gateway daemon in the foreground")
    _add_config_args(run)
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="check the config and every partner profile")
    check.add_argument(
        "--config", type=Path, default=None, help=f"config file (default {DEFAULT_CONFIG_PATH})"
    )
    check.add_argument("--partners", help="partner profile directory")
    check.set_defaults(func=cmd_check_config)

    validate = sub.add_parser(
        "validate", help="check X12 files as the gateway would (TA1/999/277CA), store nothing"
    )
    validate.add_argument("files", nargs="+", help="X12 files")
    validate.add_argument("--ack-dir", help="write the acknowledgments here")
    validate.add_argument("--json", action="store_true", help="summary as JSON")
    _add_config_args(validate, listeners=False)
    validate.set_defaults(func=cmd_validate)

    payers = sub.add_parser("payers", help="the simulated payers")
    payers_sub = payers.add_subparsers(dest="payers_command", required=True)
    cycle = payers_sub.add_parser("run-cycle", help="adjudicate and pay now (one cycle)")
    _add_config_args(cycle, listeners=False)
    cycle.add_argument("--payer", help="payer ID or partner id (default: every simulated payer)")
    cycle.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="the cycle's date for requests for information: due dates of new requests count "
        "from it, open requests past their due date are denied (default: today, UTC)",
    )
    cycle.set_defaults(func=cmd_payers_run_cycle)

    status = sub.add_parser(
        "claim-status",
        help="a claim's status (as a partner asks it), as a table",
        description="Where is a claim? The answer POST /api/v1/claim-status gives the partner: "
        "status category and code in plain words, amounts, the 835's trace number and date.",
    )
    status.add_argument("--partner", required=True, help="the submitter asking (partner id)")
    status.add_argument("--payer", required=True, help="payer ID (2010BB)")
    status.add_argument("--npi", required=True, help="billing provider NPI")
    status.add_argument("--member", required=True, help="subscriber member ID")
    status.add_argument("--last-name", required=True, help="subscriber last name")
    status.add_argument("--claim", help="the claim's CLM01 (patient control number)")
    status.add_argument("--payer-claim", help="or the payer claim control number (CLP07)")
    status.add_argument("--charge", help="the claim's total charge (checked when given)")
    status.add_argument("--tracking", help="tracking number (TRN02)")
    status.add_argument("--json", action="store_true", help="print the JSON answer")
    _add_config_args(status, listeners=False)
    status.set_defaults(func=cmd_claim_status)

    from gateway.billing_cli import add_parsers as add_billing_parsers

    add_billing_parsers(sub, _add_config_args)

    from gateway.attach_cli import add_parsers as add_attach_parsers

    add_attach_parsers(sub)

    trace = sub.add_parser(
        "trace",
        help="the lifecycle of a file or claim",
        description="The story of a file or a claim, in order: received, TA1/999, front-end "
        "edits, routing, payer 277CA, adjudication, the 835 that paid it, pick-ups.",
    )
    trace.add_argument(
        "identifier",
        help="file id, ISA13 (an inbound interchange, one of our acknowledgments, a routed "
        "837 batch, a payer 277CA or an 835), CLM01, or an inquiry's TRN02 or CORE PayloadID",
    )
    trace.add_argument("--json", action="store_true", help="print the trace as JSON")
    _add_config_args(trace, listeners=False)
    trace.set_defaults(func=cmd_trace)

    elig = sub.add_parser(
        "eligibility",
        help="send an eligibility check (270/271) and print the answer as a table",
        description="A JSON request (--json FILE, the fields of POST /api/v1/eligibility) "
        "and/or flags; answered by the running daemon (--url, --token) or in-process from "
        "this gateway's store and simulated payers.",
    )
    elig.add_argument("--json", metavar="FILE", help="JSON request ('-': stdin)")
    elig.add_argument("--payer", help="payer ID (tradingPartnerServiceId), e.g. SIM01")
    elig.add_argument("--npi", help="provider NPI")
    elig.add_argument("--provider", help="provider organization name")
    elig.add_argument("--member", help="subscriber member ID")
    elig.add_argument("--first", help="subscriber first name")
    elig.add_argument("--last", help="subscriber last name")
    elig.add_argument("--dob", help="subscriber date of birth YYYYMMDD")
    elig.add_argument("--service-type", action="append", help="service type code (repeat)")
    elig.add_argument("--date", help="date of service YYYYMMDD")
    elig.add_argument("--url", help="the daemon's HTTP base URL, e.g. http://127.0.0.1:8080")
    elig.add_argument("--token", help="API bearer token (else env GATEWAY_TOKEN)")
    elig.add_argument("--raw", action="store_true", help="print the JSON answer")
    _add_config_args(elig, listeners=False)
    elig.set_defaults(func=cmd_eligibility)

    audit = sub.add_parser("audit", help="read the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    tail_p = audit_sub.add_parser("tail", help="show (and follow) audit events")
    _add_config_args(tail_p, listeners=False)
    tail_p.add_argument("-f", "--follow", action="store_true", help="keep following")
    tail_p.add_argument("-n", "--lines", type=int, default=50, help="events to show first")
    tail_p.add_argument("--partner", help="only events of this partner")
    tail_p.add_argument("--event", help="only events matching this glob, e.g. 'ack.*'")
    tail_p.add_argument("--file", help="only events of this file id")
    tail_p.add_argument("--json", action="store_true", help="print raw JSON lines")
    tail_p.add_argument("--log", help="audit log file (default: from the config)")
    tail_p.set_defaults(func=cmd_audit_tail)
    verify_p = audit_sub.add_parser(
        "verify", help="check the audit log's hash chain; name the first broken line"
    )
    _add_config_args(verify_p, listeners=False)
    verify_p.add_argument(
        "files", nargs="*", help="audit files, oldest first (default: the log and its rotations)"
    )
    verify_p.set_defaults(func=cmd_audit_verify)

    bans = sub.add_parser(
        "bans",
        help="SFTP password locks and address bans",
        description="Wrong passwords lock a user's password login for a while (key logins "
        "keep working); failures across user names ban the source address. Both are kept "
        "in the store across restarts.",
    )
    bans_sub = bans.add_subparsers(dest="bans_command", required=True)
    list_p = bans_sub.add_parser("list", help="show the locks and bans in force")
    _add_config_args(list_p, listeners=False)
    list_p.add_argument("--json", action="store_true", help="print them as JSON")
    list_p.set_defaults(func=cmd_bans_list)
    lift_p = bans_sub.add_parser("lift", help="end a lock or ban now")
    _add_config_args(lift_p, listeners=False)
    lift_p.add_argument("subject", metavar="ADDRESS|USER", help="a banned address or a user name")
    lift_p.set_defaults(func=cmd_bans_lift)
    return parser


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush does
    not fail again (the recipe of the Python documentation, "Note on SIGPIPE")."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout replaced by something without a descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    from gateway.store.engine import StoreUnavailable, database_errors
    from gateway.store.migrations import SchemaError

    # bad paths, a corrupt store, a database from a newer gateway, an unreachable server...
    reported: tuple[type[Exception], ...] = (OSError, SchemaError, StoreUnavailable, UnicodeError)

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows up here, not at exit
    except BrokenPipeError:  # `gateway trace ... | head`: the reader left, as for any CLI tool
        _silence_stdout()
        return 128 + 13  # SIGPIPE, as a shell reports a command killed by it
    except Exception as exc:
        if not isinstance(exc, (*reported, *database_errors())):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
