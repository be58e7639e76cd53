"""DICOM upper layer dissector: PDUs encoded by pynetdicom, data sets by pydicom, and the nDPI
DICOM capture compared with tshark."""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
)
from pynetdicom.dimse_messages import C_ECHO_RQ, C_ECHO_RSP, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import (
    A_ABORT_RQ,
    A_ASSOCIATE_AC,
    A_ASSOCIATE_RJ,
    A_ASSOCIATE_RQ,
    A_RELEASE_RP,
    A_RELEASE_RQ,
    P_DATA_TF,
)
from pynetdicom.pdu_primitives import (
    A_ABORT,
    A_ASSOCIATE,
    A_P_ABORT,
    A_RELEASE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
    UserIdentityNegotiation,
)
from pynetdicom.presentation import build_context

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols import dicom
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import PREFIX_BYTES, read_flow_payloads

# --- PDUs encoded by pynetdicom (PS3.8 §9.3) -------------------------------------------

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
"""Verification SOP Class UID (PS3.4 A.4)."""
T = TypeVar("T")


def associate(*, user_identity: bool = True) -> A_ASSOCIATE:
    """An A-ASSOCIATE request primitive from a CT scanner to a PACS."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = "CT_SCANNER_01"
    primitive.called_ae_title = "PACS"
    contexts = []
    for context_id, sop_class in ((1, CTImageStorage), (3, MRImageStorage), (5, VERIFICATION)):
        context = build_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        context.context_id = context_id
        contexts.append(context)
    primitive.presentation_context_definition_list = contexts
    primitive.user_information = user_information(user_identity)
    return primitive


def user_information(user_identity: bool) -> list[Any]:
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 16384
    class_uid = ImplementationClassUIDNotification()
    class_uid.implementation_class_uid = "1.2.826.0.1.3680043.9.9999"
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = "SCANNER_4_2"
    items: list[Any] = [maximum, class_uid, version]
    if user_identity:
        identity = UserIdentityNegotiation()
        identity.user_identity_type = 2
        identity.primary_field = b"tech"
        identity.secondary_field = b"s3cret"
        items.append(identity)
    return items


def associate_rq() -> bytes:
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(associate())
    return bytes(pdu.encode())


def associate_ac(transfer_syntax: str = ExplicitVRLittleEndian) -> bytes:
    primitive = associate(user_identity=False)
    primitive.result = 0
    results = []
    for context_id, sop_class, result in (
        (1, CTImageStorage, 0),
        (3, MRImageStorage, 3),
        (5, VERIFICATION, 0),
    ):
        context = build_context(sop_class, [transfer_syntax])
        context.context_id = context_id
        context.result = result
        results.append(context)
    primitive.presentation_context_definition_results_list = results
    pdu = A_ASSOCIATE_AC()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def p_data(message: Any, context_id: int, max_pdu: int) -> bytes:
    """P-DATA-TF PDUs of a DIMSE message, fragmented to ``max_pdu``."""
    stream = b""
    for primitive in message.encode_msg(context_id, max_pdu):
        pdu = P_DATA_TF()
        pdu.from_primitive(primitive)
        stream += pdu.encode()
    return stream


def ct_dataset() -> Dataset:
    """A CT image with equipment attributes and patient attributes."""
    dataset = Dataset()
    dataset.SOPClassUID = CTImageStorage
    dataset.SOPInstanceUID = "1.2.826.0.1.3680043.9.9999.1.2.3"
    dataset.Modality = "CT"
    dataset.Manufacturer = "ACME Medical"
    dataset.InstitutionName = "General Hospital"
    dataset.StationName = "CTROOM2"
    dataset.ManufacturerModelName = "Tomograph 9000"
    dataset.PatientName = "DOE^JANE"
    dataset.PatientID = "MRN-55501"
    dataset.PatientBirthDate = "19700101"
    dataset.DeviceSerialNumber = "SN-0042"
    dataset.SoftwareVersions = ["VA40", "syngo 2.1"]
    procedure = Dataset()
    procedure.CodeValue = "CTHEAD"
    dataset.ProcedureCodeSequence = [procedure]
    dataset.add_new(0x7FE00010, "OB", b"\x00" * 20000)
    return dataset


def c_store_rq(transfer_syntax: str, context_id: int = 1, max_pdu: int = 128) -> bytes:
    implicit = transfer_syntax == ImplicitVRLittleEndian
    encoded = encode(ct_dataset(), implicit, True)
    assert encoded is not None
    if transfer_syntax == DeflatedExplicitVRLittleEndian:
        deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        encoded = deflater.compress(encoded) + deflater.flush()
    request = C_STORE()
    request.MessageID = 7
    request.AffectedSOPClassUID = CTImageStorage
    request.AffectedSOPInstanceUID = "1.2.826.0.1.3680043.9.9999.1.2.3"
    request.Priority = 2
    request.DataSet = BytesIO(encoded)
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    return p_data(message, context_id, max_pdu)


def c_store_rsp() -> bytes:
    response = C_STORE()
    response.MessageIDBeingRespondedTo = 7
    response.AffectedSOPClassUID = CTImageStorage
    response.AffectedSOPInstanceUID = "1.2.826.0.1.3680043.9.9999.1.2.3"
    response.Status = 0xA700
    message = C_STORE_RSP()
    message.primitive_to_message(response)
    return p_data(message, 1, 16384)


def release(response: bool) -> bytes:
    primitive = A_RELEASE()
    if response:
        primitive.result = "affirmative"
    pdu = A_RELEASE_RP() if response else A_RELEASE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def of_type(observations: Sequence[Observation], kind: type[T]) -> list[T]:
    return [o for o in observations if isinstance(o, kind)]


def test_associate_request() -> None:
    (request,) = dicom.dissect(tcp_payload(associate_rq(), server_port=104))

    assert isinstance(request, dicom.DicomAssociationRequest)
    assert (request.calling_ae, request.called_ae) == ("CT_SCANNER_01", "PACS")
    assert request.protocol_version == 1
    assert request.application_context == APPLICATION_CONTEXT
    assert [(c.context_id, c.abstract_syntax) for c in request.presentation_contexts] == [
        (1, CTImageStorage),
        (3, MRImageStorage),
        (5, VERIFICATION),
    ]
    assert request.presentation_contexts[0].transfer_syntaxes == (
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
    )
    assert request.max_pdu_length == 16384
    assert request.implementation_class_uid == "1.2.826.0.1.3680043.9.9999"
    assert request.implementation_version_name == "SCANNER_4_2"
    assert request.user_identity_type == 2
    assert request.user_identity_name == "username-passcode"
    assert not request.tls
    assert not request.truncated
    assert "s3cret" not in repr(request)


def test_associate_accept_with_results() -> None:
    observations = dicom.dissect(tcp_payload(associate_rq(), associate_ac(), server_port=104))

    (accept,) = of_type(observations, dicom.DicomAssociationAccept)
    assert isinstance(accept, dicom.DicomAssociationAccept)
    assert [(c.context_id, c.result_name) for c in accept.presentation_contexts] == [
        (1, "acceptance"),
        (3, "abstract-syntax-not-supported"),
        (5, "acceptance"),
    ]
    assert accept.presentation_contexts[0].transfer_syntaxes == (ExplicitVRLittleEndian,)
    assert accept.implementation_version_name == "SCANNER_4_2"
    assert accept.max_pdu_length == 16384
    assert accept.called_ae == "PACS"


def test_associate_reject() -> None:
    primitive = A_ASSOCIATE()
    primitive.result = 0x01
    primitive.result_source = 0x01
    primitive.diagnostic = 0x07
    pdu = A_ASSOCIATE_RJ()
    pdu.from_primitive(primitive)

    observations = dicom.dissect(tcp_payload(associate_rq(), pdu.encode(), server_port=104))

    (reject,) = of_type(observations, dicom.DicomAssociationReject)
    assert isinstance(reject, dicom.DicomAssociationReject)
    assert (reject.result_name, reject.source_name, reject.reason_name) == (
        "rejected-permanent",
        "service-user",
        "called-AE-title-not-recognized",
    )


def test_release_and_abort() -> None:
    user_abort = A_ABORT()
    user_abort.abort_source = 0
    provider_abort = A_P_ABORT()
    provider_abort.provider_reason = 2
    aborts = []
    for primitive in (user_abort, provider_abort):
        pdu = A_ABORT_RQ()
        pdu.from_primitive(primitive)
        aborts.append(pdu.encode())

    observations = dicom.dissect(
        tcp_payload(associate_rq() + release(False) + aborts[0], release(True) + aborts[1])
    )

    releases = of_type(observations, dicom.DicomRelease)
    assert [(r.direction, r.response) for r in releases] == [
        (Direction.CLIENT_TO_SERVER, False),
        (Direction.SERVER_TO_CLIENT, True),
    ]
    found = of_type(observations, dicom.DicomAbort)
    assert [(a.direction, a.source_name) for a in found] == [
        (Direction.CLIENT_TO_SERVER, "service-user"),
        (Direction.SERVER_TO_CLIENT, "service-provider"),
    ]
    assert found[1].reason_name == "unexpected-PDU"


def test_c_echo() -> None:
    request = C_ECHO()
    request.MessageID = 1
    request.AffectedSOPClassUID = VERIFICATION
    echo_rq = C_ECHO_RQ()
    echo_rq.primitive_to_message(request)
    response = C_ECHO()
    response.MessageIDBeingRespondedTo = 1
    response.AffectedSOPClassUID = VERIFICATION
    response.Status = 0x0000
    echo_rsp = C_ECHO_RSP()
    echo_rsp.primitive_to_message(response)

    observations = dicom.dissect(
        tcp_payload(
            associate_rq() + p_data(echo_rq, 5, 16384),
            associate_ac() + p_data(echo_rsp, 5, 16384),
            server_port=104,
        )
    )

    commands = of_type(observations, dicom.DicomCommand)
    assert [(c.command, c.direction, c.status) for c in commands] == [
        ("C-ECHO-RQ", Direction.CLIENT_TO_SERVER, None),
        ("C-ECHO-RSP", Direction.SERVER_TO_CLIENT, 0),
    ]
    assert commands[0].affected_sop_class_uid == VERIFICATION
    assert not commands[0].has_data_set


@pytest.mark.parametrize(
    "transfer_syntax",
    [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian],
)
def test_c_store_device_attributes(transfer_syntax: str) -> None:
    client = associate_rq() + c_store_rq(transfer_syntax)
    server = associate_ac(transfer_syntax) + c_store_rsp()

    observations = dicom.dissect(tcp_payload(client[:PREFIX_BYTES], server, server_port=104))

    request, response = of_type(observations, dicom.DicomCommand)
    assert isinstance(request, dicom.DicomCommand)
    assert isinstance(response, dicom.DicomCommand)
    assert (request.command, request.message_id, request.context_id) == ("C-STORE-RQ", 7, 1)
    assert request.affected_sop_class_uid == CTImageStorage
    assert request.has_data_set
    assert (response.command, response.message_id_responded, response.status) == (
        "C-STORE-RSP",
        7,
        0xA700,
    )
    (dataset,) = of_type(observations, dicom.DicomDataset)
    assert isinstance(dataset, dicom.DicomDataset)
    assert dataset.transfer_syntax == transfer_syntax
    assert dataset.sop_class_uid == CTImageStorage
    assert dataset.modality == "CT"
    assert dataset.manufacturer == "ACME Medical"
    assert dataset.model_name == "Tomograph 9000"
    assert dataset.software_versions == ("VA40", "syngo 2.1")
    assert dataset.device_serial_number == "SN-0042"
    assert dataset.station_name == "CTROOM2"
    assert dataset.institution_name == "General Hospital"
    assert dataset.carries_phi
    assert dataset.patient_attributes == ("PatientName", "PatientID", "PatientBirthDate")
    # 20 kB of zero Pixel Data deflate to a few bytes: only then does the prefix hold it all.
    assert dataset.truncated == (transfer_syntax != DeflatedExplicitVRLittleEndian)
    for secret in ("DOE", "MRN-55501", "19700101", "1.2.826.0.1.3680043.9.9999.1.2.3"):
        assert secret not in repr(observations)


def test_data_set_cut_inside_an_element() -> None:
    client = associate_rq() + c_store_rq(ExplicitVRLittleEndian)
    cut = client.index(b"Tomograph") + 4

    observations = dicom.dissect(tcp_payload(client[:cut], associate_ac(), server_port=104))

    (dataset,) = of_type(observations, dicom.DicomDataset)
    assert isinstance(dataset, dicom.DicomDataset)
    assert dataset.manufacturer == "ACME Medical"
    assert dataset.model_name == ""
    assert dataset.truncated


def test_transfer_syntax_is_sniffed_without_the_accept() -> None:
    client = associate_rq() + c_store_rq(ImplicitVRLittleEndian)
    observations = dicom.dissect(tcp_payload(client[:PREFIX_BYTES], server_port=104))

    (dataset,) = of_type(observations, dicom.DicomDataset)
    assert isinstance(dataset, dicom.DicomDataset)
    assert dataset.transfer_syntax == ImplicitVRLittleEndian
    assert dataset.manufacturer == "ACME Medical"


def test_truncated_associate_request_keeps_whole_items() -> None:
    stream = associate_rq()
    cut = stream.index(MRImageStorage.encode()) + 3

    (request,) = dicom.dissect(tcp_payload(stream[:cut], server_port=104))

    assert isinstance(request, dicom.DicomAssociationRequest)
    assert request.truncated
    assert [c.context_id for c in request.presentation_contexts] == [1]
    assert request.implementation_class_uid == ""


def test_probe() -> None:
    assert dicom.probe(associate_rq())
    assert not dicom.probe(associate_ac())
    assert not dicom.probe(b"\x01\x00\x00\x00\x00\x44\x00\x02")
    assert not dicom.probe(b"GET / HTTP/1.1\r\n")


@pytest.mark.parametrize(
    "stream",
    [
        b"\x09\x00\x00\x00\x00\x04\x00\x00\x00\x00",
        b"\x01\x00\x00\x00\x00\x04\x00\x01\x00\x00",
        b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x01\x01\x03",
        b"\x05\x00\x00\x00\x00\x06" + bytes(6),
        b"GET / HTTP/1.1\r\n\r\n",
    ],
)
def test_malformed_input_raises_dissector_error(stream: bytes) -> None:
    with pytest.raises(DissectorError, match="dicom flow 1"):
        dicom.dissect(tcp_payload(stream, server_port=104))


def test_hostile_command_set_raises_dissector_error() -> None:
    command = b"\x00\x00\x00\x01\xff\xff\xff\x7f"
    pdv = (len(command) + 2).to_bytes(4, "big") + b"\x01\x03" + command
    stream = b"\x04\x00" + len(pdv).to_bytes(4, "big") + pdv
    with pytest.raises(DissectorError, match="command set"):
        dicom.dissect(tcp_payload(stream, server_port=104))


# --- the nDPI capture, compared with tshark ------------------------------------------


def tshark_associations(tshark: str, capture: Path) -> dict[int, dict[str, list[str]]]:
    """Per client port: the A-ASSOCIATE-RQ fields tshark decodes (whole PDUs only)."""
    fields = [
        "tcp.srcport",
        "dicom.assoc.ae.calling",
        "dicom.assoc.ae.called",
        "dicom.actx",
        "dicom.pctx.abss.syntax",
        "dicom.userinfo.uid",
        "dicom.userinfo.version",
        "dicom.max_pdu_len",
    ]
    output = subprocess.run(
        [tshark, "-r", str(capture), "-Y", "dicom.pdu.type == 1", "-T", "fields"]
        + ["-E", "separator=\t", "-E", "aggregator=|", "-E", "occurrence=a"]
        + [arg for name in fields for arg in ("-e", name)],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    found: dict[int, dict[str, list[str]]] = {}
    for line in output.splitlines():
        values = line.split("\t")
        found[int(values[0])] = {
            name: values[i].split("|") if values[i] else [] for i, name in enumerate(fields)
        }
    return found


def uid_of(label: str) -> str:
    """The UID in a tshark label such as ``CT Image Storage (1.2.840.10008.5.1.4.1.1.2)``."""
    return label.rsplit("(", 1)[-1].rstrip(")") if label.endswith(")") else label


@pytest.mark.tshark
def test_ndpi_capture_matches_tshark(tshark: str) -> None:
    capture = require_shared("pcap/medical/ndpi/dicom.pcap")
    expected = tshark_associations(tshark, capture)
    requests = []
    for flow in read_flow_payloads(capture):
        (request,) = dicom.dissect(flow)
        assert isinstance(request, dicom.DicomAssociationRequest)
        assert request.client is not None
        requests.append(request)
        decoded = expected[request.client.port]
        assert request.calling_ae == decoded["dicom.assoc.ae.calling"][0].strip()
        assert request.called_ae == decoded["dicom.assoc.ae.called"][0].strip()
        assert request.application_context == uid_of(decoded["dicom.actx"][0])
        tshark_syntaxes = [uid_of(label) for label in decoded["dicom.pctx.abss.syntax"]]
        mine = [c.abstract_syntax for c in request.presentation_contexts]
        assert mine == tshark_syntaxes[: len(mine)]
        if request.truncated:
            assert flow.client_truncated
            assert 0 < len(mine) < len(tshark_syntaxes)
        else:
            assert mine == tshark_syntaxes
            assert request.implementation_class_uid == decoded["dicom.userinfo.uid"][0]
            assert request.implementation_version_name == decoded["dicom.userinfo.version"][0]
            assert request.max_pdu_length == int(decoded["dicom.max_pdu_len"][0])
    assert len(requests) == len(expected) == 4
    assert {(r.calling_ae, r.called_ae) for r in requests} == {
        ("testclient", "testserver"),
        ("bogus_local", "bogus_remote"),
    }


# --- hostile input ---------------------------------------------------------------------

FUZZ = settings(
    max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
CLIENT_SEEDS = (
    associate_rq() + c_store_rq(ExplicitVRLittleEndian, max_pdu=512)[:4000],
    associate_rq() + c_store_rq(ImplicitVRLittleEndian, max_pdu=300)[:4000],
)
SERVER_SEEDS = (associate_ac() + c_store_rsp(), associate_ac(ImplicitVRLittleEndian))


def payload(client: bytes, server: bytes = b"") -> FlowPayload:
    return tcp_payload(client, server, server_port=104)


@FUZZ
@given(st.binary(max_size=2048), st.binary(max_size=512))
def test_random_bytes_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(dicom.dissect, payload(client, server))
    header = b"\x01\x00\x00\x00\x01\x00\x00\x01"
    dissect_or_reject(dicom.dissect, payload(header + client, b"\x04\x00" + server))


@FUZZ
@given(mutated(*CLIENT_SEEDS), mutated(*SERVER_SEEDS))
def test_mutated_pdus_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(dicom.dissect, payload(client, server))
