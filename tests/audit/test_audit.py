from __future__ import annotations

import io
import json
from pathlib import Path

from gateway.audit import AuditLog, read_events
from gateway.audit.tail import format_event, matches, tail


def test_events_are_json_lines_without_phi(tmp_path: Path) -> None:
    console = io.StringIO()
    log = AuditLog(tmp_path / "log" / "audit.jsonl", console=console)
    log("file.received", file_id="F1", partner="demo-billing", size=10)
    log("sftp.login.failed", username="x", password="secret", member_id="MBR1")
    log.close()
    events = list(read_events(tmp_path / "log" / "audit.jsonl"))
    assert [e["event"] for e in events] == ["file.received", "sftp.login.failed"]
    assert events[0]["file_id"] == "F1" and "ts" in events[0]
    assert events[1]["password"] == "[redacted]" and events[1]["member_id"] == "[redacted]"
    assert "secret" not in console.getvalue() and "file.received" in console.getvalue()


def test_torn_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"event": "a"}\n{"event": "b", "trunc\nnot json\n[1]\n')
    assert [e["event"] for e in read_events(path)] == ["a"]


def test_tail_filters(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [
        {"ts": "t1", "event": "file.received", "partner": "a", "file_id": "F1"},
        {"ts": "t2", "event": "ack.999.written", "partner": "a", "file_id": "F1"},
        {"ts": "t3", "event": "ack.ta1.written", "partner": "b", "file_id": "F2"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = io.StringIO()
    assert tail(path, event_glob="ack.*", partner="a", out=out) == 0
    assert out.getvalue().count("\n") == 1 and "ack.999.written" in out.getvalue()
    out = io.StringIO()
    tail(path, file_id="F2", as_json=True, out=out)
    assert json.loads(out.getvalue())["event"] == "ack.ta1.written"
    out = io.StringIO()
    tail(path, lines=2, out=out)
    assert "t1" not in out.getvalue() and "t3" in out.getvalue()
    assert matches(lines[0], partner="a", event_glob="file.*", file_id="F1")
    assert format_event(lines[0]).startswith("t1 file.received")


def test_tail_missing_file(tmp_path: Path) -> None:
    assert tail(tmp_path / "none.jsonl") == 1


def test_listeners_see_events_and_cannot_break_logging(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    seen: list[tuple[str, dict[str, object]]] = []

    def broken(event: str, fields: object) -> None:
        raise RuntimeError("observer bug")

    log.subscribe(broken)
    log.subscribe(lambda event, fields: seen.append((event, dict(fields))))
    log("file.received", file_id="F1")
    log.close()
    assert seen == [("file.received", {"file_id": "F1"})]
    assert [e["event"] for e in read_events(tmp_path / "audit.jsonl")] == ["file.received"]


def test_events_after_close_are_dropped_not_raised(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.close()
    log("gateway.stopped")  # a late callback during shutdown must not raise


def test_per_claim_events_stay_off_the_console(tmp_path: Path) -> None:
    console = io.StringIO()
    log = AuditLog(tmp_path / "log" / "audit.jsonl", console=console)
    log("claim.accepted", file_id="F1", claim_index=0)
    log("claim.adjudicated", file_id="F1", route_id=1)
    log("file.processed", file_id="F1")
    log.close()
    assert "claim." not in console.getvalue() and "file.processed" in console.getvalue()
    events = [e["event"] for e in read_events(tmp_path / "log" / "audit.jsonl")]
    assert events == ["claim.accepted", "claim.adjudicated", "file.processed"]  # all kept


def test_events_carry_the_node_id(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", node="gw-2")
    log("file.received", file_id="F1", partner="demo-billing")
    log.close()
    (event,) = read_events(tmp_path / "audit.jsonl")
    assert event["node"] == "gw-2" and event["file_id"] == "F1"
