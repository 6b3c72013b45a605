"""Frozen, slotted dataclasses built on the hot path, a slot at a time.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, which looks the
field up on the type each time (about half a microsecond for five fields). :func:`slot_setters`
looks each field's slot up once; a maker calls them in turn. The instance is the one the
constructor makes: the same type and fields, equal to it, and as frozen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type, *names: str) -> tuple[Setter, ...]:
    """The setters of ``cls``'s slots ``names``: every field of the frozen, slotted dataclass
    ``cls``, in order (a maker that left one out would make a half-built instance).

    :raises TypeError: ``cls`` is not such a dataclass, or ``names`` are not its fields in order.
    """
    params = getattr(cls, "__dataclass_params__", None)
    fields = tuple(field.name for field in dataclasses.fields(cls)) if params is not None else ()
    if params is None or not params.frozen or "__slots__" not in cls.__dict__ or fields != names:
        raise TypeError(f"{cls.__name__} is not a frozen slotted dataclass with the fields {names}")
    return tuple(cls.__dict__[name].__set__ for name in names)
