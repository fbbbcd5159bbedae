"""The speed work changed no answer: the 999, 277CA and claim verdicts ``gateway validate``
gives for corpus files, generated batches and batches with damaged claims (failed edits,
repeated CLM01s, claims accepted before) are byte for byte those of the code before it.

The expected SHA-256s in ``tests/fixtures/answers_unchanged.json`` were written by
:func:`write_expected` run on commit d522f0f (before the speed work)::

    python -c "import runpy; runpy.run_path('tests/x12/test_answers_unchanged.py')\\
['write_expected']()"

A change that alters these answers on purpose rewrites the file the same way (and says
why in its commit).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.x12files import CORPUS, readdress

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "fixtures" / "answers_unchanged.json"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CORPUS_FILES = (
    "837p/demo.example1.837",
    "837p/demo.drug.example10.2.837",
    "837p/lfh-demo-file.837",
    "837p/uhin-837.edi",
    "837p/imsweb-x12_multiple_transactions.txt",
    "837i/imsweb-x223-test.txt",
    "837p-negative/imsweb-x12_multiple_isa.txt",
)
_DAMAGE = (
    (b"XX*1234567893", b"XX*1234567890"),
    (b"ABK:I10", b"ABK:I1"),
    (b"ABF:Z0000", b"ABF:Z00"),
    (b"D8*2026100", b"D8*2027100"),
    (b"*11:B:1*", b"*11:B:9*"),
    (b"*11:B:1*", b"*99:B:1*"),
    (b"HC:99214", b"HC:9921"),
    (b"PI*SIM01", b"PI*NOPE1"),
    (b"***1~", b"***5~"),
    (b"627010001", b"62701"),
    (b"*UN*1*", b"*UN*0*"),
    (b"HC:99213", b"HC:99213:ZZ:25"),
)


class _History:
    """Claims "accepted before": those whose fingerprint ends in 0 or 5 (A3:78)."""

    def seen_interchanges(self, keys: object) -> set[tuple[str, str, str]]:
        return set()

    def fingerprint_accepted(self, fingerprint: str) -> bool:
        return fingerprint[-1] in "05"

    def fingerprints_accepted(self, fingerprints: list[str]) -> set[str]:
        return {f for f in fingerprints if self.fingerprint_accepted(f)}


def _generated(claims: int, seed: int, payers: str = "SIM01,SIM02") -> bytes:
    command = [sys.executable, "scripts/gen_837.py", f"--seed={seed}", f"--claims={claims}"]
    command += ["--control=4242", f"--payers={payers}"]
    return subprocess.run(command, capture_output=True, check=True, cwd=ROOT).stdout


def _damaged(claims: int, seed: int) -> bytes:
    """A generated batch with a third of its claims damaged and some CLM01s repeated."""
    rng = random.Random(seed)
    text = _generated(claims, seed).decode("latin-1").replace("\n", "")
    segments, claim_ids = [], []
    for segment in text.split("~"):
        if segment.startswith("CLM*"):
            parts = segment.split("*")
            claim_ids.append(parts[1])
            if rng.random() < 0.1 and len(claim_ids) > 1:
                parts[1] = claim_ids[rng.randrange(len(claim_ids) - 1)]
            if rng.random() < 0.05:
                parts[2] = "999.99"
            segment = "*".join(parts)
        segments.append(segment)
    blocks = "~".join(segments).encode("latin-1").split(b"~HL*")
    for n in range(1, len(blocks)):
        if rng.random() < 0.35:
            old, new = rng.choice(_DAMAGE)
            blocks[n] = blocks[n].replace(old, new, 1)
    return b"~HL*".join(blocks)


def _inputs() -> dict[str, bytes]:
    files = {
        name.replace("/", "-"): readdress((CORPUS / name).read_bytes(), control=100 + n)
        for n, name in enumerate(CORPUS_FILES)
    }
    files["generated-300"] = _generated(300, 5, "SIM01,SIM02,BADPAYER")
    files["damaged-400"] = _damaged(400, 7)
    files["two-interchanges"] = _generated(40, 9) + _generated(30, 10).replace(
        b"000004242", b"000004243"
    )
    return files


class _NoHistory(_History):
    """A claim history that has seen nothing."""

    def fingerprint_accepted(self, fingerprint: str) -> bool:
        return False


def answers(history: object = None, inputs: dict[str, bytes] | None = None) -> dict[str, str]:
    """SHA-256 of every answer file and of the summary, per input (``history``: the claim
    history, default :class:`_History`; None: none, as ``gateway validate`` without a store)."""
    from gateway.config import DEFAULT_CONFIG_PATH, load_config
    from gateway.profiles import load_partners, partner_directory
    from gateway.validate import _as_json, check_file, summarise

    config = load_config(DEFAULT_CONFIG_PATH, env={}, services=False)
    partners = load_partners(str(config.partners_dir), check_keys=False)
    directory = partner_directory(config, partners)
    result: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for name, data in (_inputs() if inputs is None else inputs).items():
            path = folder / name
            path.write_bytes(data)
            acks: list[str] = []
            checked = check_file(
                path,
                partners=partners,
                directory=directory,
                controls=itertools.count(1).__next__,
                now=NOW,
                history=history,  # type: ignore[arg-type]
                ack_dir=folder / "acks",
                acks=acks,
            )
            summary = summarise(name, checked.analysis, checked.claims, checked.duplicates)
            text = json.dumps(_as_json(summary), sort_keys=True).encode()
            result[f"{name} summary"] = hashlib.sha256(text).hexdigest()
            for ack in sorted(acks):
                key = f"{name} {Path(ack).name.removeprefix(name + '.')}"
                result[key] = hashlib.sha256(Path(ack).read_bytes()).hexdigest()
    return result


def write_expected() -> None:
    EXPECTED.write_text(json.dumps(answers(_History()), indent=1, sort_keys=True) + "\n")


def test_answers_are_those_of_the_code_before_the_speed_work() -> None:
    expected = json.loads(EXPECTED.read_text())
    got = answers(_History())
    assert sorted(got) == sorted(expected)
    assert [k for k in sorted(got) if got[k] != expected[k]] == []
    assert any("277CA" in key for key in got) and any("999" in key for key in got)


def _interleaved_providers() -> bytes:
    """A batch of 2000A loops of two claims each, the billing providers taking turns: the
    277CA lists each provider's claims together, out of file order."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    import gen_837

    return gen_837.render(gen_837.interchange(11, 4244, seed=13, claims_per_provider=2))


def test_without_history_the_answers_are_those_of_a_history_that_saw_nothing() -> None:
    """``gateway validate`` without a store makes the 277CA's claim segments while it edits
    the claims (frontend.ClaimRendering); a history that has seen nothing takes the other
    way (the re-check, the 277CA made from the verdicts read back): same bytes."""
    inputs = _inputs()
    inputs["generated-3000"] = _generated(3000, 12)
    inputs["interleaved-providers"] = _interleaved_providers()
    assert answers(None, inputs) == answers(_NoHistory(), inputs)
