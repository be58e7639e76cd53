"""Category and criticality from the shipped YAML rules and a hospital's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield.core.device import Device, Evidence
from medshield.core.enums import Criticality, DeviceCategory
from medshield.core.errors import BadInputError
from medshield.inventory.classification import Facts, load_rules


def _device(**attributes: str) -> Device:
    device = Device("mac-000000000001", "00:00:00:00:00:01", 1.0, 2.0)
    for name, value in attributes.items():
        device.add_attribute(name, value, 0.9, Evidence("test", 1.0, "given"))
    return device


def _classify(
    device: Device, serves: set[str] | None = None, uses: set[str] | None = None, *, gateway=False
) -> Device:
    roles = {"serves": serves or set(), "uses": uses or set()}
    load_rules().classify(device, Facts.of(device, roles, gateway))
    return device


def test_pump_vendor_with_telemetry_is_life_sustaining_pump() -> None:
    device = _classify(_device(vendor="Baxter Healthcare"), uses={"mqtt"})
    assert device.category is DeviceCategory.INFUSION_PUMP
    assert device.criticality is Criticality.LIFE_SUSTAINING
    evidence = device.attributes["category"]["infusion pump"].evidence[0].detail
    assert "pump-vendor-telemetry" in evidence and "Baxter" in evidence


def test_pump_vendor_without_telemetry_is_not_a_pump() -> None:
    device = _classify(_device(vendor="Baxter Healthcare"))
    assert device.category is not DeviceCategory.INFUSION_PUMP


def test_dicom_store_of_ct_is_modality_and_its_server_is_pacs() -> None:
    modality = _classify(_device(dicom_modality="CT"), uses={"dicom"})
    pacs = _classify(_device(), serves={"dicom"})
    assert modality.category is DeviceCategory.IMAGING_MODALITY
    assert pacs.category is DeviceCategory.PACS
    assert pacs.criticality is Criticality.HIGH


def test_hl7_server_is_interface_engine() -> None:
    assert _classify(_device(), serves={"hl7"}).category is DeviceCategory.HL7_INTERFACE_ENGINE


def test_monitor_sending_vitals() -> None:
    device = _classify(_device(vendor="Philips Patient Monitoring", hl7_message_type="ORU^R01"))
    assert device.category is DeviceCategory.PATIENT_MONITOR


def test_gateway_is_network_device_and_windows_dhcp_is_workstation() -> None:
    assert _classify(_device(), gateway=True).category is DeviceCategory.NETWORK_DEVICE
    workstation = _classify(_device(dhcp_vendor_class="MSFT 5.0"), uses={"dns"})
    assert workstation.category is DeviceCategory.WORKSTATION


def test_nothing_known_is_unknown_low() -> None:
    device = _classify(_device())
    assert device.category is DeviceCategory.UNKNOWN
    assert device.criticality is Criticality.LOW


def test_hospital_rule_file_overrides_shipped_rule(tmp_path: Path) -> None:
    own = tmp_path / "rules.yaml"
    own.write_text(
        "rules:\n"
        "  - id: our-lab-bridge\n"
        "    category: lab analyser\n"
        "    confidence: 0.95\n"
        "    when:\n"
        "      hostname: '^labbridge-'\n"
    )
    device = _device(hostname="labbridge-07", dhcp_vendor_class="MSFT 5.0")
    load_rules([own]).classify(device, Facts.of(device, {}, False))
    assert device.category is DeviceCategory.LAB_ANALYSER


@pytest.mark.parametrize(
    "text",
    [
        "rules: [\n",
        "- just a list\n",
        "rules:\n  - id: x\n    category: toaster\n    when: {vendor: a}\n",
        "rules:\n  - id: x\n    category: printer\n    when: {vendor: '('}\n",
    ],
)
def test_broken_rule_files_name_the_file(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(BadInputError, match=r"bad\.yaml"):
        load_rules([bad])
