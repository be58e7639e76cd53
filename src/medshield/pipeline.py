"""The main job: captures → packets → flows → dissectors → inventory → analyses → store.

Data flows one way. Packets are touched once (header arrays per batch in the flow layer);
only the first bytes of each flow direction reach the dissectors; everything after works on
observations, flows and devices.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from medshield import __version__
from medshield.capture import open_capture
from medshield.core.device import Device
from medshield.core.enums import transport_label
from medshield.core.errors import BadInputError, CaptureError
from medshield.core.finding import Alert, Finding
from medshield.core.flow import Endpoint, FlowPayload, FlowRecord
from medshield.core.observation import Observation
from medshield.core.packets import PacketBatch
from medshield.core.settings import FlowSettings
from medshield.dpi import Dissected, Inspector
from medshield.flows.headers import decode
from medshield.flows.hosts import HostTable
from medshield.flows.table import FlowTable
from medshield.inventory.builder import DeviceIndex, InventoryBuilder
from medshield.inventory.classification import load_rules
from medshield.posture.base import PostureContext
from medshield.posture.credentials import DefaultCredentials
from medshield.posture.registry import run_checks
from medshield.risk.activity import ActivityProfile, ActivityRecorder
from medshield.store.database import Database
from medshield.store.records import Communication
from medshield.store.repositories import (
    ActivityRepository,
    AlertRepository,
    AssessmentRepository,
    CommunicationRepository,
    DeviceRepository,
    FindingRepository,
)
from medshield.vulns.service import VulnAssessment, assess_vulnerabilities

Progress = Callable[[str, int, int], None]
"""Called with (file, bytes read so far, file size) while a capture is read."""


@dataclass(slots=True)
class CaptureSummary:
    """What was read: files, counters, time span, and every problem met."""

    files: list[str] = field(default_factory=list)
    packets: int = 0
    bytes: int = 0
    flows: int = 0
    start: float | None = None
    end: float | None = None
    problems: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)
    dissector_errors: int = 0


@dataclass(slots=True)
class AssessmentResult:
    """Everything one assessment produced."""

    assessment_id: int | None
    summary: CaptureSummary
    devices: list[Device]
    findings: list[Finding]
    alerts: list[Alert]
    communications: list[Communication]
    vulns: VulnAssessment | None = None


CommKey = tuple[str, str, int, int, str]


class FlowAnalyser:
    """Turns completed flows into inventory links, observations and communications."""

    def __init__(self, inventory: InventoryBuilder, workers: int = 0) -> None:
        self.inventory = inventory
        self.inspector = Inspector(self._record, workers)
        self.communications: dict[CommKey, Communication] = {}
        self.flows = 0
        self.dissector_errors = 0
        self.observations: dict[str, list[Observation]] = {}
        self.activity = ActivityRecorder()

    def consume(self, payloads: Iterable[FlowPayload]) -> None:
        """Dissect (possibly in the worker) and account every completed flow."""
        self.inspector.submit(payloads)

    def finish(self) -> None:
        """Wait for the dissection of every flow consumed."""
        self.inspector.finish()

    def _record(self, flow: FlowRecord, dissected: Dissected) -> None:
        self.flows += 1
        self.dissector_errors += dissected.errors
        if dissected.observations:
            self.inventory.add_observations(dissected.observations)
            for observation in dissected.observations:
                self.observations.setdefault(observation.kind, []).append(observation)
        self.inventory.add_flow(flow, dissected.app)
        self.activity.add_flow(flow)
        self._account(flow, dissected.app)

    def _account(self, flow: FlowRecord, app: str) -> None:
        key: CommKey = (flow.client.ip, flow.server.ip, flow.server.port, flow.transport, app)
        known = self.communications.get(key)
        if known is None:
            self.communications[key] = Communication(
                src=flow.client.ip,
                dst=flow.server.ip,
                dport=flow.server.port,
                transport=transport_label(flow.transport),
                app=app,
                packets=flow.packets,
                bytes=flow.bytes,
                first_seen=flow.first_seen,
                last_seen=flow.last_seen,
            )
        else:
            self.communications[key] = replace(
                known,
                packets=known.packets + flow.packets,
                bytes=known.bytes + flow.bytes,
                first_seen=min(known.first_seen, flow.first_seen),
                last_seen=max(known.last_seen, flow.last_seen),
                flows=known.flows + 1,
            )


def read_captures(
    paths: Sequence[Path],
    settings: FlowSettings,
    analyser: FlowAnalyser,
    progress: Progress | None = None,
) -> CaptureSummary:
    """Stream every capture through the flow table into the analyser."""
    summary = CaptureSummary()
    table = FlowTable(settings)
    hosts = HostTable()
    for path in paths:
        summary.files.append(str(path))
        try:
            _read_one(path, settings, table, hosts, analyser, summary, progress)
        except CaptureError as error:
            summary.unusable.append(str(error))
    analyser.consume(table.flush())
    analyser.finish()
    for sighting in hosts.sightings():
        analyser.inventory.add_sighting(
            sighting.mac,
            sighting.ip,
            sighting.first_seen,
            sighting.last_seen,
            sighting.packets,
            sighting.bytes,
            sighting.via,
        )
    summary.flows = analyser.flows
    summary.dissector_errors = analyser.dissector_errors
    return summary


def _read_one(
    path: Path,
    settings: FlowSettings,
    table: FlowTable,
    hosts: HostTable,
    analyser: FlowAnalyser,
    summary: CaptureSummary,
    progress: Progress | None,
) -> None:
    reader = open_capture(path, batch_packets=settings.batch_packets)
    size = path.stat().st_size
    read = 0
    first: float | None = None
    last: float | None = None
    with reader:
        try:
            for batch in reader:
                if not len(batch):
                    continue
                _count(summary, batch)
                first = (
                    float(batch.ts.min()) if first is None else min(first, float(batch.ts.min()))
                )
                last = float(batch.ts.max()) if last is None else max(last, float(batch.ts.max()))
                headers = decode(batch)
                hosts.feed(headers)
                analyser.consume(table.feed(batch, headers))
                if progress is not None:
                    read += int(batch.caplen.sum()) + RECORD_OVERHEAD * len(batch)
                    progress(str(path), min(read, size), size)
        finally:
            summary.problems.extend(str(problem) for problem in reader.problems)
            if first is not None and last is not None:
                analyser.activity.observe(first, last)


RECORD_OVERHEAD = 16
"""Bytes of a pcap record header, for the progress estimate."""


def _count(summary: CaptureSummary, batch: PacketBatch) -> None:
    summary.packets += len(batch)
    summary.bytes += int(batch.wirelen.sum())
    first, last = float(batch.ts.min()), float(batch.ts.max())
    summary.start = first if summary.start is None else min(summary.start, first)
    summary.end = last if summary.end is None else max(summary.end, last)


def default_workers() -> int:
    """One DPI worker beside the reader when the machine has a second core."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


