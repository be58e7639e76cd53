"""Credentials seen in cleartext: secrets kept only in a form that cannot give them back,
and the outcome of a login attempt.

Telnet and FTP passwords, HTTP Basic passwords and SNMP communities are findings in their own
right (cleartext credentials) and may be vendor defaults. An observation therefore keeps the
length, a redacted hint for a person reading the evidence, and a SHA-256 digest so that a
posture check can compare the secret with a list of default credentials without the secret
itself ever being stored.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

REVEALED_CHARACTERS = 2
"""How many leading characters the redacted form shows, at most."""

HIDDEN_AT_LEAST = 4
"""Characters that always stay hidden, so a short secret is never shown almost whole."""

MASK = "***"


@dataclass(frozen=True, slots=True)
class RedactedSecret:
    """A secret reduced to a hint, its length and a digest.

    ``redacted`` shows at most the first two characters followed by ``***`` (fewer, or none,
    when the secret is shorter than six characters); ``length`` counts the bytes sent;
    ``sha256`` is the hex digest of those bytes.
    """

    redacted: str
    length: int
    sha256: str

    @classmethod
    def of(cls, raw: bytes) -> RedactedSecret:
        """Redact the bytes of a secret as they were sent on the wire."""
        text = raw.decode("utf-8", errors="replace")
        shown = max(0, min(REVEALED_CHARACTERS, len(text) - HIDDEN_AT_LEAST))
        return cls(
            redacted=text[:shown] + MASK,
            length=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
        )

    def matches(self, candidate: str) -> bool:
        """True when ``candidate`` (encoded as UTF-8) is the secret that was seen."""
        digest = hashlib.sha256(candidate.encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest, self.sha256)


class LoginOutcome(StrEnum):
    """What the server answered to a login attempt."""

    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"
    """The answer was not seen (prefix cut, or the server said nothing recognisable)."""
