"""Running detectors over a capture the way an assessment does, for their tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from medshield.core.finding import Alert
from medshield.core.registry import Registry
from medshield.core.settings import FlowSettings
from medshield.detection.base import Detector
from medshield.detection.registry import BehaviourMonitor, DetectorFactory
from medshield.ingest import InlineReading
from medshield.inventory.builder import InventoryBuilder
from medshield.pipeline import FlowAnalyser, read_captures
from medshield.simulate import SimulationConfig, simulate_to_files


def run_detectors(detectors: Iterable[Detector], captures: list[Path]) -> list[Alert]:
    """Run ``detectors`` over ``captures`` exactly as ``medshield assess`` does (the pipeline's
    own reading and flow accounting, read inline) and return their alerts, devices named by
    the inventory built from the same capture."""
    registry: Registry[DetectorFactory] = Registry("detector")
    for detector in detectors:
        registry.register(detector.name, _factory_of(detector))
    monitor = BehaviourMonitor(registry)
    analyser = FlowAnalyser(InventoryBuilder(), monitor)
    read_captures(InlineReading(captures, FlowSettings()), analyser)
    return monitor.alerts(analyser.inventory.build().name_of)


def _factory_of(detector: Detector) -> DetectorFactory:
    """A factory that hands out this very detector (the caller keeps it to inspect)."""
    return lambda: detector


def simulate_capture(folder: Path, config: SimulationConfig) -> tuple[Path, dict[str, Any]]:
    """Simulate ``config`` into ``folder``: the capture's path and its ground truth."""
    capture, truth = folder / "capture.pcap", folder / "truth.json"
    simulate_to_files(config, capture, truth)
    return capture, json.loads(truth.read_text())


def epoch(iso: str) -> float:
    """Epoch seconds of an ISO 8601 UTC time as the truth and the JSON outputs write it."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
