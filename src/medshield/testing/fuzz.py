"""Hypothesis strategies and checks for dissector fuzz tests.

A dissector may return observations or raise :class:`~medshield.core.errors.DissectorError`;
any other exception on hostile bytes is a bug the fuzz tests must surface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation

EDIT_SIZE = 4
"""Bytes per edit: kind (replace, insert, delete), position (two bytes), value."""


def _apply(seed: bytes, edits: bytes, cut: int) -> bytes:
    """``seed`` with the byte edits encoded in ``edits``, then cut to ``cut`` bytes."""
    data = bytearray(seed)
    for start in range(0, len(edits) - EDIT_SIZE + 1, EDIT_SIZE):
        kind, high, low, value = edits[start : start + EDIT_SIZE]
        index = ((high << 8) | low) % (len(data) + 1)
        if kind % 3 == 0 and index < len(data):
            data[index] = value
        elif kind % 3 == 1:
            data.insert(index, value)
        elif kind % 3 == 2 and index < len(data):
            del data[index]
    return bytes(data[:cut])


def mutated(*seeds: bytes, max_edits: int = 8) -> st.SearchStrategy[bytes]:
    """Valid messages with a few bytes replaced, inserted or deleted, possibly truncated.

    Edits are drawn as plain bytes, which Hypothesis generates and shrinks cheaply.
    """
    longest = max(len(seed) for seed in seeds) + max_edits
    return st.builds(
        _apply,
        st.sampled_from(seeds),
        st.binary(max_size=EDIT_SIZE * max_edits),
        st.integers(0, longest) | st.just(longest),
    )


def dissect_or_reject(
    dissect: Callable[[FlowPayload], Sequence[Observation]], payload: FlowPayload
) -> Sequence[Observation]:
    """Run a dissector; a DissectorError counts as a clean rejection (empty result)."""
    try:
        return dissect(payload)
    except DissectorError:
        return ()
