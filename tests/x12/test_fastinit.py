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
