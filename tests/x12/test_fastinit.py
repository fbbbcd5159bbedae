"""quick_init: the same records as the dataclass's own ``__init__``, made faster."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from gateway.x12.claims import Party, Place
from gateway.x12.edits import Failure
from gateway.x12.fastinit import quick_init

_Quick: type[Any] = quick_init(
    dataclasses.make_dataclass(
        "_Quick",
        [("a", str), ("b", int, dataclasses.field(default=2)), ("c", tuple, ())],
        frozen=True,
        slots=True,
    )
)


def test_same_values_defaults_equality_hash_and_repr() -> None:
    quick = _Quick("x")
    assert (quick.a, quick.b, quick.c) == ("x", 2, ())
    assert _Quick("x", 3, ("y",)) == _Quick(a="x", c=("y",), b=3)
    assert hash(_Quick("x")) == hash(_Quick("x", 2))
    assert repr(_Quick("x")) == "_Quick(a='x', b=2, c=())"
    place = Place("NM1", 3, 4)
    assert place == Place("NM1", 3, 4, None, None) and place.at(9) == Place("NM1", 3, 4, 9)
    assert pickle.loads(pickle.dumps(place)) == place  # noqa: S301 - our own bytes
    assert dataclasses.replace(place, line=7) == Place("NM1", 3, 7)
    failure = Failure("NPI", "A7", "562", "85", "message", place)
    assert failure.line is None and failure.location is place


def test_still_frozen_and_strict_about_arguments() -> None:
    party = Party("85", "2", "ORG", "", "", "", "XX", "1234567893", Place("NM1", 1, 1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        party.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Place("NM1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Place("NM1", 1, 2, nope=3)  # type: ignore[call-arg]


def test_refuses_what_it_cannot_do_exactly() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: str

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[str] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: str

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, Factory, PostInit, object):
        with pytest.raises(TypeError):
            quick_init(cls)


_WRITTEN_OUT = (
    "gateway.x12.segments.Segment",
    "gateway.x12.claims.Place",
    "gateway.x12.claims.Party",
    "gateway.x12.claims.DateValue",
    "gateway.x12.claims.Diagnosis",
    "gateway.x12.claims.ServiceLine",
    "gateway.x12.claims.Claim",
    "gateway.x12.frontend.SlimClaim",
)


def _instances() -> dict[type, object]:
    """One instance of each record class met in a generated batch's claims."""
    import subprocess
    import sys
    from pathlib import Path

    from gateway.x12.claims import extract_claims, iter_transaction_sets
    from gateway.x12.frontend import SlimClaim

    root = Path(__file__).resolve().parents[2]
    data = subprocess.run(
        [sys.executable, "scripts/gen_837.py", "--seed=3", "--claims=3", "--control=90"],
        capture_output=True, cwd=root, check=True,
    ).stdout  # fmt: skip
    found: dict[type, object] = {}

    def walk(value: object) -> None:
        if isinstance(value, tuple):
            for item in value:
                walk(item)
        elif dataclasses.is_dataclass(value) and type(value) not in found:
            found[type(value)] = value
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))

    for ts in iter_transaction_sets(data):
        walk(ts.segments[0])
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08):
            walk(claim)
            walk(SlimClaim.of(claim))
    return found


@pytest.mark.parametrize("name", _WRITTEN_OUT)
def test_written_out_inits_are_the_dataclass_ones(name: str) -> None:
    """The records whose ``__init__`` is written out for mypyc (gateway/_native.py) take
    their fields in order with their defaults, and keep them, compiled or not."""
    import importlib

    module, _, cls_name = name.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    example = _instances()[cls]
    values = [getattr(example, f.name) for f in fields]
    assert cls(*values) == example
    assert cls(**{f.name: v for f, v in zip(fields, values, strict=True)}) == example
    defaults = [f for f in fields if f.default is not dataclasses.MISSING]
    if defaults:
        short = cls(*values[: len(fields) - len(defaults)])
        assert [getattr(short, f.name) for f in defaults] == [f.default for f in defaults]
    assert pickle.loads(pickle.dumps(example)) == example  # noqa: S301 - our own bytes


def test_a_written_out_init_must_take_the_fields() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Wrong:
        a: str
        b: int = 1

        def __init__(self, a: str, b: int = 2) -> None:
            object.__setattr__(self, "a", a)
            object.__setattr__(self, "b", b)

    with pytest.raises(TypeError, match="does not take its dataclass fields"):
        quick_init(Wrong)
