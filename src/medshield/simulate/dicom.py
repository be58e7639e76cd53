"""DICOM upper layer: modalities verifying and storing studies on the PACS (DICOM PS3.8, PS3.7).

An association is A-ASSOCIATE-RQ/AC (PS3.8 §9.3.2–9.3.3), DIMSE messages in P-DATA-TF PDUs
(§9.3.5, command sets per PS3.7 §9.3: C-ECHO, C-STORE), then A-RELEASE-RQ/RP (§9.3.6–9.3.7)
and the requestor closing the transport. PDUs are encoded with :mod:`pynetdicom.pdu`, command
sets with :mod:`pynetdicom.dimse_messages` and datasets with pydicom, all Implicit VR Little
Endian.

Pixel data dominates the byte count. Its P-DATA-TF stream is identical for every image of a
modality type, so it is encoded and cut into TCP segments once per run and reused.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Iterator, Sequence
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.dimse_messages import C_ECHO_RQ, C_ECHO_RSP, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ, A_RELEASE_RP, A_RELEASE_RQ, P_DATA_TF
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    P_DATA,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between
from medshield.simulate.facts import Identifier, Risk, communication, software
from medshield.simulate.patients import new_patient
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import Chunk, TcpConnection, chunks
from medshield.simulate.wire import US, Item, Steps

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
STORAGE_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
}
IMAGE_SIZE = {"CT": (512, 512), "MR": (256, 256)}
IMAGES_PER_STUDY = {"CT": (20, 60), "MR": (30, 80)}
"""Images per study; at most 99 so that Instance Number keeps two characters."""
UID_ROOT = "1.2.826.0.1.3680043.8.498"
"""pydicom's registered root for generated UIDs (PS3.5 §9)."""
MAX_PDU = 16384
ECHO_CONTEXT = 1
STORE_CONTEXT = 3
COMMAND_LAST = 0x03
DATASET_MORE = 0x00
DATASET_LAST = 0x02
INSTITUTION = "Simulated General Hospital"


def ae_title(device: SimDevice) -> str:
    """The modality's calling AE title (PS3.8 §9.3.2: up to 16 characters)."""
    return f"{device.product.dicom_ae_prefix}{device.hostname[-2:]}"[:16]


def _contexts(storage_class: str) -> list[PresentationContext]:
    echo = PresentationContext()
    echo.context_id = ECHO_CONTEXT
    echo.abstract_syntax = VERIFICATION
    echo.transfer_syntax = [IMPLICIT_VR_LE]
    store = PresentationContext()
    store.context_id = STORE_CONTEXT
    store.abstract_syntax = storage_class
    store.transfer_syntax = [IMPLICIT_VR_LE, EXPLICIT_VR_LE]
    return [echo, store]


def _user_information(device: SimDevice) -> list[Any]:
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = MAX_PDU
    klass = ImplementationClassUIDNotification()
    klass.implementation_class_uid = device.product.dicom_implementation_uid
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = device.product.dicom_implementation_version
    return [maximum, klass, version]


def associate_rq(modality: SimDevice, pacs: SimDevice) -> bytes:
    """A-ASSOCIATE-RQ proposing Verification and the modality's storage class (§9.3.2)."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = ae_title(modality)
    primitive.called_ae_title = pacs.product.dicom_ae_prefix
    primitive.user_information = _user_information(modality)
    primitive.presentation_context_definition_list = _contexts(
        STORAGE_CLASSES[modality.product.dicom_modality]
    )
    return bytes(A_ASSOCIATE_RQ(primitive).encode())


def associate_ac(modality: SimDevice, pacs: SimDevice) -> bytes:
    """A-ASSOCIATE-AC accepting both contexts with Implicit VR Little Endian (§9.3.3)."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = ae_title(modality)
    primitive.called_ae_title = pacs.product.dicom_ae_prefix
    primitive.result = 0
    primitive.user_information = _user_information(pacs)
    accepted = []
    for proposed in _contexts(STORAGE_CLASSES[modality.product.dicom_modality]):
        context = PresentationContext()
        context.context_id = proposed.context_id
        context.abstract_syntax = proposed.abstract_syntax
        context.transfer_syntax = [IMPLICIT_VR_LE]
        context.result = 0
        accepted.append(context)
    primitive.presentation_context_definition_results_list = accepted
    return bytes(A_ASSOCIATE_AC(primitive).encode())


def p_data(context_id: int, control: int, fragment: bytes) -> bytes:
    """A P-DATA-TF PDU carrying one PDV (§9.3.5, message control header §E.2)."""
    primitive = P_DATA()
    primitive.presentation_data_value_list = [[context_id, bytes((control,)) + fragment]]  # type: ignore[list-item]
    return bytes(P_DATA_TF(primitive).encode())


