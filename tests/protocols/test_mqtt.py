"""MQTT dissector: packets encoded per OASIS MQTT 3.1.1 and 5.0, and captures vs tshark."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.core.registry import Registry
from medshield.protocols import mqtt
from medshield.protocols.base import Dissector
from medshield.protocols.registry import dissectors_for
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import PREFIX_BYTES, read_flow_payloads

# --- packets encoded per MQTT 3.1.1 §2–3 and 5.0 §2–3 --------------------------------


def varint(value: int) -> bytes:
    """Variable byte integer (3.1.1 §2.2.3)."""
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def string(value: str | bytes) -> bytes:
    """UTF-8 string or binary data with its two-byte length (3.1.1 §1.5.3)."""
    raw = value.encode() if isinstance(value, str) else value
    return len(raw).to_bytes(2, "big") + raw


def packet(packet_type: int, flags: int, body: bytes) -> bytes:
    """Fixed header + remaining length + body (3.1.1 §2.2)."""
    return bytes([packet_type << 4 | flags]) + varint(len(body)) + body


def properties(*items: bytes) -> bytes:
    """A v5 property block (5.0 §2.2.2)."""
    block = b"".join(items)
    return varint(len(block)) + block


def connect(
    client_id: str,
    *,
    level: int = 4,
    username: str | None = None,
    password: bytes | None = None,
    will: tuple[str, bytes] | None = None,
    props: bytes = b"",
) -> bytes:
    """A CONNECT packet (3.1.1 §3.1, 5.0 §3.1)."""
    flags = 0x02
    payload = string(client_id)
    if will is not None:
        flags |= 0x04 | 0x08 | 0x20  # will, QoS 1, retain
        if level == 5:
            payload += properties(b"\x18" + (30).to_bytes(4, "big"))
        payload += string(will[0]) + string(will[1])
    if username is not None:
        flags |= 0x80
        payload += string(username)
    if password is not None:
        flags |= 0x40
        payload += string(password)
    name = b"MQIsdp" if level == 3 else b"MQTT"
    header = string(name) + bytes([level, flags]) + (60).to_bytes(2, "big")
    if level == 5:
        header += props or properties()
    return packet(1, 0, header + payload)


def publish(topic: str, message: bytes, *, qos: int = 0, retain: bool = False) -> bytes:
    body = string(topic) + ((1).to_bytes(2, "big") if qos else b"") + message
    return packet(3, qos << 1 | int(retain), body)


def subscribe(packet_id: int, *filters: tuple[str, int], v5: bool = False) -> bytes:
    body = packet_id.to_bytes(2, "big") + (properties() if v5 else b"")
    body += b"".join(string(topic) + bytes([qos]) for topic, qos in filters)
    return packet(8, 0x02, body)


CONNACK_ACCEPTED = packet(2, 0, b"\x00\x00")
T = TypeVar("T")


def by_kind(observations: Sequence[Observation], kind: type[T]) -> list[T]:
    return [o for o in observations if isinstance(o, kind)]


def test_connect_311_with_credentials_and_will() -> None:
    client = connect(
        "pump-0042", username="admin", password=b"Passw0rd!", will=("ward3/pump/status", b"gone")
    )
    observations = mqtt.dissect(tcp_payload(client, CONNACK_ACCEPTED, server_port=1883))

    (found,) = by_kind(observations, mqtt.MqttConnect)
    assert isinstance(found, mqtt.MqttConnect)
    assert (found.protocol_name, found.protocol_level) == ("MQTT", 4)
    assert found.client_id == "pump-0042"
    assert found.clean_session
    assert found.keep_alive == 60
    assert found.username == "admin"
    assert found.password_present
    assert found.password_length == 9
    assert found.password_redacted == "Pa***"
    assert found.password_sha256 == hashlib.sha256(b"Passw0rd!").hexdigest()
    assert (found.will_flag, found.will_topic, found.will_qos, found.will_retain) == (
        True,
        "ward3/pump/status",
        1,
        True,
    )
    assert not found.tls
    assert "Passw0rd" not in repr(observations)
    assert b"gone".decode() not in repr(observations)
    (ack,) = by_kind(observations, mqtt.MqttConnack)
    assert isinstance(ack, mqtt.MqttConnack)
    assert ack.accepted
    assert not ack.anonymous


def test_short_passwords_are_fully_hidden() -> None:
    (found,) = mqtt.dissect(tcp_payload(connect("c", username="u", password=b"1234")))
    assert isinstance(found, mqtt.MqttConnect)
    assert found.password_redacted == "***"


def test_anonymous_client_accepted() -> None:
    observations = mqtt.dissect(tcp_payload(connect("sensor-7"), CONNACK_ACCEPTED))

    (ack,) = by_kind(observations, mqtt.MqttConnack)
    assert isinstance(ack, mqtt.MqttConnack)
    assert (ack.return_code, ack.return_code_name, ack.anonymous) == (0, "accepted", True)


def test_connack_refusal_311() -> None:
    refused = packet(2, 0, b"\x00\x05")
    observations = mqtt.dissect(tcp_payload(connect("x", username="u", password=b"p"), refused))

    (ack,) = by_kind(observations, mqtt.MqttConnack)
    assert isinstance(ack, mqtt.MqttConnack)
    assert (ack.accepted, ack.return_code_name, ack.anonymous) == (False, "not-authorized", False)


def test_mqtt_5_connect_and_connack_with_properties() -> None:
    connect_props = properties(
        b"\x11" + (3600).to_bytes(4, "big"),  # session expiry interval
        b"\x15" + string("SCRAM-SHA-256"),  # authentication method
        b"\x26" + string("site") + string("icu"),  # user property
    )
    client = connect("", level=5, username="svc", will=("w/t", b"x"), props=connect_props)
    client += publish("ward/3/spo2", b"\x00\x61", qos=1)
    connack = packet(
        2,
        0,
        b"\x01\x86" + properties(b"\x12" + string("auto-1F2E"), b"\x1f" + string("bad creds")),
    )

    observations = mqtt.dissect(tcp_payload(client, connack, server_port=1883))

    found, published = observations[0], observations[1]
    assert isinstance(found, mqtt.MqttConnect)
    assert (found.protocol_level, found.client_id, found.username) == (5, "", "svc")
    assert found.authentication_method == "SCRAM-SHA-256"
    assert found.will_topic == "w/t"
    assert not found.password_present
    assert isinstance(published, mqtt.MqttPublish)
    assert (published.topic, published.qos) == ("ward/3/spo2", 1)
    (ack,) = by_kind(observations, mqtt.MqttConnack)
    assert isinstance(ack, mqtt.MqttConnack)
    assert (ack.protocol_level, ack.session_present) == (5, True)
    assert (ack.return_code, ack.return_code_name) == (0x86, "bad-user-name-or-password")
    assert ack.assigned_client_id == "auto-1F2E"
    assert not ack.accepted


def test_v5_publish_with_topic_alias() -> None:
    alias = packet(3, 0, string("") + properties(b"\x23" + (4).to_bytes(2, "big")) + b"v")
    observations = mqtt.dissect(tcp_payload(connect("c", level=5) + alias))

    (published,) = by_kind(observations, mqtt.MqttPublish)
    assert isinstance(published, mqtt.MqttPublish)
    assert (published.topic, published.topic_alias) == ("", 4)


def test_publish_topics_counted_per_direction_without_payloads() -> None:
    client = connect("gw") + b"".join(
        publish(topic, b"HR=72;PATIENT=DOE") for topic in ("icu/bed1/hr", "icu/bed1/hr", "icu/a")
    )
    server = CONNACK_ACCEPTED + publish("icu/cmd", b"reboot", retain=True)

    observations = mqtt.dissect(tcp_payload(client, server, server_port=1883))

    published = by_kind(observations, mqtt.MqttPublish)
    summary = [(p.direction, p.topic, p.count, p.retain) for p in published]
    assert summary == [
        (Direction.CLIENT_TO_SERVER, "icu/bed1/hr", 2, False),
        (Direction.CLIENT_TO_SERVER, "icu/a", 1, False),
        (Direction.SERVER_TO_CLIENT, "icu/cmd", 1, True),
    ]
    assert "DOE" not in repr(observations)
    assert "reboot" not in repr(observations)


def test_subscribe_filters() -> None:
    client = connect("c") + subscribe(10, ("icu/+/alarm", 1), ("$SYS/#", 0))
    (subscription,) = by_kind(mqtt.dissect(tcp_payload(client)), mqtt.MqttSubscribe)

    assert isinstance(subscription, mqtt.MqttSubscribe)
    assert subscription.packet_id == 10
    assert subscription.topic_filters == ("icu/+/alarm", "$SYS/#")
    assert subscription.requested_qos == (1, 0)


def test_topic_of_a_publish_cut_by_the_prefix_is_kept() -> None:
    stream = connect("c") + publish("big/blob", b"\x00" * 20000)
    observations = mqtt.dissect(tcp_payload(stream[:PREFIX_BYTES]))

    (published,) = by_kind(observations, mqtt.MqttPublish)
    assert isinstance(published, mqtt.MqttPublish)
    assert published.topic == "big/blob"


def test_mqtt_31_protocol_name() -> None:
    (found,) = mqtt.dissect(tcp_payload(connect("legacy", level=3)))
    assert isinstance(found, mqtt.MqttConnect)
    assert (found.protocol_name, found.protocol_level) == ("MQIsdp", 3)


def test_remaining_length_bounds() -> None:
    assert mqtt.read_varint(varint(268_435_455), 0) == (268_435_455, 4)
    assert mqtt.read_varint(b"\xff\xff", 0) is None
    with pytest.raises(DissectorError, match="four bytes"):
        mqtt.read_varint(b"\xff\xff\xff\xff\x01", 0)
    with pytest.raises(DissectorError, match="mqtt flow 1"):
        mqtt.dissect(tcp_payload(b"\x10\xff\xff\xff\xff\x01", server_port=1883))


@pytest.mark.parametrize(
    "stream",
    [
        packet(1, 0, string("HTTP") + b"\x04\x02\x00\x3c" + string("c")),
        packet(1, 0, string("MQTT") + b"\x07\x02\x00\x3c" + string("c")),
        packet(1, 0, string("MQTT") + b"\x04\x82\x00\x3c" + string("c")),
        packet(3, 0x06, string("t")),
        packet(8, 0x00, b"\x00\x01" + string("t") + b"\x00"),
        b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
        b"\x00\x00",
    ],
)
def test_malformed_input_raises_dissector_error(stream: bytes) -> None:
    with pytest.raises(DissectorError, match="mqtt flow 1"):
        mqtt.dissect(tcp_payload(stream, server_port=1883))


def test_probe() -> None:
    assert mqtt.probe(connect("c"))
    assert mqtt.probe(connect("c", level=3))
    assert mqtt.probe(connect("c", level=5))
    assert not mqtt.probe(CONNACK_ACCEPTED)
    assert not mqtt.probe(b"\x10\x0c\x00\x04HTTP")
    assert not mqtt.probe(b"\x10\xff\xff\xff\xff\xff")


# --- captures, compared with tshark --------------------------------------------------


@dataclasses.dataclass
class TsharkView:
    """What tshark decodes of a capture's MQTT packets."""

    connects: dict[int, tuple[str, str, bool]]
    """Client port → client id, user name, password flag of each CONNECT."""
    topics: set[tuple[int, str]]
    """(source port, topic) of every PUBLISH topic and SUBSCRIBE filter."""


