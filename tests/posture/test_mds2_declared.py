"""MDS2 declared vs observed: real workbooks against findings from real protocol bytes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from medshield.core.device import Evidence, device_id_for_mac
from medshield.core.enums import FindingKind
from medshield.core.finding import Finding
from medshield.inventory.builder import DeviceIndex
from medshield.posture.base import PostureContext, group_observations
from medshield.posture.cleartext_credentials import CHECK as CLEARTEXT_CREDENTIALS
from medshield.posture.cleartext_phi import CHECK as CLEARTEXT_PHI
from medshield.posture.default_credentials import CHECK as DEFAULT_CREDENTIALS
from medshield.posture.mds2_declared import declared_vs_observed
from medshield.protocols import hl7, telnet
from medshield.testing.flows import tcp_payload
from medshield.testing.mds2 import build_mds2
from medshield.testing.posture import CLIENT_MAC, SERVER_MAC, Scenario
from medshield.vulns.feeds.mds2 import load as load_mds2
from medshield.vulns.model import Mds2Form

MONITOR, GATEWAY = device_id_for_mac(CLIENT_MAC), device_id_for_mac(SERVER_MAC)
EVIDENCE = Evidence("test", 1.7e9, "set by the test")


def oru_with_pid() -> bytes:
    """An ORU^R01 (HL7 v2.5 §7.3.1) with a synthetic patient, framed in MLLP."""
    segments = [
        "MSH|^~\\&|MX800|ICU-3|ENGINE|HOSP|20240101120000||ORU^R01|MSG0001|P|2.5",
        "PID|1||TEST0001^^^HOSP^MR||DOE^JANE||19700101|F",
    ]
    return b"\x0b" + "\r".join(segments).encode() + b"\r\x1c\r"


def telnet_default_login() -> tuple[bytes, bytes]:
    """A technician logging in to a Digi gateway with its factory password."""
    server = b"\xff\xfb\x01Digi Connect ME\r\nlogin: root\r\nPassword: \r\n#> "
    client = b"r\x00o\x00o\x00t\x00\r\ndbps\r\n".replace(b"\x00", b"")
    return client, server


def observed(vendors: Mapping[str, tuple[str, str]]) -> tuple[DeviceIndex, list[Finding]]:
    """HL7 with PID from the monitor, a default telnet login on the gateway; the posture
    checks' findings; devices named as ``vendors`` says (device id → vendor, model)."""
    scenario = Scenario()
    scenario.flow(hl7.DISSECTOR, tcp_payload(oru_with_pid(), server_port=2575))
    client, server = telnet_default_login()
    scenario.flow(telnet.DISSECTOR, tcp_payload(client, server, server_port=23))
    index = scenario.builder.build()
    for device_id, (vendor, model) in vendors.items():
        index.devices[device_id].add_attribute("vendor", vendor, 1.0, EVIDENCE)
        index.devices[device_id].add_attribute("model", model, 1.0, EVIDENCE)
    context = PostureContext(
        index, group_observations(scenario.observations), scenario.builder.links
    )
    findings = [
        f
        for check in (CLEARTEXT_PHI, CLEARTEXT_CREDENTIALS, DEFAULT_CREDENTIALS)
        for f in check.run(context)
    ]
    return index, findings


def form(tmp_path: Path, name: str, **fields: object) -> Mds2Form:
    """An MDS2 workbook written and read back through the MDS2 feed."""
    path = build_mds2(tmp_path / f"{name}.xlsx", **fields)  # type: ignore[arg-type]
    (parsed,) = load_mds2(path).mds2_forms
    return parsed


def test_declared_encryption_contradicted_by_cleartext_hl7(tmp_path: Path) -> None:
    index, findings = observed({MONITOR: ("Philips Medical Systems", "IntelliVue MX800")})
    mds2 = form(
        tmp_path,
        "mx800",
        manufacturer="Philips",
        model="IntelliVue MX800",
        version="12.1.3",
        document_id="MDS2-MX800",
        answers={"TXCF-2": "Yes"},
    )
    (found,) = declared_vs_observed([mds2], index.devices.values(), findings)
    assert found.kind is FindingKind.CLEARTEXT_PHI and found.device == MONITOR
    assert found.evidence.startswith(
        "MDS2 declares personal data is encrypted before transmission (TXCF-2; Philips "
        "IntelliVue MX800 12.1.3, MDS2-MX800) but traffic shows cleartext-phi: HL7 ORU^R01"
    )
    assert "DOE" not in found.evidence  # the observed evidence was already redacted
    phi = next(f for f in findings if f.kind is FindingKind.CLEARTEXT_PHI)
    assert found.id != phi.id and found.severity is phi.severity


def test_a_form_declaring_no_encryption_or_another_model_says_nothing(tmp_path: Path) -> None:
    index, findings = observed({MONITOR: ("Philips", "IntelliVue MX800")})
    honest = form(tmp_path, "a", manufacturer="Philips", model="IntelliVue MX800",
                  answers={"TXCF-2": "No"})  # fmt: skip
    other_model = form(tmp_path, "b", manufacturer="Philips", model="IntelliVue MX450",
                       answers={"TXCF-2": "Yes"})  # fmt: skip
    other_vendor = form(tmp_path, "c", manufacturer="Draeger", model="IntelliVue MX800",
                        answers={"TXCF-2": "Yes"})  # fmt: skip
    forms = [honest, other_model, other_vendor]
    assert declared_vs_observed(forms, index.devices.values(), findings) == []


def test_restricted_accounts_contradicted_by_a_default_login(tmp_path: Path) -> None:
    index, findings = observed({GATEWAY: ("Digi International", "Connect ME")})
    mds2 = form(
        tmp_path,
        "digi",
        manufacturer="Digi International",
        model="Connect ME",
        answers={"SAHD-6": "Yes", "TXCF-2": "Yes"},
    )
    found = declared_vs_observed([mds2], index.devices.values(), findings)
    kinds = sorted(f.kind.value for f in found)
    assert kinds == ["cleartext-credentials", "weak-authentication"]
    weak = next(f for f in found if f.kind is FindingKind.WEAK_AUTHENTICATION)
    assert weak.device == GATEWAY
    assert "declares no default account is usable" in weak.evidence
    assert "(SAHD-6;" in weak.evidence and "but traffic shows default-credentials" in weak.evidence
    assert "dbps" not in " ".join(f.evidence for f in found)


def test_a_note_saying_no_default_accounts_is_a_declaration(tmp_path: Path) -> None:
    index, findings = observed({GATEWAY: ("Digi International", "Connect ME")})
    mds2 = form(
        tmp_path,
        "digi",
        manufacturer="Digi International",
        model="Connect ME",
        answers={"PAUT-4": "N/A"},
        notes={"PAUT-4": "The device ships with no default accounts."},
    )
    (found,) = declared_vs_observed([mds2], index.devices.values(), findings)
    assert found.kind is FindingKind.WEAK_AUTHENTICATION and "(PAUT-4;" in found.evidence


def test_its_own_findings_are_not_taken_as_observations(tmp_path: Path) -> None:
    index, findings = observed({MONITOR: ("Philips", "IntelliVue MX800")})
    mds2 = form(tmp_path, "mx", manufacturer="Philips", model="IntelliVue MX800",
                answers={"TXCF-2": "Yes"})  # fmt: skip
    first = declared_vs_observed([mds2], index.devices.values(), findings)
    again = declared_vs_observed([mds2], index.devices.values(), [*findings, *first])
    assert again == first
