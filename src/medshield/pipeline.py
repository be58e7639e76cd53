"""The main job: captures → packets → flows → dissectors → inventory → analyses → store.

Data flows one way. Packets are touched once (header arrays per batch in the flow layer);
only the first bytes of each flow direction reach the dissectors; everything after works on
observations, flows and devices.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from medshield import __version__
from medshield.core.device import Device
from medshield.core.enums import transport_label
from medshield.core.errors import BadInputError
from medshield.core.finding import Alert, Finding
from medshield.core.flow import Endpoint, FlowPayload, FlowRecord
from medshield.core.observation import Observation
from medshield.core.settings import AssessOptions
from medshield.detection.registry import BehaviourMonitor
from medshield.dpi import Dissected, dissect_flow
from medshield.flows.hosts import HostSighting
from medshield.ingest import DissectedChunk, FlowChunk, FlowStream, start_reading
from medshield.inventory.builder import DeviceIndex, InventoryBuilder
from medshield.inventory.classification import load_rules
from medshield.posture.base import PostureContext
from medshield.posture.credentials import DefaultCredentials
from medshield.posture.registry import run_checks
from medshield.protocols.registry import Dispatcher, default_dissectors
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
    new_alerts: list[Alert] = field(default_factory=list)
    """The alerts no earlier assessment stored: those to deliver to a SIEM."""


CommKey = tuple[str, str, int, int, str]


class FlowAnalyser:
    """Dissects completed flows and turns them into inventory links, observations and
    communications."""

    def __init__(
        self, inventory: InventoryBuilder, monitor: BehaviourMonitor | None = None
    ) -> None:
        self.inventory = inventory
        self.dispatcher = Dispatcher(default_dissectors())
        self._traffic: dict[CommKey, list[float]] = {}
        """Per communication: packets, bytes, first seen, last seen, flows."""
        self.flows = 0
        self.dissector_errors = 0
        self.observations: dict[str, list[Observation]] = {}
        self.activity = ActivityRecorder()
        self.monitor = monitor if monitor is not None else BehaviourMonitor()

    def consume(self, payloads: Iterable[FlowPayload]) -> None:
        """Dissect and account every completed flow."""
        for payload in payloads:
            self._record(payload.flow, dissect_flow(self.dispatcher, payload))

    def record(self, flows: Iterable[FlowRecord], results: Iterable[Dissected]) -> None:
        """Account flows dissected elsewhere (by the reader process)."""
        for flow, dissected in zip(flows, results, strict=True):
            self._record(flow, dissected)

    def _record(self, flow: FlowRecord, dissected: Dissected) -> None:
        self.flows += 1
        self.dissector_errors += dissected.errors
        self.monitor.flow(flow, dissected.app)
        if dissected.observations:
            self.monitor.observations(dissected.observations)
        if flow.refused:
            return  # an attempt, not a conversation: no link, service or communication
        if dissected.observations:
            self.inventory.add_observations(dissected.observations)
            for observation in dissected.observations:
                self.observations.setdefault(observation.kind, []).append(observation)
        self.inventory.add_flow(flow, dissected.app)
        self.activity.add_flow(flow)
        self._account(flow, dissected.app)

    def _account(self, flow: FlowRecord, app: str) -> None:
        key: CommKey = (flow.client.ip, flow.server.ip, flow.server.port, flow.transport, app)
        traffic = self._traffic.get(key)
        if traffic is None:
            self._traffic[key] = [flow.packets, flow.bytes, flow.first_seen, flow.last_seen, 1]
            return
        traffic[0] += flow.packets
        traffic[1] += flow.bytes
        traffic[2] = min(traffic[2], flow.first_seen)
        traffic[3] = max(traffic[3], flow.last_seen)
        traffic[4] += 1

    def communications(self) -> list[Communication]:
        """Traffic aggregated by (client, server, port, transport, app), largest first."""
        found = [
            Communication(
                src=src,
                dst=dst,
                dport=dport,
                transport=transport_label(transport),
                app=app,
                packets=int(packets),
                bytes=int(size),
                first_seen=first,
                last_seen=last,
                flows=int(flows),
            )
            for (src, dst, dport, transport, app), (packets, size, first, last, flows) in (
                self._traffic.items()
            )
        ]
        return sorted(found, key=lambda c: (-c.bytes, c.src, c.dst, c.dport))


def read_captures(
    flows: FlowStream, analyser: FlowAnalyser, progress: Progress | None = None
) -> CaptureSummary:
    """Every flow of the stream into the analyser; the summary of what was read."""
    summary = CaptureSummary()
    for item in flows:
        if isinstance(item, FlowChunk | DissectedChunk):
            if isinstance(item, FlowChunk):
                analyser.consume(item.payloads)
            else:
                analyser.record(item.flows, item.results)
            if progress is not None and item.size:
                progress(item.file, item.done, item.size)
            continue
        totals = item.totals
        summary.files = totals.files
        summary.packets, summary.bytes = totals.packets, totals.bytes
        summary.start, summary.end = totals.start, totals.end
        summary.problems, summary.unusable = item.problems, item.unusable
        for first, last in item.spans:
            analyser.activity.observe(first, last)
        analyser.monitor.sightings(item.sightings)
        add_sightings(analyser.inventory, item.sightings)
    summary.flows = analyser.flows
    summary.dissector_errors = analyser.dissector_errors
    return summary


def add_sightings(inventory: InventoryBuilder, sightings: Iterable[HostSighting]) -> None:
    """The host sightings of a reading, to the inventory's identity resolution."""
    for sighting in sightings:
        inventory.add_sighting(
            sighting.mac,
            sighting.ip,
            sighting.first_seen,
            sighting.last_seen,
            sighting.packets,
            sighting.bytes,
            sighting.via,
        )