def tshark_view(tshark: str, capture: Path, port: int) -> TsharkView:
    fields = ["tcp.srcport", "mqtt.msgtype", "mqtt.clientid", "mqtt.username"]
    fields += ["mqtt.conflag.passwd", "mqtt.topic"]
    output = subprocess.run(
        [tshark, "-r", str(capture), "-d", f"tcp.port=={port},mqtt"]
        + ["-Y", "mqtt.msgtype in {1, 3, 8}", "-T", "fields", "-E", "separator=\t"]
        + ["-E", "occurrence=a", "-E", "aggregator=\x1f"]
        + [arg for name in fields for arg in ("-e", name)],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    view = TsharkView({}, set())
    for line in output.splitlines():
        source, types, client_id, username, password, topics = (
            value.split("\x1f") for value in line.split("\t")
        )
        if "1" in types:
            flag = password[0] in {"1", "True"}
            view.connects[int(source[0])] = (client_id[0], username[0], flag)
        view.topics |= {(int(source[0]), topic) for topic in topics if topic}
    return view


@pytest.mark.tshark
@pytest.mark.parametrize(
    ("relative", "port"),
    [
        ("pcap/iot/zeek/mqtt.pcap", 1883),
        ("pcap/iot/ndpi/mqtt.pcap", 1883),
        ("pcap/iot/ndpi/coap_mqtt.pcap", 17501),
    ],
)
def test_captures_match_tshark(tshark: str, relative: str, port: int) -> None:
    capture = require_shared(relative)
    expected = tshark_view(tshark, capture, port)
    connects: list[mqtt.MqttConnect] = []
    topics: set[tuple[int, str]] = set()
    for flow in read_flow_payloads(capture):
        if flow.flow.server.port != port:
            continue
        for found in mqtt.dissect(flow):
            if isinstance(found, mqtt.MqttConnect):
                connects.append(found)
            elif isinstance(found, mqtt.MqttPublish):
                side = (
                    found.client if found.direction == Direction.CLIENT_TO_SERVER else found.server
                )
                assert side is not None
                topics.add((side.port, found.topic))
            elif isinstance(found, mqtt.MqttSubscribe):
                assert found.client is not None
                topics |= {(found.client.port, topic) for topic in found.topic_filters}
    assert connects, "every capture here holds a CONNECT"
    assert len(connects) == len(expected.connects)
    for found in connects:
        assert found.client is not None
        client_id, username, password = expected.connects[found.client.port]
        assert (found.client_id, found.username or "", found.password_present) == (
            client_id,
            username,
            password,
        )
    assert topics == expected.topics


def test_probe_finds_mqtt_off_its_registered_port() -> None:
    capture = require_shared("pcap/iot/ndpi/coap_mqtt.pcap")
    registry: Registry[Dissector] = Registry("dissector")
    registry.register(mqtt.DISSECTOR.name, mqtt.DISSECTOR)
    found = [flow for flow in read_flow_payloads(capture) if dissectors_for(flow, registry)]
    assert [flow.flow.server.port for flow in found] == [17501]


# --- hostile input ---------------------------------------------------------------------

FUZZ = settings(
    max_examples=200, deadline=500, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
CLIENT_SEEDS = (
    connect("c", level=5, username="u", password=b"p", will=("w", b"m"))
    + publish("a/b", b"1", qos=1)
    + subscribe(2, ("x/#", 1), v5=True),
    connect("legacy", level=3, username="u", password=b"secret") + publish("t", b"x"),
)
SERVER_SEEDS = (packet(2, 0, b"\x00\x00" + properties(b"\x12" + string("id"))), CONNACK_ACCEPTED)


def payload(client: bytes, server: bytes = b"") -> FlowPayload:
    return tcp_payload(client, server, server_port=1883)


@FUZZ
@given(st.binary(max_size=1024), st.binary(max_size=256))
def test_random_bytes_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(mqtt.dissect, payload(client, server))
    dissect_or_reject(mqtt.dissect, payload(b"\x10" + client, b"\x20" + server))


@FUZZ
@given(mutated(*CLIENT_SEEDS), mutated(*SERVER_SEEDS))
def test_mutated_packets_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(mqtt.dissect, payload(client, server))
