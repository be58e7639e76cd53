"""Fingerprints: one module per signal, listed explicitly in :func:`default_fingerprints`."""

from __future__ import annotations

from medshield.core.registry import Registry
from medshield.inventory.fingerprints.base import Fingerprint


def default_fingerprints() -> Registry[Fingerprint]:
    """Every fingerprint MedShield ships."""
    from medshield.inventory.fingerprints import (
        banners,
        dhcp,
        dicom,
        discovery,
        hl7,
        http,
        modbus,
        mqtt,
        snmp,
        tls,
    )

    registry: Registry[Fingerprint] = Registry("fingerprint")
    for module in (dhcp, http, dicom, hl7, mqtt, tls, snmp, banners, modbus, discovery):
        registry.register(module.FINGERPRINT.name, module.FINGERPRINT)
    return registry
