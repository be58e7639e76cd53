"""Deep packet inspection of a completed flow: every applicable dissector on its first bytes.

The dissectors are pure functions of a flow's prefixes (see :mod:`medshield.protocols`); the
first that reads something names the flow's application, else the port registry does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.registry import Dispatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Dissected:
    """What DPI made of one flow: its application label, observations and failures."""

    app: str
    observations: tuple[Observation, ...]
    errors: int


def dissect_flow(dispatcher: Dispatcher, payload: FlowPayload) -> Dissected:
    """Run every applicable dissector; the first that reads something names the app."""
    app = ""
    found: list[Observation] = []
    errors = 0
    for dissector in dispatcher.for_flow(payload):
        try:
            observations = dissector.dissect(payload)
        except DissectorError:
            errors += 1
            continue
        except Exception:  # noqa: BLE001 - one dissector's bug must not end an assessment
            errors += 1
            log.warning("dissector %s failed on flow %d", dissector.name, payload.flow.flow_id)
            continue
        if observations:
            found.extend(observations)
            app = app or dissector.name
    if not app:
        flow = payload.flow
        app = dispatcher.label(flow.transport, flow.server.port) or ""
    return Dissected(app, tuple(found), errors)
