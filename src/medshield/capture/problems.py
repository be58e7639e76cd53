"""Problems met while reading a capture that did not stop it from being used."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaptureProblem:
    """Something wrong in a capture after its first good record.

    ``offset`` is the byte offset in the (decompressed) capture where the problem starts.
    """

    source: str
    offset: int
    message: str

    def __str__(self) -> str:
        return f"{self.source} at byte {self.offset}: {self.message}"
