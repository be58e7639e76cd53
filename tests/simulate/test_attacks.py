"""Attack scenario names (simulate/attacks.py)."""

from __future__ import annotations

import pytest

from medshield.core.errors import BadInputError
from medshield.simulate.attacks import parse_attacks


def test_none_means_no_scenario() -> None:
    assert parse_attacks("none") == ()
    assert parse_attacks(" None ") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("scan", "not yet supported"),
        ("nuke", "unknown attack scenario 'nuke'"),
        ("none,scan", "cannot be combined"),
    ],
)
def test_refusals_name_the_option(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message) as raised:
        parse_attacks(text)
    assert str(raised.value).startswith("--attacks: ")
