"""DICOM (PS3.8 §9.3, PS3.3 C.7.5.1): AE titles, toolkits, and the equipment module."""

from __future__ import annotations

from medshield.core.device import Device, Software
from medshield.core.enums import Direction
from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.inventory.fingerprints.software import split_product
from medshield.protocols.dicom import (
    DicomAssociationAccept,
    DicomAssociationRequest,
    DicomDataset,
)


def _implementation(device: Device | None, version_name: str, class_uid: str) -> None:
    """The DICOM toolkit named by the Implementation Version Name (PS3.7 D.3.3.2)."""
    if device is None or not version_name:
        return
    found = split_product(version_name)
    name, version = found if found else (version_name, class_uid)
    device.add_software(Software(name, version, "dicom-implementation"))


class DicomFingerprint(NoBindings):
    """Associations name both AEs and their toolkits; C-STORE data sets the equipment."""

    name = "dicom"
    kinds = frozenset(
        {DicomAssociationRequest.kind, DicomAssociationAccept.kind, DicomDataset.kind}
    )

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Route by observation type."""
        if isinstance(observation, DicomAssociationRequest):
            self._request(observation, devices)
        elif isinstance(observation, DicomAssociationAccept):
            server = devices.by_endpoint(observation.server)
            _implementation(
                server,
                observation.implementation_version_name,
                observation.implementation_class_uid,
            )
        elif isinstance(observation, DicomDataset):
            self._dataset(observation, devices)

    @staticmethod
    def _request(rq: DicomAssociationRequest, devices: Resolver) -> None:
        client = devices.by_endpoint(rq.client)
        server = devices.by_endpoint(rq.server)
        note(client, "dicom_ae", rq.calling_ae, 0.9, rq, f"calling AE {rq.calling_ae!r}")
        note(server, "dicom_ae", rq.called_ae, 0.7, rq, f"called AE {rq.called_ae!r}")
        _implementation(client, rq.implementation_version_name, rq.implementation_class_uid)

    @staticmethod
    def _dataset(ds: DicomDataset, devices: Resolver) -> None:
        from_client = ds.direction == Direction.CLIENT_TO_SERVER
        sender = devices.by_endpoint(ds.client if from_client else ds.server)
        note(sender, "manufacturer", ds.manufacturer, 0.9, ds, f"Manufacturer {ds.manufacturer!r}")
        note(sender, "model", ds.model_name, 0.95, ds, f"ManufacturerModelName {ds.model_name!r}")
        serial = ds.device_serial_number
        note(sender, "serial", serial, 0.95, ds, "DeviceSerialNumber (0018,1000)")
        note(sender, "station_name", ds.station_name, 0.9, ds, "StationName (0008,1010)")
        note(sender, "dicom_modality", ds.modality, 0.95, ds, f"Modality {ds.modality!r}")
        for version in ds.software_versions:
            note(sender, "firmware", version, 0.9, ds, f"SoftwareVersions {version!r}")
            if sender is not None and version:
                product = ds.model_name or ds.manufacturer or "DICOM equipment"
                sender.add_software(Software(product, version, "dicom-software-versions"))


FINGERPRINT = DicomFingerprint()
