"""What a dissector is: a name, a signature (ports, magic bytes) and a pure ``dissect``.

A dissector never does I/O and never logs payloads. On bytes that do not follow its
protocol it returns what it could read or raises :class:`~medshield.core.errors.DissectorError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from medshield.core.enums import Transport
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation

Probe = Callable[[bytes], bool]
"""Predicate on the first bytes a client sent: does this look like the protocol?"""


@dataclass(frozen=True, slots=True)
class Signature:
    """When a dissector applies: transport, well-known server ports, and an optional probe.

    A flow goes to the dissector when its server port is in ``ports`` or, on any port, when
    ``probe`` accepts the client's (or for UDP the first datagram's) first bytes.
    """

    transport: Transport
    ports: frozenset[int] = field(default_factory=frozenset)
    probe: Probe | None = None


class Dissector(Protocol):
    """A protocol dissector (see module docstring)."""

    @property
    def name(self) -> str:
        """Short protocol label used in JSON (``dhcp``, ``http``, ``hl7`` …)."""
        ...

    @property
    def signature(self) -> Signature:
        """When this dissector applies."""
        ...

    def dissect(self, payload: FlowPayload) -> Sequence[Observation]:
        """Observations read from the flow's first bytes."""
        ...


@dataclass(frozen=True, slots=True)
class FunctionDissector:
    """A dissector made of a name, a signature and a function: what most modules need."""

    name: str
    signature: Signature
    function: Callable[[FlowPayload], Sequence[Observation]]

    def dissect(self, payload: FlowPayload) -> Sequence[Observation]:
        """Run the function on the flow."""
        return self.function(payload)
