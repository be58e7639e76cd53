"""Patch planning: when to patch each vulnerable device without interrupting care, in which
order, and which devices to isolate because no fix exists.

1. **Idle hours.** A device's hour of the week is *idle* when it was observed (captures covered
   at least ``min_observed_share`` of it, over all weeks observed) and its packet rate
   there is at most ``idle_share`` of the rate of its busiest hour. Hours never observed are
   unknown, never idle. Nothing is proposed before ``min_days`` days of observation: a quiet
   night seen once is not a pattern.
2. **Windows.** The next maintenance windows are the first runs of consecutive idle hours
   after ``now`` long enough for the device's category (``PlanSettings.window_hours``: an
   infusion pump needs one hour, an imaging modality four), searched over the week ahead.
3. **Order.** Devices with an exploited vulnerability (CISA KEV) first, then by the worst
   severity, then in the order of the remediation plan (risk removed × clinical criticality).
   A life-sustaining device is only ever proposed in its own learned idle windows, and always
   with the instruction to swap it for a spare or have clinical engineering present.
4. **Isolation.** A device with an affected advisory for which no fix exists (no fixed version,
   no vendor fix, or a "no fix planned"/end-of-life statement) gets a quarantine ACL suggestion:
   allow its observed peers, deny everything else (NIST SP 800-82r3 §6.2.1, segmentation of
   devices that cannot be patched; FDA "Cybersecurity in Medical Devices" 2023, legacy devices).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.table import Table

from medshield.core.device import Device
from medshield.core.enums import Criticality, DeviceCategory, Severity
from medshield.risk.activity import (
    HOURS_PER_WEEK,
    SECONDS_PER_HOUR,
    ActivityProfile,
    bucket_label,
    hour_of_week,
    local_hour,
)
from medshield.risk.remediation import RemediationItem
from medshield.vulns.matching import Match
from medshield.vulns.vex import AnalysisState

SCHEMA = "medshield.patch-plan/1"

DEFAULT_WINDOW_HOURS: Mapping[DeviceCategory, int] = {
    DeviceCategory.INFUSION_PUMP: 1,
    DeviceCategory.PATIENT_MONITOR: 1,
    DeviceCategory.MEDICAL_IOT_GATEWAY: 1,
    DeviceCategory.NETWORK_DEVICE: 1,
    DeviceCategory.PRINTER: 1,
    DeviceCategory.LAB_ANALYSER: 2,
    DeviceCategory.HL7_INTERFACE_ENGINE: 2,
    DeviceCategory.WORKSTATION: 2,
    DeviceCategory.SERVER: 2,
    DeviceCategory.UNKNOWN: 2,
    DeviceCategory.IMAGING_MODALITY: 4,
    DeviceCategory.PACS: 4,
}
"""Hours a firmware update takes, with reboot and checks, per device category."""

ACTIVE_STATES = frozenset({AnalysisState.AFFECTED, AnalysisState.IN_TRIAGE})
SWAP_NOTE = (
    "Life-sustaining: patch only in its idle window, after swapping it for a spare device "
    "or with clinical engineering present at the bedside."
)


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """Thresholds of the plan (operator-tunable)."""

    min_days: float = 7.0
    """Days of observation needed before idle hours are trusted (a week sees every hour)."""
    idle_share: float = 0.05
    """An hour is idle when its packet rate is at most this share of the busiest hour's."""
    min_observed_share: float = 0.5
    """Share of an hour of the week that captures must have covered before it is judged."""
    windows: int = 2
    """How many upcoming windows to propose per device."""
    utc_offset_hours: float = 0.0
    """The site's offset from UTC, for showing windows in local time."""
    window_hours: Mapping[DeviceCategory, int] = field(
        default_factory=lambda: dict(DEFAULT_WINDOW_HOURS)
    )


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """One proposed window: its next occurrence in UTC and how quiet the device is then."""

    start: float
    end: float
    start_bucket: int
    hours: int
    mean_rate: float
    """Packets per hour the device shows in these hours (compare ``DevicePlan.peak_rate``)."""

    def local_label(self, utc_offset_hours: float) -> str:
        """``Tue 02:00–03:00`` in the site's local time."""
        first = local_hour(self.start_bucket, utc_offset_hours)
        last = (first + self.hours) % HOURS_PER_WEEK
        end = bucket_label(last)[4:] if self.hours < 24 else bucket_label(last)
        return f"{bucket_label(first)}–{end}"


