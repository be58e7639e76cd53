"""MQTT 3.1.1 telemetry (simulate/mqtt.py)."""

from __future__ import annotations

import itertools

import pytest

from medshield.core.enums import FindingKind
from medshield.simulate import mqtt
from medshield.simulate.facts import Identifier, Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation, SimulationConfig

from .conftest import decode, facts_of


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (2097151, b"\xff\xff\x7f"),
    ],
)
def test_remaining_length_matches_the_spec_table(length: int, encoded: bytes) -> None:
    assert mqtt.remaining_length(length) == encoded  # mqtt-v3.1.1 §2.2.3, Table 2.4


def test_connect_layout() -> None:
    packet = mqtt.connect("PUMP-1", "user", "secret", 60)
    assert packet[0] == 0x10
    body = packet[2:]
    assert body[:6] == b"\x00\x04MQTT"
    assert body[6] == 4  # protocol level 3.1.1
    assert body[7] == 0x80 | 0x40 | 0x02  # user name, password, clean session
    assert body[8:10] == (60).to_bytes(2, "big")
    assert body[10:] == b"\x00\x06PUMP-1\x00\x04user\x00\x06secret"
    assert packet[1] == len(body)


def test_publish_qos1_carries_a_packet_id_and_puback_echoes_it() -> None:
    packet = mqtt.publish("a/b", b"{}", 1, 0x1234)
    assert packet[0] == 0x32
    assert packet[2:] == b"\x00\x03a/b\x12\x34{}"
    assert mqtt.puback(0x1234) == b"\x40\x02\x12\x34"
    assert mqtt.publish("a/b", b"{}", 0, 7)[0] == 0x30


def client_packets(
    simulation: Simulation, role: Role, count: int
) -> tuple[list[int], list[object]]:
    hospital = simulation.hospital
    device, broker = hospital.one(role), hospital.one(Role.PUMP_SERVER)
    steps = mqtt.telemetry(simulation.context, device, broker, gateway=role is Role.IOT_GATEWAY)
    items = list(itertools.islice(steps, count))
    kinds = []
    for item in items:
        eth = decode(item)
        if eth.type == 0x0800 and eth.data.data.data and eth.data.data.dport == mqtt.BROKER_PORT:
            kinds.append(bytes(eth.data.data.data)[0] >> 4)
    return kinds, facts_of(items)


def test_pump_connects_then_publishes_at_qos1(simulation: Simulation) -> None:
    kinds, facts = client_packets(simulation, Role.INFUSION_PUMP, 40)
    assert kinds[0] == mqtt.CONNECT
    assert set(kinds[1:]) == {mqtt.PUBLISH}
    pump = simulation.hospital.one(Role.INFUSION_PUMP)
    broker = simulation.hospital.one(Role.PUMP_SERVER)
    assert Identifier(pump.id, "mqtt_client_id", mqtt.client_id(pump)) in facts
    assert any(
        isinstance(f, Risk)
        and f.kind is FindingKind.CLEARTEXT_CREDENTIALS
        and f.device == broker.id
        for f in facts
    )


def test_gateway_pings_when_idle_longer_than_keep_alive() -> None:
    simulation = Simulation(SimulationConfig(devices=20, duration=900.0, seed=3))
    kinds, _ = client_packets(simulation, Role.IOT_GATEWAY, 200)
    assert mqtt.PINGREQ in kinds and mqtt.PUBLISH in kinds