@dataclass(frozen=True, slots=True)
class AssessOptions:
    """How to assess: flow tuning, a hospital's classification rules and credential lists."""

    flows: FlowSettings = field(default_factory=FlowSettings)
    rule_files: tuple[Path, ...] = ()
    credential_files: tuple[Path, ...] = ()
    workers: int = field(default_factory=default_workers)
    """DPI worker processes (0: dissect in this process)."""


def assess(
    paths: Sequence[Path],
    database: Database,
    options: AssessOptions | None = None,
    progress: Progress | None = None,
) -> AssessmentResult:
    """Run the main job and store its results; raise BadInputError when nothing is usable."""
    with _few_collections():
        return _assess(paths, database, options or AssessOptions(), progress)


@contextmanager
def _few_collections() -> Iterator[None]:
    """Fewer full garbage collections while millions of long-lived objects are built.

    The objects made here (flows, observations, devices) live until the end of the
    assessment, so the cyclic collector's repeated full passes over them find nothing.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _assess(
    paths: Sequence[Path],
    database: Database,
    options: AssessOptions,
    progress: Progress | None,
) -> AssessmentResult:
    settings = options.flows
    credentials = DefaultCredentials.shipped()
    for path in options.credential_files:
        credentials = credentials.with_file(path)
    inventory = InventoryBuilder(rules=load_rules(options.rule_files))
    analyser = FlowAnalyser(inventory, options.workers)
    summary = read_captures(paths, settings, analyser, progress)
    if summary.packets == 0:
        reason = "; ".join(summary.unusable) or "no packets in " + ", ".join(summary.files)
        raise BadInputError(", ".join(summary.files), f"nothing usable: {reason}")
    index = inventory.build()
    context = PostureContext(index, analyser.observations, inventory.links, credentials)
    findings = run_checks(context)
    alerts: list[Alert] = []
    communications = sorted(
        analyser.communications.values(), key=lambda c: (-c.bytes, c.src, c.dst, c.dport)
    )
    profiles = analyser.activity.profiles(lambda endpoint: _device_id(index, endpoint))
    assessment_id = _store(database, summary, index, findings, alerts, communications, profiles)
    with database.session() as session:
        devices = DeviceRepository(session).get_many(sorted(index.devices))
        vulns = assess_vulnerabilities(session, devices, findings, profiles)
        FindingRepository(session).merge(list(vulns.findings), assessment_id)
    findings = sorted(
        [*findings, *vulns.findings],
        key=lambda f: (f.severity.rank, f.kind.value, f.device, f.detail_key),
    )
    return AssessmentResult(
        assessment_id, summary, devices, findings, alerts, communications, vulns
    )


def _device_id(index: DeviceIndex, endpoint: Endpoint) -> str | None:
    device = index.by_endpoint(endpoint)
    return device.id if device is not None else None


def _store(
    database: Database,
    summary: CaptureSummary,
    index: DeviceIndex,
    findings: list[Finding],
    alerts: list[Alert],
    communications: list[Communication],
    profiles: Mapping[str, ActivityProfile],
) -> int:
    database.migrate()
    with database.session() as session:
        assessments = AssessmentRepository(session)
        assessment_id = assessments.start(summary.files, tool_version=__version__)
        DeviceRepository(session).merge(index.devices.values(), assessment_id=assessment_id)
        ActivityRepository(session).merge(profiles.values())
        CommunicationRepository(session).merge(communications)
        FindingRepository(session).merge(findings, assessment_id)
        AlertRepository(session).add(alerts)
        assessments.finish(
            assessment_id,
            packets=summary.packets,
            bytes=summary.bytes,
            flows=summary.flows,
            start=summary.start,
            end=summary.end,
        )
    return assessment_id
