"""Running detectors over a capture the way an assessment does, for their tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from medshield.core.finding import Alert
from medshield.core.settings import FlowSettings
from medshield.detection.base import Detector
from medshield.dpi import dissect_flow
from medshield.ingest import DissectedChunk, FlowChunk, read_flows
from medshield.inventory.builder import InventoryBuilder
from medshield.pipeline import add_sightings
from medshield.protocols.registry import Dispatcher, default_dissectors
from medshield.simulate import SimulationConfig, simulate_to_files


def run_detectors(detectors: Iterable[Detector], captures: list[Path]) -> list[Alert]:
    """Read ``captures`` inline, dissect every flow, feed flows (refused ones included),
    observations and host sightings to ``detectors``, and return their alerts with devices
    named by the inventory built from the same capture — as ``medshield assess`` does."""
    chosen = list(detectors)
    dispatcher = Dispatcher(default_dissectors())
    inventory = InventoryBuilder()
    for item in read_flows(captures, FlowSettings()):
        if isinstance(item, DissectedChunk):  # pragma: no cover - inline reading never steals
            raise AssertionError("inline reading returned dissected flows")
        if isinstance(item, FlowChunk):
            for payload in item.payloads:
                dissected = dissect_flow(dispatcher, payload)
                for detector in chosen:
                    detector.flow(payload.flow, dissected.app)
                    for observation in dissected.observations:
                        detector.observation(observation)
                inventory.add_observations(dissected.observations)
                if not payload.flow.refused:
                    inventory.add_flow(payload.flow, dissected.app)
            continue
        add_sightings(inventory, item.sightings)
        for sighting in item.sightings:
            for detector in chosen:
                detector.sighting(sighting)
    index = inventory.build()
    found = [alert for detector in chosen for alert in detector.alerts(index.name_of)]
    return sorted(found, key=lambda a: (a.start, a.kind.value, a.device))


def simulate_capture(folder: Path, config: SimulationConfig) -> tuple[Path, dict[str, Any]]:
    """Simulate ``config`` into ``folder``: the capture's path and its ground truth."""
    capture, truth = folder / "capture.pcap", folder / "truth.json"
    simulate_to_files(config, capture, truth)
    return capture, json.loads(truth.read_text())


def epoch(iso: str) -> float:
    """Epoch seconds of an ISO 8601 UTC time as the truth and the JSON outputs write it."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