def assess(
    paths: Sequence[Path],
    database: Database,
    options: AssessOptions | None = None,
    progress: Progress | None = None,
    flows: FlowStream | None = None,
) -> AssessmentResult:
    """Run the main job and store its results; raise BadInputError when nothing is usable.

    ``flows`` is the reading of ``paths`` when the caller started it early (a front end
    starts it before importing the database layer, see :mod:`medshield.ingest`).
    """
    options = options or AssessOptions()
    stream = flows
    if stream is None:
        stream = start_reading(paths, options.flows, background=options.background)
    try:
        with _few_collections():
            return _assess(stream, database, options, progress)
    finally:
        stream.close()


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
    flows: FlowStream,
    database: Database,
    options: AssessOptions,
    progress: Progress | None,
) -> AssessmentResult:
    credentials = DefaultCredentials.shipped()
    for path in options.credential_files:
        credentials = credentials.with_file(path)
    inventory = InventoryBuilder(rules=load_rules(options.rule_files))
    analyser = FlowAnalyser(inventory)
    summary = read_captures(flows, analyser, progress)
    if summary.packets == 0:
        reason = "; ".join(summary.unusable) or "no packets in " + ", ".join(summary.files)
        raise BadInputError(", ".join(summary.files), f"nothing usable: {reason}")
    index = inventory.build()
    context = PostureContext(index, analyser.observations, inventory.links, credentials)
    findings = run_checks(context)
    alerts = analyser.monitor.alerts(index.name_of)
    communications = analyser.communications()
    profiles = analyser.activity.profiles(lambda endpoint: _device_id(index, endpoint))
    assessment_id, new_alerts = _store(
        database, summary, index, findings, alerts, communications, profiles
    )
    with database.session() as session:
        devices = DeviceRepository(session).get_many(sorted(index.devices))
        vulns = assess_vulnerabilities(session, devices, findings, profiles)
        FindingRepository(session).merge(list(vulns.findings), assessment_id)
    findings = sorted(
        [*findings, *vulns.findings],
        key=lambda f: (f.severity.rank, f.kind.value, f.device, f.detail_key),
    )
    return AssessmentResult(
        assessment_id, summary, devices, findings, alerts, communications, vulns, new_alerts
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
) -> tuple[int, list[Alert]]:
    database.migrate()
    with database.session() as session:
        assessments = AssessmentRepository(session)
        assessment_id = assessments.start(summary.files, tool_version=__version__)
        DeviceRepository(session).merge(index.devices.values(), assessment_id=assessment_id)
        ActivityRepository(session).merge(profiles.values())
        CommunicationRepository(session).merge(communications)
        FindingRepository(session).merge(findings, assessment_id)
        new_alerts = AlertRepository(session).add_new(alerts, assessment_id)
        assessments.finish(
            assessment_id,
            packets=summary.packets,
            bytes=summary.bytes,
            flows=summary.flows,
            start=summary.start,
            end=summary.end,
        )
    return assessment_id, new_alerts
