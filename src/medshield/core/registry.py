"""Explicit registries: entries are added by a named function, never by import side effect.

A registry refuses a second entry under the same name (as plaso's parser manager does), so
two dissectors or checks can never silently shadow each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from medshield.core.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered name → entry map that refuses duplicates."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; raise :class:`RegistryError` if the name is taken."""
        if name in self._entries:
            raise RegistryError(f"{self._what} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry registered as ``name``."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self._entries) or "none"
            raise RegistryError(f"no {self._what} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
