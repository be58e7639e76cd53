"""DICOM upper layer from modalities to the PACS (simulate/dicom.py)."""

from __future__ import annotations

import itertools
import random
from io import BytesIO

from pydicom.filereader import read_dataset
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ, P_DATA_TF

from medshield.core.enums import FindingKind
from medshield.simulate import dicom
from medshield.simulate.facts import Identifier, Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode, facts_of


def test_association_request_names_both_ae_titles(simulation: Simulation) -> None:
    ct, pacs = simulation.hospital.one(Role.CT_SCANNER), simulation.hospital.one(Role.PACS)
    request = A_ASSOCIATE_RQ()
    request.decode(dicom.associate_rq(ct, pacs))
    assert request.calling_ae_title == dicom.ae_title(ct)
    assert request.called_ae_title == pacs.product.dicom_ae_prefix
    abstract = [str(c.abstract_syntax) for c in request.presentation_context]
    assert abstract == [dicom.VERIFICATION, dicom.STORAGE_CLASSES["CT"]]
    assert request.user_information.implementation_class_uid == ct.product.dicom_implementation_uid
    accept = A_ASSOCIATE_AC()
    accept.decode(dicom.associate_ac(ct, pacs))
    assert [c.result for c in accept.presentation_context] == [0, 0]


def test_patched_templates_equal_fresh_library_encodings(simulation: Simulation) -> None:
    ct = simulation.hospital.one(Role.CT_SCANNER)
    base = f"{dicom.UID_ROOT}.9.9.9"
    study = dicom.study_dataset(
        ct, random.Random(1), f"{base}.1", f"{base}.2", ("20240304", "0800")
    )
    templates = dicom.StudyTemplates(ct, study, base, 1024)
    for number in (2, 17, 99):
        uid = dicom.instance_uid(base, number)
        header = dicom.image_header(ct, study, uid, number, 1024)
        expected_first = dicom.store_rq(number, study.SOPClassUID, uid) + dicom.p_data(
            dicom.STORE_CONTEXT, dicom.DATASET_MORE, header
        )
        expected_rsp = dicom.store_rsp(number, study.SOPClassUID, uid)
        assert templates.image(number) == (expected_first, expected_rsp)


def test_dataset_carries_the_equipment_module(simulation: Simulation) -> None:
    mr = simulation.hospital.one(Role.MR_SCANNER)
    base = f"{dicom.UID_ROOT}.9.9.8"
    study = dicom.study_dataset(
        mr, random.Random(2), f"{base}.1", f"{base}.2", ("20240304", "0800")
    )
    header = dicom.image_header(mr, study, dicom.instance_uid(base, 1), 1, 0)
    dataset = read_dataset(BytesIO(header), is_implicit_VR=True, is_little_endian=True)
    assert dataset.Manufacturer == mr.product.manufacturer
    assert dataset.ManufacturerModelName == mr.product.model
    assert dataset.SoftwareVersions == mr.product.firmware
    assert dataset.DeviceSerialNumber == mr.serial
    assert dataset.StationName == mr.hostname.upper()
    assert dataset.Modality == "MR"
    assert dataset.PatientID.startswith("MRN")


def test_pixel_stream_is_cached_and_fits_the_pdu_limit(simulation: Simulation) -> None:
    length, segments = dicom.pixel_stream(simulation.context, "CT")
    assert dicom.pixel_stream(simulation.context, "CT")[1] is segments
    stream = b"".join(payload for payload, _ in segments)
    pdus, at = [], 0
    while at < len(stream):
        size = int.from_bytes(stream[at + 2 : at + 6], "big") + 6
        pdu = P_DATA_TF()
        pdu.decode(stream[at : at + size])
        pdus.append(pdu)
        at += size
    fragments = [p.presentation_data_value_items[0].data[1:] for p in pdus]  # after the header
    assert all(len(fragment) <= dicom.MAX_PDU - 6 for fragment in fragments)
    flags = [p.presentation_data_value_items[0].message_control_header_byte for p in pdus]
    assert flags[-1] == "00000010" and set(flags[:-1]) == {"00000000"}
    assert sum(len(fragment) for fragment in fragments) == length


def test_modality_traffic_echoes_then_stores_a_study(simulation: Simulation) -> None:
    hospital = simulation.hospital
    ct, pacs = hospital.one(Role.CT_SCANNER), hospital.one(Role.PACS)
    items = list(
        itertools.islice(dicom.modality_traffic(simulation.context, ct, pacs, early=True), 3000)
    )
    frames = [decode(item) for item in items]
    tcp = [f.data.data for f in frames if f.type == 0x0800]
    pdu_types = [bytes(t.data)[0] for t in tcp if t.data and t.dport in (104, 11112)]
    assert pdu_types[:3] == [0x01, 0x04, 0x05]  # A-ASSOCIATE-RQ, C-ECHO-RQ, A-RELEASE-RQ
    full = [t for t in tcp if len(t.data) == 1460]
    assert len(full) > 300
    facts = facts_of(items)
    assert Identifier(ct.id, "dicom_ae", dicom.ae_title(ct)) in facts
    assert Identifier(pacs.id, "dicom_ae", pacs.product.dicom_ae_prefix) in facts
    assert any(
        isinstance(f, Risk) and f.kind is FindingKind.CLEARTEXT_PHI and f.device == ct.id
        for f in facts
    )