def _command(message: object) -> bytes:
    """Implicit VR Little Endian encoding of a DIMSE command set (PS3.7 §6.3.1)."""
    encoded = encode(message.command_set, True, True)  # type: ignore[attr-defined]
    if encoded is None:  # pragma: no cover - pydicom encodes every command set we build
        raise ValueError("command set could not be encoded")
    return bytes(encoded)


def echo_rq(message_id: int) -> bytes:
    """C-ECHO-RQ (PS3.7 §9.3.5.1) as a P-DATA-TF PDU."""
    primitive = C_ECHO()
    primitive.MessageID = message_id
    primitive.AffectedSOPClassUID = VERIFICATION
    message = C_ECHO_RQ()
    message.primitive_to_message(primitive)
    return p_data(ECHO_CONTEXT, COMMAND_LAST, _command(message))


def echo_rsp(message_id: int) -> bytes:
    """C-ECHO-RSP with status Success (PS3.7 §9.3.5.2)."""
    primitive = C_ECHO()
    primitive.MessageIDBeingRespondedTo = message_id
    primitive.AffectedSOPClassUID = VERIFICATION
    primitive.Status = 0x0000
    message = C_ECHO_RSP()
    message.primitive_to_message(primitive)
    return p_data(ECHO_CONTEXT, COMMAND_LAST, _command(message))