@dataclass(frozen=True, slots=True)
class QuarantineRule:
    """One line of a quarantine ACL: allow or deny traffic between two addresses."""

    action: str
    source: str
    destination: str
    note: str = ""

    def render(self) -> str:
        """``allow 192.0.2.10 <-> 192.0.2.20  # peer``: vendor-neutral, one rule per line."""
        arrow = "<->" if self.action == "allow" else "->"
        text = f"{self.action} {self.source} {arrow} {self.destination}"
        return f"{text}  # {self.note}" if self.note else text


@dataclass(frozen=True, slots=True)
class Isolation:
    """Why a device should be isolated, and the ACL that would do it."""

    reason: str
    rules: tuple[QuarantineRule, ...]


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """The plan for one device."""

    device: str
    label: str
    category: DeviceCategory
    criticality: Criticality
    priority: int
    """1 for the device to patch first."""
    kev: bool
    severity: Severity
    advisories: tuple[str, ...]
    actions: tuple[str, ...]
    evidence_days: float
    idle_hours: tuple[int, ...]
    """Idle UTC hours of the week."""
    peak_rate: float
    """Packets per hour in the device's busiest observed hour (what "idle" is relative to)."""
    windows: tuple[MaintenanceWindow, ...]
    notes: tuple[str, ...]
    isolation: Isolation | None


