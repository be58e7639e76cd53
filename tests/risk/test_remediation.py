"""Prioritised remediation list."""

from __future__ import annotations

from medshield.core.enums import Criticality, FindingKind
from medshield.risk.remediation import group_actions, remediation_plan

from .conftest import make_device, make_finding, make_match


def test_actions_rank_by_risk_removed_weighted_by_criticality() -> None:
    pump = make_device("pump", Criticality.LIFE_SUSTAINING)
    printer = make_device("printer", Criticality.LOW)
    matches = [
        make_match("pump", "ICSMA-A", cvss=9.8, kev=True),
        make_match("printer", "ICSMA-A", cvss=9.8, kev=True),
        make_match("pump", "ICSMA-B", cvss=4.0, fixed_in=None),
    ]
    findings = [
        make_finding("pump", FindingKind.FLAT_NETWORK, "Move the pump to the infusion VLAN"),
        make_finding("printer", FindingKind.INSECURE_PROTOCOL, "Disable telnet"),
    ]
    plan = remediation_plan([printer, pump], matches, findings)
    first, second = plan[0], plan[1]
    # Fixing ICSMA-A removes 34 (CVSS 9.8) + 15 (KEV) on both, minus what ICSMA-B keeps (14).
    assert (first.device, first.source, first.reduces_by) == ("pump", "ICSMA-A", 34 + 15 - 14)
    assert (second.device, second.source) == ("printer", "ICSMA-A")
    assert second.reduces_by == 34 + 15
    assert first.action == "Update Example Pump to 2.0 or later"
    by_source = {(i.device, i.source): i for i in plan}
    assert by_source[("pump", "ICSMA-B")].reduces_by == 0
    assert by_source[("pump", "ICSMA-B")].action.startswith("Apply the vendor mitigations")
    assert by_source[("pump", "flat-network")].reduces_by == 5
    assert by_source[("printer", "insecure-protocol")].action == "Disable telnet"
    # The pump's 35 points count double (life-sustaining), the printer's 49 once.
    assert (first.priority, second.priority) == (70.0, 49.0)
    priorities = [i.priority for i in plan]
    assert priorities == sorted(priorities, reverse=True)


def test_grouped_actions_cover_the_fleet() -> None:
    pumps = [make_device(f"pump-{n}", Criticality.HIGH) for n in range(3)]
    matches = [make_match(p.id, "ICSMA-A", cvss=6.0) for p in pumps]
    plan = remediation_plan(pumps, matches, [])
    (group,) = group_actions(plan)
    assert group.devices == ("pump-0", "pump-1", "pump-2")
    assert group.reduces_by == 3 * round(35 * 0.6)
