"""Patch planning: idle hours from activity, windows per category, order, isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rich.console import Console

from medshield.core.device import Device
from medshield.core.enums import Criticality, DeviceCategory, Severity
from medshield.risk.activity import HOURS_PER_WEEK, ActivityProfile, bucket_label, hour_of_week
from medshield.risk.patch_plan import (
    SCHEMA,
    PlanSettings,
    idle_hours,
    next_windows,
    plan_patches,
)
from medshield.risk.remediation import remediation_plan
from medshield.vulns.vex import AnalysisState

from .conftest import make_match

MONDAY = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
HOUR = 3600.0
DAY = 24 * HOUR


def clinic_profile(
    device: str, days: int, quiet: range = range(6), start: float = MONDAY
) -> ActivityProfile:
    """Busy 08–20, some traffic in the evening, near silence in the ``quiet`` hours (UTC)."""
    profile = ActivityProfile(device)
    for day in range(days):
        for hour in range(24):
            at = start + day * DAY + hour * HOUR
            packets = 2 if hour in quiet else 1000 if 8 <= hour < 20 else 300
            profile.add_flow(at + 60, at + 3000, packets)
    profile.observe(start, start + days * DAY)
    return profile


def pump(device_id: str, criticality: Criticality = Criticality.HIGH) -> Device:
    return Device(
        device_id,
        None,
        MONDAY,
        MONDAY + DAY,
        ips={f"192.0.2.{len(device_id)}"},
        category=DeviceCategory.INFUSION_PUMP,
        criticality=criticality,
    )


def test_idle_hours_are_the_quiet_hours_once_a_week_is_observed() -> None:
    profile = clinic_profile("p", days=7)
    idle = idle_hours(profile, PlanSettings())
    assert idle == sorted(day * 24 + hour for day in range(7) for hour in range(6))


def test_no_idle_hours_before_enough_days_of_evidence() -> None:
    profile = clinic_profile("p", days=3)
    assert idle_hours(profile, PlanSettings()) == []
    # With a lower bar, only the hours of the observed days can be idle; the rest is unknown.
    idle = idle_hours(profile, PlanSettings(min_days=3))
    assert idle == sorted(day * 24 + hour for day in range(3) for hour in range(6))


def test_an_hour_busier_than_the_threshold_is_not_idle() -> None:
    profile = clinic_profile("p", days=7)
    assert idle_hours(profile, PlanSettings(idle_share=0.001)) == []
    assert len(idle_hours(profile, PlanSettings(idle_share=0.5))) == 7 * 12  # 00–08 and 20–24


def test_next_windows_follow_now_and_fit_the_category_length() -> None:
    profile = clinic_profile("p", days=7)
    tuesday_ten = MONDAY + DAY + 10 * HOUR
    settings = PlanSettings()
    one_hour = next_windows(profile, 1, tuesday_ten, settings)
    assert [bucket_label(w.start_bucket) for w in one_hour] == ["Wed 00:00", "Wed 01:00"]
    assert one_hour[0].start == MONDAY + 2 * DAY and one_hour[0].end == one_hour[0].start + HOUR
    four_hours = next_windows(profile, 4, tuesday_ten, settings)
    assert [(bucket_label(w.start_bucket), w.hours) for w in four_hours] == [
        ("Wed 00:00", 4),
        ("Thu 00:00", 4),  # the next run of four idle hours after the first window
    ]
    assert next_windows(profile, 7, tuesday_ten, settings) == []  # the quiet run is six hours
    assert all(w.mean_rate < 5 for w in four_hours)


def test_windows_run_across_the_end_of_the_week() -> None:
    profile = clinic_profile("p", days=7, quiet=range(0))
    # Quiet only from Sunday 22:00 to Monday 02:00 UTC.
    for bucket in (166, 167, 0, 1):
        profile.packets[bucket] = 1.0
    sunday_noon = MONDAY + 6 * DAY + 12 * HOUR
    # One such run per week: the week ahead holds a single window.
    (window,) = next_windows(profile, 4, sunday_noon, PlanSettings())
    assert window.start_bucket == 166 and hour_of_week(window.end - 1) == 1
    assert window.local_label(0) == "Sun 22:00–02:00"
    assert window.local_label(1) == "Sun 23:00–03:00"


def test_plan_orders_kev_first_then_severity_and_isolates_unfixable_devices() -> None:
    devices = [pump("mac-a"), pump("mac-bb", Criticality.LIFE_SUSTAINING), pump("mac-ccc")]
    devices[1].peers = {"mac-ccc", "203.0.113.9"}
    matches = [
        make_match("mac-a", "ICSMA-1", cvss=9.8),
        make_match("mac-bb", "ICSMA-2", cvss=5.0, fixed_in=None),
        make_match("mac-ccc", "ICSMA-3", cvss=6.0, kev=True),
        make_match("mac-ccc", "ICSMA-4", cvss=9.0, state=AnalysisState.NOT_AFFECTED),
    ]
    profiles = {
        "mac-a": clinic_profile("mac-a", days=7),
        "mac-bb": clinic_profile("mac-bb", days=8),
        "mac-ccc": clinic_profile("mac-ccc", days=2),
    }
    active = [m for m in matches if m.state is not AnalysisState.NOT_AFFECTED]
    plan = plan_patches(
        devices,
        matches,
        profiles,
        remediation_plan(devices, active, []),
        severities={
            ("mac-a", "ICSMA-1"): Severity.CRITICAL,
            ("mac-bb", "ICSMA-2"): Severity.MEDIUM,
            ("mac-ccc", "ICSMA-3"): Severity.CRITICAL,
        },
        no_fix={("mac-bb", "ICSMA-2"): "no fix planned (no_fix_planned)"},
        now=MONDAY + 7 * DAY + 9 * HOUR,
    )
    assert [p.device for p in plan.devices] == ["mac-ccc", "mac-a", "mac-bb"]
    assert [p.priority for p in plan.devices] == [1, 2, 3]
    kev, critical, life = plan.devices
    assert kev.kev and kev.advisories == ("ICSMA-3",)  # the not-affected advisory is left out
    assert kev.windows == () and "2.0 day(s)" in kev.notes[0]
    assert critical.windows and critical.windows[0].hours == 1 and critical.isolation is None
    assert critical.actions == ("Update Example Pump to 2.0 or later",)
    assert life.windows and any("spare" in note for note in life.notes)
    assert life.isolation is not None and "no_fix_planned" in life.isolation.reason
    rules = [rule.render() for rule in life.isolation.rules]
    assert "allow 192.0.2.6 <-> 192.0.2.7  # observed peer mac-ccc" in rules
    assert "allow 192.0.2.6 <-> 203.0.113.9  # observed peer 203.0.113.9" in rules
    assert rules[-2:] == [
        "deny 192.0.2.6 -> any  # everything else from the device",
        "deny any -> 192.0.2.6  # everything else to the device",
    ]


def test_a_life_sustaining_device_without_learned_hours_is_not_given_a_window() -> None:
    device = pump("mac-a", Criticality.LIFE_SUSTAINING)
    busy = ActivityProfile("mac-a")
    for hour in range(HOURS_PER_WEEK):
        busy.add_flow(MONDAY + hour * HOUR, MONDAY + hour * HOUR + 10, 500)
    busy.observe(MONDAY, MONDAY + 7 * DAY)
    plan = plan_patches([device], [make_match("mac-a")], {"mac-a": busy}, [], now=MONDAY + 7 * DAY)
    (only,) = plan.devices
    assert only.windows == () and only.idle_hours == ()
    assert any("around the clock" in note and "spare" in note for note in only.notes)
    missing = plan_patches([device], [make_match("mac-a")], {}, [], now=MONDAY)
    assert "do not patch in place" in missing.devices[0].notes[-1]


def test_plan_json_and_table() -> None:
    device = pump("mac-a")
    plan = plan_patches(
        [device],
        [make_match("mac-a")],
        {"mac-a": clinic_profile("mac-a", days=7)},
        [],
        settings=PlanSettings(utc_offset_hours=1.0),
        now=MONDAY + 7 * DAY + 12 * HOUR,
    )
    document = json.loads(json.dumps(plan.to_json()))
    assert document["schema"] == SCHEMA and document["utc_offset_hours"] == 1.0
    (entry,) = document["devices"]
    assert entry["device"] == "mac-a" and entry["evidence_days"] == 7.0
    assert entry["windows"][0]["start"] == "2024-01-09T00:00:00Z"
    assert entry["windows"][0]["local"] == "Tue 01:00–02:00"
    assert entry["idle_hours"][0] == "Mon 01:00"  # local time, UTC+1
    assert entry["isolation"] is None
    console = Console(record=True, width=160)
    console.print(plan.table())
    text = console.export_text()
    assert "mac-a" in text and "Tue 01:00–02:00" in text and "7.0 days observed" in text
