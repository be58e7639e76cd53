"""Modbus Read Device Identification (Modbus Application Protocol v1.1b3 §6.21)."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.protocols.modbus import ModbusDeviceIdentification


class ModbusFingerprint(NoBindings):
    """VendorName, ProductCode/ModelName and MajorMinorRevision of a Modbus server."""

    name = "modbus"
    kinds = frozenset({ModbusDeviceIdentification.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Vendor, model and firmware objects 0x00–0x02, 0x07."""
        if not isinstance(observation, ModbusDeviceIdentification):
            return
        server = devices.by_endpoint(observation.server)
        ident = observation
        note(server, "manufacturer", ident.vendor_name, 0.85, ident, "MEI object VendorName")
        model = ident.model_name or ident.product_code
        note(server, "model", model, 0.85, ident, "MEI object ModelName/ProductCode")
        note(server, "firmware", ident.revision, 0.85, ident, "MEI object MajorMinorRevision")


FINGERPRINT = ModbusFingerprint()
