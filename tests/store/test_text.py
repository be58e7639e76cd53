"""Text made storable on every backend."""

from __future__ import annotations

from medshield.store.text import ELLIPSIS, storable


def test_clean_text_is_returned_unchanged() -> None:
    text = "PUMP-ICU-01"
    assert storable(text, 64) is text


def test_nul_characters_are_removed() -> None:
    assert storable("a\x00b\x00") == "ab"


def test_long_text_is_clipped_to_the_limit_with_a_mark() -> None:
    clipped = storable("é" * 300, 256)
    assert len(clipped) == 256
    assert clipped.endswith(ELLIPSIS)
    assert storable("x" * 256, 256) == "x" * 256
