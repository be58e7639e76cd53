"""Frozen slotted dataclasses pickled as (class, field values), for the trip between processes.

The default pickling of a frozen slotted dataclass runs its generated ``__getstate__`` and
``__setstate__`` in Python for every instance, which costs more than the dissection that made
an observation. :class:`CompactPickler` reduces such an instance to its class and field values,
and :func:`rebuild` sets the slots back without running ``__init__`` (the values come from an
instance that was valid already). Other objects pickle as usual.
"""

from __future__ import annotations

import io
import operator
import pickle
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from typing import Any, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SlotLayout:
    """How to take a frozen slotted dataclass apart and put it back together."""

    values: Callable[[Any], tuple[Any, ...]]
    setters: tuple[Callable[[Any, Any], None], ...]


def slot_layout(cls: type) -> SlotLayout | None:
    """See :func:`layout_of_class` (memoised per class)."""
    return layout_of_class(cast("Hashable", cls))


@lru_cache(maxsize=512)
def layout_of_class(cls: Hashable) -> SlotLayout | None:
    """The layout of a dataclass whose instances are nothing but its fields' slots (no
    ``__dict__``, every slot a field); None for any other class, which pickles as usual."""
    if not isinstance(cls, type) or not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        return None
    names = tuple(item.name for item in fields(cls))
    slots = {slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())}
    if set(names) != slots or not names:
        return None
    getter = operator.attrgetter(*names)
    values: Callable[[Any], tuple[Any, ...]] = (
        getter if len(names) > 1 else (lambda instance: (getter(instance),))
    )
    return SlotLayout(values, tuple(getattr(cls, name).__set__ for name in names))


def rebuild(cls: type[T], values: tuple[Any, ...]) -> T:
    """An instance of ``cls`` with these field values, made without ``__init__``: they come
    from an instance that was valid already (see :class:`CompactPickler`)."""
    instance: T = object.__new__(cls)
    layout = slot_layout(cls)
    if layout is None:  # pragma: no cover - only instances with a layout are reduced to this
        raise TypeError(f"{cls.__name__} has no slot layout")
    for setter, value in zip(layout.setters, values, strict=True):
        setter(instance, value)
    return instance


class CompactPickler(pickle.Pickler):
    """Pickles frozen slotted dataclasses as (class, field values), rebuilt by :func:`rebuild`."""

    def reducer_override(self, obj: Any) -> Any:
        """The compact reduction of dataclass instances; others as usual."""
        layout = slot_layout(type(obj))
        if layout is None:
            return NotImplemented
        return rebuild, (type(obj), layout.values(obj))


def compact_dumps(value: object) -> bytes:
    """``value`` pickled by :class:`CompactPickler` (read back with :func:`pickle.loads`)."""
    buffer = io.BytesIO()
    CompactPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()