def store_rq(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    """C-STORE-RQ command (PS3.7 §9.3.1.1) as a P-DATA-TF PDU."""
    primitive = C_STORE()
    primitive.MessageID = message_id
    primitive.AffectedSOPClassUID = sop_class
    primitive.AffectedSOPInstanceUID = sop_instance
    primitive.Priority = 0
    primitive.DataSet = BytesIO(b"")
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    return p_data(STORE_CONTEXT, COMMAND_LAST, _command(message))


def store_rsp(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    """C-STORE-RSP with status Success (PS3.7 §9.3.1.2)."""
    primitive = C_STORE()
    primitive.MessageIDBeingRespondedTo = message_id
    primitive.AffectedSOPClassUID = sop_class
    primitive.AffectedSOPInstanceUID = sop_instance
    primitive.Status = 0x0000
    message = C_STORE_RSP()
    message.primitive_to_message(primitive)
    return p_data(STORE_CONTEXT, COMMAND_LAST, _command(message))


def image_header(
    modality: SimDevice,
    study: Dataset,
    sop_instance: str,
    instance_number: int,
    pixel_length: int,
) -> bytes:
    """The dataset of one image up to and including the Pixel Data element's tag and length.

    The values an inventory reads are here: Manufacturer (0008,0070), StationName (0008,1010),
    ManufacturerModelName (0008,1090), DeviceSerialNumber (0018,1000), SoftwareVersions
    (0018,1020), Modality (0008,0060) and the patient module (PS3.3 C.7.1.1).
    """
    image = Dataset()
    image.update(study)
    image.SOPInstanceUID = sop_instance
    image.InstanceNumber = instance_number
    encoded = encode(image, True, True)
    if encoded is None:  # pragma: no cover - every attribute above has a valid value
        raise ValueError("image dataset could not be encoded")
    return bytes(encoded) + struct.pack("<HHI", 0x7FE0, 0x0010, pixel_length)


def study_dataset(
    modality: SimDevice, rng: random.Random, study_uid: str, series_uid: str, stamp: tuple[str, str]
) -> Dataset:
    """Attributes shared by every image of a study (patient, study, series, equipment)."""
    product = modality.product
    kind = product.dicom_modality
    rows, columns = IMAGE_SIZE[kind]
    patient = new_patient(rng)
    ds = Dataset()
    ds.SOPClassUID = STORAGE_CLASSES[kind]
    ds.StudyDate, ds.StudyTime = stamp
    ds.AccessionNumber = f"ACC{rng.randrange(10**7, 10**8)}"
    ds.Modality = kind
    ds.Manufacturer = product.manufacturer
    ds.InstitutionName = INSTITUTION
    ds.StationName = modality.hostname.upper()
    ds.StudyDescription = rng.choice(("CHEST", "HEAD", "ABDOMEN PELVIS", "SPINE"))
    ds.ManufacturerModelName = product.model
    ds.PatientName = patient.dicom_name
    ds.PatientID = patient.mrn
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.DeviceSerialNumber = modality.serial
    ds.SoftwareVersions = product.firmware
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = str(rng.randrange(1000, 9999))
    ds.SeriesNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    return ds


def pixel_stream(ctx: Context, kind: str) -> tuple[int, list[Chunk]]:
    """Pixel-data P-DATA-TF PDUs of one image of ``kind``, cut into TCP segments (cached).

    Returns the pixel data length and the segments. Fragments are at most the PACS's maximum
    PDU length less the 6-byte PDV header (PS3.8 §9.3.5.1).
    """
    key = f"dicom-pixels/{kind}"
    cached = ctx.caches.entries.get(key)
    if cached is None:
        rows, columns = IMAGE_SIZE[kind]
        pixels = ctx.rng("pixels", kind).randbytes(rows * columns * 2)
        size = MAX_PDU - 6
        pdus = []
        for start in range(0, len(pixels), size):
            last = start + size >= len(pixels)
            control = DATASET_LAST if last else DATASET_MORE
            pdus.append(p_data(STORE_CONTEXT, control, pixels[start : start + size]))
        cached = (len(pixels), chunks(b"".join(pdus)))
        ctx.caches.entries[key] = cached
    return cached  # type: ignore[return-value]


class _Association:
    """One TCP connection and association from a modality to the PACS."""

    def __init__(self, modality: SimDevice, pacs: SimDevice, rng: random.Random, port: int) -> None:
        self.modality = modality
        self.pacs = pacs
        self.rng = rng
        self.port = modality.product.dicom_port
        self.conn = TcpConnection(
            modality.nic,
            pacs.nic,
            port,
            self.port,
            rng,
            client_window=modality.product.stack.window,
            server_window=pacs.product.stack.window,
        )

    def associate(self, t: int) -> Steps:
        """TCP handshake, A-ASSOCIATE-RQ and the PACS's A-ASSOCIATE-AC."""
        comm = communication(self.modality.nic, self.pacs.nic, self.port, "tcp", "dicom")
        t = yield from self.conn.open(t, (comm,))
        calling = Identifier(self.modality.id, "dicom_ae", ae_title(self.modality))
        called = Identifier(self.pacs.id, "dicom_ae", self.pacs.product.dicom_ae_prefix)
        t = yield from self.conn.send(
            self.conn.client, t + 300, associate_rq(self.modality, self.pacs), facts=(calling,)
        )
        return (
            yield from self.conn.send(
                self.conn.server,
                t + self.rng.randrange(500, 3000),
                associate_ac(self.modality, self.pacs),
                facts=(called, *software(self.pacs, "dicom")),
            )
        )

    def request(
        self, t: int, pdus: bytes | Sequence[Chunk], facts: tuple[object, ...] = ()
    ) -> Steps:
        """PDUs from the modality (requestor)."""
        return (yield from self.conn.send(self.conn.client, t, pdus, facts=facts))

    def respond(self, t: int, pdu: bytes) -> Steps:
        """A PDU from the PACS (acceptor)."""
        return (yield from self.conn.send(self.conn.server, t, pdu))

    def release(self, t: int) -> Steps:
        """A-RELEASE-RQ/RP, then the requestor closes the transport (PS3.8 §7.2)."""
        t = yield from self.request(t, bytes(A_RELEASE_RQ().encode()))
        t = yield from self.respond(
            t + self.rng.randrange(300, 1500), bytes(A_RELEASE_RP().encode())
        )
        return (yield from self.conn.close(self.conn.client, t + self.rng.randrange(200, 900)))


def _echo(assoc: _Association, t: int) -> Steps:
    """Verification: associate, C-ECHO-RQ/RSP, release."""
    t = yield from assoc.associate(t)
    t = yield from assoc.request(t + assoc.rng.randrange(200, 2000), echo_rq(1))
    t = yield from assoc.respond(t + assoc.rng.randrange(300, 1500), echo_rsp(1))
    return (yield from assoc.release(t + assoc.rng.randrange(500, 3000)))


def instance_uid(base: str, number: int) -> str:
    """SOP Instance UID of image ``number`` (1–99): fixed width within a study."""
    return f"{base}.3.{1000 + number}"


def _value_offset(encoded: bytes, group: int, element: int, length: int) -> int:
    """Offset of an element's value in Implicit VR Little Endian bytes (PS3.5 §7.1.3)."""
    header = struct.pack("<HHI", group, element, length)
    at = encoded.find(header)
    if at < 0:  # pragma: no cover - the templates always hold these elements
        raise ValueError(f"element ({group:04X},{element:04X}) not found")
    return at + len(header)


class StudyTemplates:
    """The PDUs of a study's first image, encoded by pynetdicom/pydicom, patched per image.

    Every image of a study differs only in Message ID, SOP Instance UID (fixed width, see
    :func:`instance_uid`) and Instance Number (two characters up to 99), so patching those
    bytes gives what the libraries would encode for that image, without re-encoding.
    """

    def __init__(self, modality: SimDevice, study: Dataset, base: str, pixel_length: int) -> None:
        self.base = base
        self.sop_class = str(study.SOPClassUID)
        self.first_uid = instance_uid(base, 1).encode()
        uid = instance_uid(base, 1)
        self.rq = store_rq(1, self.sop_class, uid)
        self.rsp = store_rsp(1, self.sop_class, uid)
        self.header = p_data(
            STORE_CONTEXT, DATASET_MORE, image_header(modality, study, uid, 1, pixel_length)
        )
        self._rq_id = _value_offset(self.rq, 0x0000, 0x0110, 2)
        self._rsp_id = _value_offset(self.rsp, 0x0000, 0x0120, 2)
        self._instance = _value_offset(self.header, 0x0020, 0x0013, 2)

    def image(self, number: int) -> tuple[bytes, bytes]:
        """(C-STORE-RQ command and dataset-header PDUs, C-STORE-RSP PDU) of image ``number``."""
        uid = instance_uid(self.base, number).encode()
        message_id = struct.pack("<H", number)
        rq = bytearray(self.rq.replace(self.first_uid, uid))
        rq[self._rq_id : self._rq_id + 2] = message_id
        header = bytearray(self.header.replace(self.first_uid, uid))
        header[self._instance : self._instance + 2] = f"{number:<2}".encode()
        rsp = bytearray(self.rsp.replace(self.first_uid, uid))
        rsp[self._rsp_id : self._rsp_id + 2] = message_id
        return bytes(rq + header), bytes(rsp)


def _store_study(ctx: Context, assoc: _Association, t: int, study_number: int) -> Steps:
    modality = assoc.modality
    rng = assoc.rng
    kind = modality.product.dicom_modality
    base = f"{UID_ROOT}.{ctx.seed}.{modality.index}.{study_number}"
    stamp = _dicom_stamp(t)
    study = study_dataset(modality, rng, f"{base}.1", f"{base}.2", stamp)
    pixel_length, pixels = pixel_stream(ctx, kind)
    templates = StudyTemplates(modality, study, base, pixel_length)
    low, high = IMAGES_PER_STUDY[kind]
    t = yield from assoc.associate(t)
    for number in range(1, rng.randrange(low, high + 1) + 1):
        facts: tuple[object, ...] = ()
        if study_number == 0 and number == 1:
            facts = (
                Risk(
                    FindingKind.CLEARTEXT_PHI,
                    modality.id,
                    f"DICOM C-STORE with patient data to {assoc.pacs.ip_text}:{assoc.port} "
                    "without TLS",
                ),
                *software(modality, "dicom"),
            )
        first, response = templates.image(number)
        t = yield from assoc.request(t + rng.randrange(1500, 9000), first, facts)
        # Straight to the connection: the pixel stream is most of the run's packets.
        t = yield from assoc.conn.send(assoc.conn.client, t + 12, pixels)
        t = yield from assoc.respond(t + rng.randrange(800, 6000), response)
    return (yield from assoc.release(t + rng.randrange(500, 3000)))


def _dicom_stamp(ts_us: int) -> tuple[str, str]:
    moment = time.gmtime(ts_us // US)
    return time.strftime("%Y%m%d", moment), time.strftime("%H%M%S", moment)


def modality_traffic(
    ctx: Context, modality: SimDevice, pacs: SimDevice, *, early: bool = False, arp: bool = True
) -> Iterator[Item]:
    """A modality's day: a C-ECHO at start-up and every ten minutes, a study every 5–15 minutes.

    With ``early`` (the site's first modality of its kind) the first study starts within half a
    minute, so that even a short capture shows a C-STORE.
    """
    rng = ctx.rng("dicom", modality.index)
    ports = EphemeralPorts(rng)
    t = ctx.ready(modality) + between(rng, 2.0, 8.0)
    if arp:
        yield from arp_resolve(t, modality.nic, pacs.nic)
        t += 2000
    t = yield from _echo(_Association(modality, pacs, rng, ports.take()), t)
    next_echo = t + 600 * US
    next_study = t + (between(rng, 5.0, 30.0) if early else between(rng, 20.0, 240.0))
    study_number = 0
    while True:
        if next_echo < next_study:
            if next_echo >= ctx.end_us:
                return
            assoc = _Association(modality, pacs, rng, ports.take())
            t = yield from _echo(assoc, max(next_echo, t + US))
            next_echo = t + 600 * US
            continue
        if next_study >= ctx.end_us:
            return
        assoc = _Association(modality, pacs, rng, ports.take())
        t = yield from _store_study(ctx, assoc, max(next_study, t + US), study_number)
        study_number += 1
        next_study = t + between(rng, 300.0, 900.0)