@dataclass(frozen=True, slots=True)
class PatchPlan:
    """Every vulnerable device's plan, first to patch first."""

    generated: float
    settings: PlanSettings
    devices: tuple[DevicePlan, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"schema": "medshield.patch-plan/1", …}``."""
        offset = self.settings.utc_offset_hours
        return {
            "schema": SCHEMA,
            "generated": _iso(self.generated),
            "min_days": self.settings.min_days,
            "utc_offset_hours": offset,
            "devices": [_device_json(plan, offset) for plan in self.devices],
        }

    def table(self) -> Table:
        """A Rich table: one row per device, in patch order."""
        offset = self.settings.utc_offset_hours
        zone = f"UTC{offset:+g}" if offset else "UTC"
        table = Table(title="Patch plan", box=box.SIMPLE_HEAD, show_lines=True)
        table.add_column("#", no_wrap=True)
        table.add_column("device", overflow="fold")
        table.add_column("advisories", no_wrap=True)
        table.add_column(f"next window ({zone})", overflow="fold")
        table.add_column("notes", overflow="fold", ratio=2)
        for plan in self.devices:
            windows = [w.local_label(offset) for w in plan.windows]
            notes = list(plan.notes)
            if plan.isolation is not None:
                notes.append(f"Isolate: {plan.isolation.reason}")
            advisories = list(plan.advisories) + (["KEV"] if plan.kev else [])
            table.add_row(
                str(plan.priority),
                f"{plan.device}\n{plan.label}\n{plan.criticality.value}",
                "\n".join(advisories),
                "\n".join(windows or ["none"]) + f"\n({plan.evidence_days:.1f} days observed)",
                "\n".join(notes),
            )
        return table


def idle_hours(profile: ActivityProfile, settings: PlanSettings) -> list[int]:
    """The idle UTC hours of the week of ``profile`` (none before ``min_days`` of evidence)."""
    days = profile.observed_days
    if days < settings.min_days or days <= 0:
        return []
    needed = settings.min_observed_share * SECONDS_PER_HOUR
    rates = {
        bucket: rate
        for bucket in range(HOURS_PER_WEEK)
        if profile.observed[bucket] >= needed and (rate := profile.rate(bucket)) is not None
    }
    if not rates:
        return []
    peak = max(rates.values())
    return sorted(b for b, rate in rates.items() if rate <= settings.idle_share * peak)


def next_windows(
    profile: ActivityProfile, hours: int, now: float, settings: PlanSettings
) -> list[MaintenanceWindow]:
    """The next ``settings.windows`` runs of ``hours`` idle hours starting after ``now``."""
    idle = set(idle_hours(profile, settings))
    if not idle or hours <= 0:
        return []
    first_hour = int(now // SECONDS_PER_HOUR) + 1
    windows: list[MaintenanceWindow] = []
    offset = 0
    while offset < HOURS_PER_WEEK and len(windows) < settings.windows:
        start_hour = first_hour + offset
        buckets = [hour_of_week((start_hour + i) * SECONDS_PER_HOUR) for i in range(hours)]
        if all(bucket in idle for bucket in buckets):
            rates = [profile.rate(bucket) or 0.0 for bucket in buckets]
            windows.append(
                MaintenanceWindow(
                    start=float(start_hour * SECONDS_PER_HOUR),
                    end=float((start_hour + hours) * SECONDS_PER_HOUR),
                    start_bucket=buckets[0],
                    hours=hours,
                    mean_rate=sum(rates) / len(rates),
                )
            )
            offset += hours
        else:
            offset += 1
    return windows


def plan_patches(
    devices: Iterable[Device],
    matches: Sequence[Match],
    profiles: Mapping[str, ActivityProfile],
    remediation: Sequence[RemediationItem],
    *,
    severities: Mapping[tuple[str, str], Severity] | None = None,
    no_fix: Mapping[tuple[str, str], str] | None = None,
    settings: PlanSettings | None = None,
    now: float,
) -> PatchPlan:
    """The plan for every device with an affected (or in-triage) advisory match.

    ``severities`` gives the finding severity of each (device, advisory) (KEV ⇒ critical);
    ``no_fix`` says why a (device, advisory) has no fix available.
    """
    settings = settings or PlanSettings()
    severities = severities or {}
    no_fix = no_fix or {}
    by_id = {device.id: device for device in devices}
    active: dict[str, list[Match]] = {}
    for match in matches:
        if match.state in ACTIVE_STATES and match.device in by_id:
            active.setdefault(match.device, []).append(match)
    order: dict[str, int] = {}
    items: dict[str, list[RemediationItem]] = {}
    for position, item in enumerate(remediation):
        order.setdefault(item.device, position)
        items.setdefault(item.device, []).append(item)
    addresses = _addresses(by_id.values())
    drafts = []
    for device_id, own in active.items():
        device = by_id[device_id]
        worst = min(
            (severities.get((device_id, m.advisory), Severity.MEDIUM) for m in own),
            key=lambda s: s.rank,
        )
        kev = any(m.kev for m in own)
        rank = (not kev, worst.rank, order.get(device_id, len(remediation)), device_id)
        drafts.append((rank, device, own, worst, kev))
    drafts.sort(key=lambda draft: draft[0])
    plans = tuple(
        _device_plan(
            device,
            own,
            priority,
            worst,
            kev,
            profiles.get(device.id),
            items.get(device.id, []),
            {m.advisory: no_fix[pair] for m in own if (pair := (device.id, m.advisory)) in no_fix},
            addresses,
            settings,
            now,
        )
        for priority, (_, device, own, worst, kev) in enumerate(drafts, start=1)
    )
    return PatchPlan(now, settings, plans)


def _device_plan(
    device: Device,
    matches: list[Match],
    priority: int,
    worst: Severity,
    kev: bool,
    profile: ActivityProfile | None,
    items: list[RemediationItem],
    unfixable: dict[str, str],
    addresses: Mapping[str, list[str]],
    settings: PlanSettings,
    now: float,
) -> DevicePlan:
    profile = profile or ActivityProfile(device.id)
    hours = settings.window_hours.get(device.category, 2)
    windows = next_windows(profile, hours, now, settings)
    days = profile.observed_days
    notes: list[str] = []
    life_sustaining = device.criticality is Criticality.LIFE_SUSTAINING
    if life_sustaining:
        notes.append(SWAP_NOTE)
    if days < settings.min_days:
        notes.append(
            f"Only {days:.1f} day(s) of traffic observed, {settings.min_days:g} needed to learn "
            "idle hours: "
            + (
                "do not patch in place until they are learned."
                if life_sustaining
                else "agree a time with the clinical department."
            )
        )
    elif not windows:
        notes.append(
            f"No run of {hours} idle hour(s) in {days:.1f} day(s) of traffic: the device is in "
            "use around the clock; schedule with the clinical department"
            + (" and a spare device." if life_sustaining else ".")
        )
    advisories = tuple(dict.fromkeys(m.advisory for m in matches))
    actions = tuple(dict.fromkeys(item.action for item in items if item.source in advisories))
    isolation = _isolation(device, unfixable, addresses) if unfixable else None
    return DevicePlan(
        device=device.id,
        label=_label(device),
        category=device.category,
        criticality=device.criticality,
        priority=priority,
        kev=kev,
        severity=worst,
        advisories=advisories,
        actions=actions,
        evidence_days=round(days, 2),
        idle_hours=tuple(idle_hours(profile, settings)),
        peak_rate=round(_peak(profile), 2),
        windows=tuple(windows),
        notes=tuple(notes),
        isolation=isolation,
    )


def _peak(profile: ActivityProfile) -> float:
    rates = [rate for b in range(HOURS_PER_WEEK) if (rate := profile.rate(b)) is not None]
    return max(rates, default=0.0)


def _label(device: Device) -> str:
    parts = [device.maker(), device.best("model")]
    firmware = device.best("firmware")
    if firmware:
        parts.append(f"firmware {firmware}")
    return " ".join(p for p in parts if p) or device.category.value


def _addresses(devices: Iterable[Device]) -> dict[str, list[str]]:
    return {device.id: sorted(device.ips) for device in devices}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _isolation(
    device: Device, unfixable: dict[str, str], addresses: Mapping[str, list[str]]
) -> Isolation:
    """Allow the device's observed peers only; deny the rest in both directions."""
    reason = "; ".join(f"{advisory}: {why}" for advisory, why in sorted(unfixable.items()))
    own = sorted(device.ips) or [device.id]
    rules: list[QuarantineRule] = []
    for peer in sorted(device.peers):
        peer_ips = addresses.get(peer) or ([peer] if _is_ip(peer) else [])
        for mine in own:
            for theirs in peer_ips:
                rules.append(QuarantineRule("allow", mine, theirs, f"observed peer {peer}"))
    for mine in own:
        rules.append(QuarantineRule("deny", mine, "any", "everything else from the device"))
        rules.append(QuarantineRule("deny", "any", mine, "everything else to the device"))
    return Isolation(reason, tuple(rules))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _device_json(plan: DevicePlan, offset: float) -> dict[str, Any]:
    return {
        "device": plan.device,
        "label": plan.label,
        "category": plan.category.value,
        "criticality": plan.criticality.value,
        "priority": plan.priority,
        "kev": plan.kev,
        "severity": plan.severity.value,
        "advisories": list(plan.advisories),
        "actions": list(plan.actions),
        "evidence_days": plan.evidence_days,
        "peak_packets_per_hour": plan.peak_rate,
        "idle_hours": [bucket_label(local_hour(b, offset)) for b in plan.idle_hours],
        "windows": [
            {
                "start": _iso(w.start),
                "end": _iso(w.end),
                "local": w.local_label(offset),
                "hours": w.hours,
                "packets_per_hour": round(w.mean_rate, 2),
            }
            for w in plan.windows
        ],
        "notes": list(plan.notes),
        "isolation": None
        if plan.isolation is None
        else {
            "reason": plan.isolation.reason,
            "rules": [rule.render() for rule in plan.isolation.rules],
        },
    }
