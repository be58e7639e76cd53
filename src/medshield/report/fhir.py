"""The inventory as FHIR R4 ``Device`` resources in a ``collection`` Bundle.

Mapping (HL7 FHIR R4 §8.14 Device): MAC address and serial number as identifiers (MAC under
the IEEE EUI-48 system), ``manufacturer`` from the vendor, ``deviceName`` model and
user-friendly names, ``modelNumber``, ``serialNumber``, ``version`` for firmware and each
software component, ``type`` the MedShield category, ``property`` the clinical criticality
and the IP addresses. Resources are validated with ``fhir.resources`` (its R4B models, whose
Device is the R4 Device).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from medshield.core.device import Device
from medshield.report.document import iso

MAC_SYSTEM = "urn:ietf:rfc:7042"
"""EUI-48 addresses (RFC 7042 registers the IEEE 802 identifier space for IETF use)."""
CATEGORY_SYSTEM = "urn:medshield:device-category"
PROPERTY_SYSTEM = "urn:medshield:device-property"


def _identifiers(device: Device) -> list[dict[str, Any]]:
    identifiers: list[dict[str, Any]] = []
    if device.mac:
        identifiers.append({"system": MAC_SYSTEM, "value": device.mac})
    serial = device.best("serial")
    if serial:
        identifiers.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "SNO",
                        }
                    ]
                },
                "value": serial,
            }
        )
    return identifiers


def _names(device: Device) -> list[dict[str, str]]:
    names = [{"name": model, "type": "model-name"} for model in device.values("model")[:1]]
    names += [
        {"name": host, "type": "user-friendly-name"} for host in device.values("hostname")[:1]
    ]
    return names


def _versions(device: Device) -> list[dict[str, Any]]:
    versions: list[dict[str, Any]] = []
    firmware = device.best("firmware")
    if firmware:
        versions.append({"type": {"text": "firmware"}, "value": firmware})
    versions += [
        {"type": {"text": f"{s.name} (seen in {s.source})"}, "value": s.version}
        for s in device.software
    ]
    return versions


def _properties(device: Device) -> list[dict[str, Any]]:
    properties: list[dict[str, Any]] = [
        {
            "type": {"coding": [{"system": PROPERTY_SYSTEM, "code": "clinical-criticality"}]},
            "valueCode": [{"text": device.criticality.value}],
        }
    ]
    if device.ips:
        properties.append(
            {
                "type": {"coding": [{"system": PROPERTY_SYSTEM, "code": "ip-address"}]},
                "valueCode": [{"text": ip} for ip in sorted(device.ips)],
            }
        )
    return properties


def device_resource(device: Device) -> dict[str, Any]:
    """One inventory device as a FHIR Device resource (a plain dict)."""
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": device.id,
        "status": "active",
        "type": {
            "coding": [{"system": CATEGORY_SYSTEM, "code": device.category.value}],
            "text": device.category.value,
        },
        "property": _properties(device),
        "note": [
            {"text": f"First seen {iso(device.first_seen)}, last seen {iso(device.last_seen)}."}
        ],
    }
    optional = {
        "identifier": _identifiers(device),
        "manufacturer": device.best("vendor"),
        "deviceName": _names(device),
        "modelNumber": device.best("model"),
        "serialNumber": device.best("serial"),
        "version": _versions(device),
    }
    resource.update({key: value for key, value in optional.items() if value})
    return resource


def inventory_bundle(devices: list[Device]) -> dict[str, Any]:
    """A validated FHIR ``collection`` Bundle of every device."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:medshield:device:{d.id}", "resource": device_resource(d)}
            for d in devices
        ],
    }
    validated: dict[str, Any] = Bundle.model_validate(bundle).model_dump(
        mode="json", exclude_none=True
    )
    return validated
