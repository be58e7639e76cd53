"""Typed access to parsed JSON: wrong shapes raise BadInputError naming the file and the key.

Feeds read documents written by others; a field of the wrong type must produce a message such
as ``advisory.json: document.tracking.id: expected text, found list``, not a traceback.
"""

from __future__ import annotations

from typing import Any

from medshield.core.errors import BadInputError


def _kind(value: object) -> str:
    return {dict: "object", list: "list", str: "text", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def obj(value: Any, where: str, source: str, *, required: bool = False) -> dict[str, Any]:
    """``value`` as a JSON object (an absent optional one is empty)."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadInputError(source, f"{where}: expected object, found {_kind(value)}")
    return value


def arr(value: Any, where: str, source: str) -> list[Any]:
    """``value`` as a JSON list (an absent one is empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInputError(source, f"{where}: expected list, found {_kind(value)}")
    return value


def objects(value: Any, where: str, source: str) -> list[dict[str, Any]]:
    """``value`` as a list of JSON objects."""
    return [
        obj(item, f"{where}[{i}]", source, required=True)
        for i, item in enumerate(arr(value, where, source))
    ]


def text(value: Any, where: str, source: str, default: str = "") -> str:
    """``value`` as text; numbers are accepted and written as text (versions like ``9.7``)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadInputError(source, f"{where}: expected text, found {_kind(value)}")


def required_text(value: Any, where: str, source: str) -> str:
    """``value`` as non-empty text."""
    found = text(value, where, source).strip()
    if not found:
        raise BadInputError(source, f"{where}: missing")
    return found


def texts(value: Any, where: str, source: str) -> tuple[str, ...]:
    """``value`` as a list of texts."""
    return tuple(
        text(item, f"{where}[{i}]", source) for i, item in enumerate(arr(value, where, source))
    )


def number(value: Any, where: str, source: str) -> float | None:
    """``value`` as a number (numeric text accepted), or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadInputError(source, f"{where}: expected number, found boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise BadInputError(source, f"{where}: expected number, found {value!r}") from None
    raise BadInputError(source, f"{where}: expected number, found {_kind(value)}")
