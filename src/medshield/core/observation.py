"""Observations: small typed facts that dissectors and the flow layer emit.

Every protocol module defines its own subclasses (``DhcpMessage``, ``HttpRequest`` …) as
frozen dataclasses with a class-level ``kind``. Observations never hold raw payloads: those
may carry PHI. Where a secret or identifier of a patient is needed as evidence, the
dissector keeps only what the analyses need (e.g. "a password was present", its length, a
redacted form).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from medshield.core.flow import Endpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """Base of every observation: when, in which flow, between which endpoints."""

    kind: ClassVar[str] = "observation"

    ts: float
    flow_id: int | None = None
    client: Endpoint | None = None
    """The flow's client (initiator) side, where the observation comes from a flow."""
    server: Endpoint | None = None
    """The flow's server side, where the observation comes from a flow."""
