"""HL7 v2 dissector: messages built per HL7 v2.5 ch. 2, and the nDPI HL7 capture vs tshark."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import hl7 as hl7_reference
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.registry import Registry
from medshield.protocols import hl7
from medshield.protocols.base import Dissector
from medshield.protocols.registry import dissectors_for
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import read_flow_payloads

# --- messages built per HL7 v2.5 chapter 2 -------------------------------------------


def mllp(*messages: str) -> bytes:
    """MLLP release 2 blocks: <SB> message <EB><CR>."""
    return b"".join(b"\x0b" + m.encode() + b"\x1c\r" for m in messages)


ORU_R01 = "\r".join(
    [
        "MSH|^~\\&|MONITOR^1.2.840.10004.1.1.1.0.0.1.0.0.1.2680^ISO|ICU-3|HIS|GENERAL HOSP|"
        "20240102101112||ORU^R01^ORU_R01|MSG00042|P|2.6|||NE|AL||UNICODE UTF-8",
        "PID|||555-44-3333^^^MRN||DOE^JANE||19700101|F",
        "PV1||I|ICU^1^2||||||||||||||||V9999",
        "OBR|1||7788|69837^MDC_OBS_PHYSIO^MDC",
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|262688^MDC_DIM_PERCENT^MDC|||||F|||"
        "20240102101110||||0012345678ABCDEF^EUI-64~IF-77^DEVICES^1.2.3^ISO",
        "PRT|1|UC||OP^Observation Participant^HL70912||||||MON-0042^ACME^1.3.6.1.4.1.9^ISO"
        "||||||(01)00812345678906(21)SN42^^2.16.840.1.113883.3.3719^ISO",
        "",
    ]
)
ADT_A01 = "\r".join(
    [
        "MSH|^~\\&|ADT1|MCM|LABADT|MCM|198808181126|SECURITY|ADT^A01|MSG00001|P|2.5",
        "EVN|A01|198808181123",
        "PID|1||PATID1234^5^M11^ADT1^MR^MCM~123456789^^^USSSA^SS||EVERYMAN^ADAM^A^III",
        "NK1|1|NUCLEAR^NELDA^W|SPO^SPOUSE",
        "PV1|1|I|2000^2012^01||||004777^ATTEND^AARON^A",
        "",
    ]
)
ACK_AE = "\r".join(
    [
        "MSH|^~\\&|LABADT|MCM|ADT1|MCM|198808181127||ACK^A01^ACK|ACK00001|P|2.5",
        "MSA|AE|MSG00001|bad field",
        "",
    ]
)
CUSTOM = "\r".join(
    [
        "MSH#$*!@#LAB-9000$1.2.840.99$ISO#CORE LAB#LIS#HOSP#20240301##ORU$R01#ID!S!7#T#2.5.1",
        "#".join(["OBX", "1", "ST", "HGB", "", "ok", *[""] * 12, "LAB-9000 SN 77$ANALYZERS"]),
        "",
    ]
)


def only(observations: object) -> hl7.Hl7Message:
    assert isinstance(observations, list)
    assert len(observations) == 1
    message = observations[0]
    assert isinstance(message, hl7.Hl7Message)
    return message


def test_oru_r01_header_and_equipment() -> None:
    message = only(hl7.dissect(tcp_payload(mllp(ORU_R01), server_port=2575)))

    assert message.framing == "mllp"
    assert message.direction == Direction.CLIENT_TO_SERVER
    assert message.field_separator == "|"
    assert message.encoding_characters == "^~\\&"
    assert message.sending_application == hl7.HierarchicDesignator(
        "MONITOR", "1.2.840.10004.1.1.1.0.0.1.0.0.1.2680", "ISO"
    )
    assert str(message.sending_facility) == "ICU-3"
    assert str(message.receiving_application) == "HIS"
    assert str(message.receiving_facility) == "GENERAL HOSP"
    assert message.message_time == "20240102101112"
    assert (message.message_type, message.message_code, message.trigger_event) == (
        "ORU^R01",
        "ORU",
        "R01",
    )
    assert message.message_structure == "ORU_R01"
    assert (message.control_id, message.processing_id, message.version) == ("MSG00042", "P", "2.6")
    assert message.character_set == "UNICODE UTF-8"
    assert message.segment_ids == ("MSH", "PID", "PV1", "OBR", "OBX", "PRT")
    assert message.carries_phi
    assert message.phi_segments == ("PID", "PV1")
    assert [(e.source, e.entity_identifier, e.namespace_id) for e in message.equipment] == [
        ("OBX-18", "0012345678ABCDEF", "EUI-64"),
        ("OBX-18", "IF-77", "DEVICES"),
        ("PRT-10", "MON-0042", "ACME"),
        ("PRT-16", "(01)00812345678906(21)SN42", ""),
    ]
    assert message.equipment[2].universal_id == "1.3.6.1.4.1.9"
    assert message.acknowledgment_code is None
    assert not message.truncated


def test_reference_parser_reads_the_same_header() -> None:
    """The ``hl7`` package, an independent parser, agrees on MSH-3, MSH-4 and MSH-9."""
    for text in (ORU_R01, ADT_A01, CUSTOM):
        reference = hl7_reference.parse(text)
        message = only(hl7.dissect(tcp_payload(mllp(text), server_port=2575)))
        assert message.sending_application.namespace_id == reference.extract_field("MSH", 1, 3)
        assert message.sending_facility.namespace_id == reference.extract_field("MSH", 1, 4)
        assert message.message_code == reference.extract_field("MSH", 1, 9, 1, 1)
        assert message.trigger_event == reference.extract_field("MSH", 1, 9, 1, 2)


def test_phi_values_are_never_kept() -> None:
    message = only(hl7.dissect(tcp_payload(mllp(ADT_A01), server_port=2575)))

    assert message.carries_phi
    assert message.phi_segments == ("PID", "NK1")
    assert message.message_type == "ADT^A01"
    dumped = repr(message)
    for secret in ("EVERYMAN", "PATID1234", "123456789", "NUCLEAR", "ATTEND"):
        assert secret not in dumped


def test_pv1_without_encounter_identifiers_is_not_phi() -> None:
    text = ACK_AE.replace("MSA|AE|MSG00001|bad field", "PV1|1|O|||||^^^^")
    assert not only(hl7.dissect(tcp_payload(mllp(text), server_port=2575))).carries_phi


def test_acknowledgement_from_the_server() -> None:
    observations = hl7.dissect(tcp_payload(mllp(ADT_A01), mllp(ACK_AE), server_port=2575))

    request, ack = observations
    assert isinstance(request, hl7.Hl7Message)
    assert isinstance(ack, hl7.Hl7Message)
    assert ack.direction == Direction.SERVER_TO_CLIENT
    assert ack.message_type == "ACK^A01"
    assert ack.acknowledgment_code == "AE"
    assert ack.acknowledged_control_id == request.control_id
    assert not ack.carries_phi
    assert ack.ts > request.ts


def test_custom_encoding_characters() -> None:
    message = only(hl7.dissect(tcp_payload(mllp(CUSTOM), server_port=2575)))

    assert message.field_separator == "#"
    assert message.encoding_characters == "$*!@"
    assert message.sending_application == hl7.HierarchicDesignator("LAB-9000", "1.2.840.99", "ISO")
    assert message.message_type == "ORU^R01"
    assert message.control_id == "ID$7", "!S! is the escaped component separator (§2.7.1)"
    assert message.version == "2.5.1"
    assert message.equipment == (hl7.EquipmentIdentifier("OBX-18", "LAB-9000 SN 77", "ANALYZERS"),)


def test_escape_sequences_are_resolved() -> None:
    text = ACK_AE.replace("|LABADT|", "|LAB\\T\\ADT\\F\\2|")
    message = only(hl7.dissect(tcp_payload(mllp(text), server_port=2575)))
    assert message.sending_application.namespace_id == "LAB&ADT|2"


def test_unframed_stream_with_crlf_separators() -> None:
    stream = (ADT_A01 + ACK_AE).replace("\r", "\r\n").encode()
    observations = hl7.dissect(tcp_payload(stream, server_port=2575))

    assert [o.message_type for o in observations if isinstance(o, hl7.Hl7Message)] == [
        "ADT^A01",
        "ACK^A01",
    ]
    assert all(isinstance(o, hl7.Hl7Message) and o.framing == "none" for o in observations)


def test_capture_starting_inside_a_block() -> None:
    """The flow prefix may begin mid-message: the bytes before the next <SB> are skipped."""
    stream = b"A|2||^Cat dander||Skin rash\r\x1c\r" + mllp(ADT_A01)
    assert only(hl7.dissect(tcp_payload(stream, server_port=2575))).message_type == "ADT^A01"


def test_commit_acknowledgements_are_skipped() -> None:
    stream = mllp(ADT_A01) + b"\x0b\x06\x1c\r"
    assert only(hl7.dissect(tcp_payload(stream, server_port=2575))).message_type == "ADT^A01"


def test_message_cut_by_the_prefix() -> None:
    stream = mllp(ACK_AE, ORU_R01)
    cut = stream[: stream.index(b"OBX|1") + 20]
    observations = hl7.dissect(tcp_payload(cut, server_port=2575))

    first, second = observations
    assert isinstance(first, hl7.Hl7Message)
    assert isinstance(second, hl7.Hl7Message)
    assert not first.truncated
    assert second.truncated
    assert second.message_type == "ORU^R01"
    assert second.segment_ids == ("MSH", "PID", "PV1", "OBR")
    assert second.equipment == ()


def test_probe() -> None:
    assert hl7.probe(mllp(ADT_A01))
    assert hl7.probe(CUSTOM.encode())
    assert hl7.probe(b"\x0bFHS|^~\\&|")
    assert not hl7.probe(b"GET / HTTP/1.1\r\n")
    assert not hl7.probe(b"\x0bMSH")
    assert not hl7.probe(b"MSHA^~\\&")
    assert not hl7.probe(b"\x16\x03\x01\x00\xa5\x01")


@pytest.mark.parametrize(
    "stream",
    [
        b"\x0bMSHX^~\\&|APP\r\x1c\r",
        b"\x0bMSH|^^\\&|APP\r\x1c\r",
        b"\x0bPID|1||123\r\x1c\r",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00\x01\x02",
    ],
)
def test_malformed_input_raises_dissector_error(stream: bytes) -> None:
    with pytest.raises(DissectorError, match="hl7 flow 1"):
        hl7.dissect(tcp_payload(stream, server_port=2575))


def test_empty_flow_gives_nothing() -> None:
    assert hl7.dissect(tcp_payload(b"", server_port=2575)) == []


# --- the nDPI capture, compared with tshark ------------------------------------------


def tshark_msh(tshark: str, capture: Path, ports: set[int]) -> set[tuple[int, str, str, str]]:
    """(source port, MSH-3, MSH-4, MSH-9) of every message tshark decodes."""
    decode_as = [arg for port in sorted(ports) for arg in ("-d", f"tcp.port=={port},hl7")]
    pdml = subprocess.run(
        [tshark, "-r", str(capture), *decode_as, "-Y", "hl7", "-T", "pdml"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    found: set[tuple[int, str, str, str]] = set()
    for packet in ET.fromstring(pdml).iter("packet"):
        port = next(f.get("show") for f in packet.iter("field") if f.get("name") == "tcp.srcport")
        headers = [
            segment
            for segment in packet.iter("field")
            if segment.get("name") == "hl7.segment"
            and (segment.get("show") or "").startswith("MSH")
        ]
        for header in headers:
            # tshark labels MSH fields "field N: value" with N the MSH-N of HL7 numbering.
            fields = dict(
                (f.get("showname") or "").partition(": ")[::2] for f in header.iter("field")
            )
            found.add((int(port or 0), fields["field 3"], fields["field 4"], fields["field 9"]))
    return found


@pytest.mark.tshark
def test_ndpi_capture_matches_tshark(tshark: str) -> None:
    capture = require_shared("pcap/medical/ndpi/hl7.pcap")
    flows = read_flow_payloads(capture)
    messages = [m for flow in flows for m in hl7.dissect(flow) if isinstance(m, hl7.Hl7Message)]
    ports = {flow.flow.server.port for flow in flows}

    mine = set()
    for message in messages:
        endpoint = (
            message.client if message.direction == Direction.CLIENT_TO_SERVER else message.server
        )
        assert endpoint is not None
        mine.add(
            (
                endpoint.port,
                str(message.sending_application),
                str(message.sending_facility),
                message.message_type,
            )
        )
    assert mine == tshark_msh(tshark, capture, ports)
    requests = [m for m in messages if m.direction == Direction.CLIENT_TO_SERVER]
    assert sorted(m.message_type for m in requests) == ["ADT^A01", "ORM^O01", "ORU^R01"]
    assert all(m.carries_phi and not m.truncated for m in requests)
    acks = [m for m in messages if m.direction == Direction.SERVER_TO_CLIENT]
    assert {m.acknowledged_control_id for m in acks} == {m.control_id for m in requests}
    assert {m.acknowledgment_code for m in acks} == {"AA"}


def test_probe_finds_hl7_off_its_registered_port() -> None:
    capture = require_shared("pcap/medical/ndpi/hl7.pcap")
    registry: Registry[Dissector] = Registry("dissector")
    registry.register(hl7.DISSECTOR.name, hl7.DISSECTOR)
    for flow in read_flow_payloads(capture):
        assert flow.flow.server.port not in hl7.SIGNATURE.ports
        assert dissectors_for(flow, registry) == [hl7.DISSECTOR]


# --- hostile input ---------------------------------------------------------------------

FUZZ = settings(
    max_examples=200, deadline=500, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
SEEDS = (mllp(ORU_R01, ACK_AE, CUSTOM), (ADT_A01 + ACK_AE).encode())


def payload(client: bytes, server: bytes = b"") -> FlowPayload:
    return tcp_payload(client, server, server_port=2575)


@FUZZ
@given(st.binary(max_size=2048), st.binary(max_size=512))
def test_random_bytes_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(hl7.dissect, payload(client, server))
    dissect_or_reject(hl7.dissect, payload(b"\x0bMSH" + client, server))


@FUZZ
@given(mutated(*SEEDS), mutated(*SEEDS))
def test_mutated_messages_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(hl7.dissect, payload(client, server))


@FUZZ
@given(st.data())
def test_scrambled_separators_raise_only_dissector_error(data: st.DataObject) -> None:
    """Edits drawn from the delimiter and framing characters, where parsers break."""
    stream = bytearray(SEEDS[0])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(stream) - 1))
        stream[position] = data.draw(st.sampled_from(b"|^~\\&#$\r\n\x0b\x1c\x00A"))
    cut = data.draw(st.integers(0, len(stream)))
    dissect_or_reject(hl7.dissect, payload(bytes(stream[:cut]), bytes(stream[cut:])))


def test_sft_segment_names_the_sending_software() -> None:
    message = (
        b"\x0bMSH|^~\\&|MX800|ICU|ENGINE|HOSP|20240101120000||ORU^R01|M1|P|2.5\r"
        b"SFT|Philips Medical Systems^L|M.00.03|IntelliVue MX800|M.00.03-b17\r"
        b"OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F\r\x1c\r"
    )
    (found,) = hl7.dissect(tcp_payload(message, server_port=2575))
    assert isinstance(found, hl7.Hl7Message)
    assert found.software == (
        hl7.SoftwareSegment(
            "Philips Medical Systems", "M.00.03", "IntelliVue MX800", "M.00.03-b17"
        ),
    )
