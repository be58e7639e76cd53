"""Making text read off the wire storable on every backend.

PostgreSQL rejects NUL characters in text, and a B-tree index entry must fit in about a third
of an 8 kB page (PostgreSQL 15 documentation, §67.4 "B-Tree Implementation"): a hostile
capture could otherwise make a merge fail with a long or NUL-laden attribute value. Values
that are part of a key are therefore clipped to a bounded number of characters.
"""

from __future__ import annotations

KEY_TEXT_LIMIT = 256
"""Characters kept of text in a key (attribute values, software names and versions).

At 4 bytes per character in UTF-8, two such texts plus the short id columns stay well under
PostgreSQL's B-tree entry limit of 2,704 bytes.
"""
ELLIPSIS = "…"


def storable(text: str, limit: int | None = None) -> str:
    """``text`` without NUL characters, clipped to ``limit`` characters (marked with …)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + ELLIPSIS
    return text
