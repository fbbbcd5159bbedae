"""TR3 rules that pyx12-format map XML cannot state, applied to the compiled guides.

A map gives each element a usage (R/S/N), codes, lengths and at most one regex; the TR3s add
*situational* rules that depend on another element's value ("PWK05 is required when PWK02 =
BM..."). Those live here, as data, and :func:`apply` adds them to the compiled segment
definitions (:class:`gateway.x12.ig_model.Situational`); the detailed and the generated fast
check both enforce them, reported as IK403 ``I9`` (required by the guide, missing). An
override may also drop a map regex that states a rule wrongly (``drop_regex``).

Why here and not in corrected map copies under ``schemas/``: a copy of a 10,000-line pyx12
map to change a few elements goes stale silently, and the map format has no way to say
"when PWK02 is BM" or "when N404 is absent" anyway.

Rules (each from the TR3's element notes):

* **PWK05/PWK06** (claim and line supplemental information, 837P/I/D): "Required when PWK02
  = BM, EL, EM, FX or FT" (the attachment goes by mail, e-mail, fax or file transfer: the
  payer needs the attachment control number to match it). The DME certificate of medical
  necessity PWK (837P 2400, PWK01 = CT) does not use them.
* **ZIP+4**: N403 of the billing provider (2010AA) and of the service facility location
  (837P 2310C/2420C, 837I 2310E, 837D 2310C/2420D): "When reporting the ZIP code for U.S.
  addresses, the full nine digit ZIP code is required"; a U.S. address is one without N404.
  Enforced per claim by the front-end edit ``POSTAL_CODE`` (277CA ``A7:500:85``/``:77``,
  :mod:`gateway.x12.edits`), not here: a 999 rejects the whole transaction set, every claim
  of every provider in it, for one provider's address, and ten of the corpus's TR3-scenario
  837Ps (five-digit billing ZIPs, otherwise clean) would lose all their claims. So that the
  two guides agree, pyx12's unconditional ``[0-9]{9}`` on 837I 2010AA N403 (which also
  refuses a Canadian billing address, N404 = CA, that the TR3 allows) is dropped: 837P and
  837I now answer the same five-digit ZIP the same way, with a 277CA claim rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from gateway.x12.ig_fastcheck import compile_fast_check
from gateway.x12.ig_model import Elem, Loop, Seg, Situational

__all__ = ["OVERRIDES", "Override", "Rebuild", "apply"]


@dataclass(frozen=True, slots=True)
class Override:
    """Situational rules for one segment definition: ``segment`` in any of ``loops`` (whose
    name starts with ``name`` when given: one loop may hold same-ID definitions)."""

    loops: frozenset[str]
    segment: str
    rules: tuple[Situational, ...]
    name: str = ""
    drop_regex: tuple[int, ...] = ()
    """1-based elements whose map regex is dropped."""


_PWK_CONTROL: Final = tuple(
    Situational(
        position=pos,
        when=2,
        values=frozenset({"BM", "EL", "EM", "FX", "FT"}),
        text="when PWK02 is BM, EL, EM, FX or FT (attachment sent separately)",
    )
    for pos in (5, 6)
)


OVERRIDES: Final[dict[str, tuple[Override, ...]]] = {
    "005010X222A1": (
        Override(frozenset({"2300"}), "PWK", _PWK_CONTROL, name="Claim Supplemental"),
        Override(frozenset({"2400"}), "PWK", _PWK_CONTROL, name="Line Supplemental"),
    ),
    "005010X223A2": (
        # pyx12's map has an unconditional [0-9]{9} on 2010AA N403 (refuses Canada); the
        # ZIP+4 rule is the POSTAL_CODE front-end edit (see the module docstring).
        Override(frozenset({"2010AA"}), "N4", (), drop_regex=(3,)),
        Override(frozenset({"2300"}), "PWK", _PWK_CONTROL, name="Claim Supplemental"),
        Override(frozenset({"2400"}), "PWK", _PWK_CONTROL, name="Line Supplemental"),
    ),
    "005010X224A2": (
        Override(frozenset({"2300"}), "PWK", _PWK_CONTROL, name="Claim Supplemental"),
    ),
}
"""Guide key -> its overrides."""


def _override_seg(seg: Seg, override: Override) -> Seg:
    elems = list(seg.elems)
    for pos in override.drop_regex:
        elem = elems[pos - 1]
        if isinstance(elem, Elem):
            elems[pos - 1] = replace(elem, regex=None)
    for rule in override.rules:
        if max(rule.position, rule.when) > len(elems):
            raise ValueError(f"override of {seg.id}: element {rule.position} not defined")
    new = replace(seg, elems=tuple(elems), situational=seg.situational + override.rules)
    return replace(new, fast=compile_fast_check(new))


Rebuild = Callable[[str | None, str, str, int, list[Seg | Loop]], Loop]
"""Makes a loop from (id, name, usage, repeat, children): ``ig_maps._make_loop``."""


def apply(loop: Loop, overrides: tuple[Override, ...], rebuild: Rebuild) -> tuple[Loop, set[int]]:
    """``loop`` with ``overrides`` applied to its (nested) segment definitions, rebuilt
    with ``rebuild`` where anything changed; and the indexes of the overrides used."""
    children: list[Seg | Loop] = []
    used: set[int] = set()
    for child in loop.children:
        if isinstance(child, Loop):
            new_loop, found = apply(child, overrides, rebuild)
            children.append(new_loop)
            used |= found
            continue
        seg = child
        for k, override in enumerate(overrides):
            if (
                loop.id in override.loops
                and seg.id == override.segment
                and seg.name.startswith(override.name)
            ):
                seg = _override_seg(seg, override)
                used.add(k)
        children.append(seg)
    if children == list(loop.children):
        return loop, used
    return rebuild(loop.id, loop.name, loop.usage, loop.repeat, children), used
