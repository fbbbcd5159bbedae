"""A faster ``__init__`` for the frozen, slotted dataclasses of the claim model.

A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__(self,
"name", value)``, which looks the attribute up by name every time: a 5-field ``Place`` takes
~1.1 µs to make, four times a plain class. The claim path makes a few dozen such records per
claim (places, parties, dates, diagnoses, lines, the claim, its slim copy, failures), so
:func:`quick_init` replaces that ``__init__`` with one that calls each slot's descriptor
directly (~2x faster). Everything else stays the dataclass's own: the signature and defaults,
``__eq__``/``__hash__``/``__repr__``, immutability (assignment still raises
``FrozenInstanceError``), ``dataclasses.replace``.

A class may also write its ``__init__`` out (setting each field with ``object.__setattr__``)
so that mypyc compiles it (gateway/_native.py); compiled, that one is kept; as pure Python it
is checked against the fields and replaced like a generated one.

Only for what it can do exactly: a frozen dataclass with ``__slots__`` (or a native class
compiled by mypyc, whose fields are descriptors the same way), every field in
``__init__``, no ``default_factory``, no keyword-only field and no ``__post_init__``;
anything else is refused when the class is defined.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from typing import TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Class decorator, applied after ``@dataclass(frozen=True, slots=True)``."""
    own = cls.__dict__.get("__init__")
    if "__mypyc_attrs__" in cls.__dict__ and not isinstance(own, types.FunctionType):
        return cls  # its own __init__, compiled by mypyc: already fast
    if isinstance(own, types.FunctionType) and own.__code__.co_filename != "<string>":
        _check_written_init(cls, own)  # written out for mypyc: it must be the dataclass's
    params = getattr(cls, "__dataclass_params__", None)
    # compiled by mypyc (gateway/_native.py): a native class, its fields are descriptors too
    native = "__mypyc_attrs__" in cls.__dict__
    if params is None or not params.frozen or ("__slots__" not in cls.__dict__ and not native):
        raise TypeError(f"{cls.__name__}: quick_init needs a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick_init cannot call __post_init__")
    namespace: dict[str, object] = {}
    arguments: list[str] = []
    lines: list[str] = []
    for number, f in enumerate(dataclasses.fields(cls)):  # type: ignore[arg-type]
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: not a plain positional field")
        namespace[f"_set{number}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            arguments.append(f.name)
        else:
            namespace[f"_default{number}"] = f.default
            arguments.append(f"{f.name}=_default{number}")
        lines.append(f"    _set{number}(self, {f.name})")
    source = f"def __init__(self, {', '.join(arguments)}):\n" + "\n".join(lines or ["    pass"])
    exec(source, namespace)  # noqa: S102 - made above from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses a direct assignment
    return cls


def _check_written_init(cls: type, init: types.FunctionType) -> None:
    """A class may write its dataclass ``__init__`` out (so that mypyc compiles it): it must
    take the fields in order with their defaults, as the generated one would."""
    expected = [(f.name, f.default) for f in dataclasses.fields(cls) if f.init]
    written = [
        (p.name, dataclasses.MISSING if p.default is inspect.Parameter.empty else p.default)
        for p in list(inspect.signature(init).parameters.values())[1:]
    ]
    if written != expected:
        raise TypeError(f"{cls.__name__}.__init__ does not take its dataclass fields")
