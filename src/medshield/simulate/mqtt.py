"""MQTT 3.1.1 telemetry from pumps and IoT gateways to the broker (OASIS mqtt-v3.1.1).

A session is CONNECT with client identifier, user name and password (§3.1) and CONNACK (§3.2),
then PUBLISH at QoS 1 answered by PUBACK (§3.3, §3.4) or at QoS 0, PINGREQ/PINGRESP when the
client would otherwise stay silent for a whole keep-alive period (§3.1.2.10, §3.12–3.13), and
DISCONNECT (§3.14) before the client closes the connection and starts a new session.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between, jitter
from medshield.simulate.facts import Identifier, Risk, communication
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import US, Item, Steps

BROKER_PORT = 1883
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14
PROTOCOL_LEVEL = 4
FLAG_USERNAME = 0x80
FLAG_PASSWORD = 0x40
FLAG_CLEAN_SESSION = 0x02


def remaining_length(length: int) -> bytes:
    """Variable-length encoding of the remaining length (§2.2.3)."""
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def utf8(text: str) -> bytes:
    """A UTF-8 encoded string with its two-byte length prefix (§1.5.3)."""
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def packet(kind: int, flags: int, body: bytes) -> bytes:
    """Fixed header (§2.2) followed by ``body``."""
    return bytes((kind << 4 | flags,)) + remaining_length(len(body)) + body


def connect(client_id: str, username: str, password: str, keep_alive: int) -> bytes:
    """CONNECT with clean session, user name and password (§3.1)."""
    flags = FLAG_USERNAME | FLAG_PASSWORD | FLAG_CLEAN_SESSION
    header = utf8("MQTT") + bytes((PROTOCOL_LEVEL, flags)) + keep_alive.to_bytes(2, "big")
    return packet(CONNECT, 0, header + utf8(client_id) + utf8(username) + utf8(password))


def connack() -> bytes:
    """CONNACK: no session present, connection accepted (§3.2)."""
    return packet(CONNACK, 0, b"\x00\x00")


def publish(topic: str, payload: bytes, qos: int, packet_id: int) -> bytes:
    """PUBLISH at QoS 0 or 1 (§3.3); QoS 1 carries a packet identifier."""
    body = utf8(topic) + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return packet(PUBLISH, qos << 1, body)


def puback(packet_id: int) -> bytes:
    """PUBACK (§3.4)."""
    return packet(PUBACK, 0, packet_id.to_bytes(2, "big"))


PINGREQ_PACKET = packet(PINGREQ, 0, b"")
PINGRESP_PACKET = packet(PINGRESP, 0, b"")
DISCONNECT_PACKET = packet(DISCONNECT, 0, b"")


StatusMaker = Callable[[random.Random, int, SimDevice], bytes]
"""Builds one telemetry message: (rng, timestamp µs, device) → payload."""


@dataclass(frozen=True, slots=True)
class TelemetryPlan:
    """How a device publishes: interval, QoS, keep-alive, topic and message maker."""

    interval_s: float
    qos: int
    keep_alive_s: int
    topic: str
    make: StatusMaker


def client_id(device: SimDevice) -> str:
    """The client identifier a device's firmware builds from model and serial."""
    model = device.product.model.split()[0].upper().replace("+", "PLUS")
    return f"{model}-{device.serial}"


def _pump_status(rng: random.Random, ts_us: int, device: SimDevice) -> bytes:
    state = rng.choices(("INFUSING", "PAUSED", "IDLE", "ALARM"), (70, 10, 18, 2))[0]
    message = {
        "ts": ts_us // US,
        "serial": device.serial,
        "state": state,
        "drug": rng.choice(("Heparin", "Insulin", "Norepinephrine", "Propofol", "Saline")),
        "rate_ml_h": round(rng.uniform(1.0, 125.0), 1),
        "vtbi_ml": round(rng.uniform(5.0, 500.0), 1),
        "battery_pct": rng.randrange(20, 101),
        "fw": device.product.firmware,
    }
    return json.dumps(message, separators=(",", ":")).encode()


def _gateway_status(rng: random.Random, ts_us: int, device: SimDevice) -> bytes:
    message = {
        "ts": ts_us // US,
        "gw": device.hostname,
        "beds": rng.randrange(4, 17),
        "connected_devices": rng.randrange(4, 40),
        "alarms_active": rng.choices((0, 1, 2), (85, 12, 3))[0],
        "uptime_s": rng.randrange(10_000, 9_000_000),
    }
    return json.dumps(message, separators=(",", ":")).encode()


def telemetry(
    ctx: Context, device: SimDevice, broker: SimDevice, *, gateway: bool, arp: bool = True
) -> Iterator[Item]:
    """Sessions of a pump (QoS 1 every ~10 s) or IoT gateway (QoS 0, sparse, with PINGREQ)."""
    if gateway:
        topic = f"hospital/gateways/{device.hostname}/status"
        plan = TelemetryPlan(45.0, 0, 30, topic, _gateway_status)
    else:
        plan = TelemetryPlan(10.0, 1, 60, f"hospital/pumps/{device.serial}/status", _pump_status)
    client = _Client(ctx, device, broker, plan)
    ports = EphemeralPorts(client.rng, 32768, 60999)
    t = ctx.ready(device) + between(client.rng, 1.0, 10.0)
    if arp:
        yield from arp_resolve(t, device.nic, broker.nic)
        t += 1000
    first = True
    while t < ctx.end_us:
        until = t + between(client.rng, 300.0, 1800.0)
        t = yield from client.session(ports.take(), t, until, first=first)
        first = False
        t += between(client.rng, 1.0, 5.0)


class _Client:
    """One device's MQTT client: connects, publishes on its plan, pings when idle."""

    def __init__(
        self, ctx: Context, device: SimDevice, broker: SimDevice, plan: TelemetryPlan
    ) -> None:
        self.ctx = ctx
        self.device = device
        self.broker = broker
        self.plan = plan
        self.rng = ctx.rng("mqtt", device.index)

    def session(self, port: int, t: int, until: int, *, first: bool) -> Steps:
        """CONNECT … PUBLISH … until ``until``, then DISCONNECT and close (or capture end)."""
        device, broker, plan, rng = self.device, self.broker, self.plan, self.rng
        conn = TcpConnection(
            device.nic,
            broker.nic,
            port,
            BROKER_PORT,
            rng,
            client_window=device.product.stack.window,
            server_window=broker.product.stack.window,
        )
        t = yield from self._connect(conn, t, first=first)
        packet_id = 0
        last_sent = t
        while True:
            due = t + jitter(rng, plan.interval_s, 0.15)
            while due - last_sent > plan.keep_alive_s * US:
                ping_at = last_sent + plan.keep_alive_s * US - rng.randrange(0, 500_000)
                if ping_at >= self.ctx.end_us:
                    return ping_at
                t = yield from conn.exchange(
                    ping_at, PINGREQ_PACKET, PINGRESP_PACKET, think_us=rng.randrange(200, 900)
                )
                last_sent = ping_at
            if due >= self.ctx.end_us:
                return due
            if due >= until:
                t = yield from conn.send(conn.client, due, DISCONNECT_PACKET)
                return (yield from conn.close(conn.client, t + rng.randrange(200, 2000)))
            packet_id = packet_id % 65535 + 1
            message = publish(plan.topic, plan.make(rng, due, device), plan.qos, packet_id)
            response = puback(packet_id) if plan.qos else None
            t = yield from conn.exchange(due, message, response, think_us=rng.randrange(300, 3000))
            last_sent = due

    def _connect(self, conn: TcpConnection, t: int, *, first: bool) -> Steps:
        """TCP handshake, CONNECT with credentials, CONNACK."""
        device, broker = self.device, self.broker
        comm = communication(device.nic, broker.nic, BROKER_PORT, "tcp", "mqtt")
        t = yield from conn.open(t, (comm,))
        facts: tuple[object, ...] = ()
        if first:
            facts = (
                Identifier(device.id, "mqtt_client_id", client_id(device)),
                Risk(
                    FindingKind.CLEARTEXT_CREDENTIALS,
                    broker.id,
                    f"MQTT CONNECT user name and password in cleartext on port {BROKER_PORT}",
                ),
            )
        product = device.product
        hello = connect(
            client_id(device), product.mqtt_username, product.mqtt_password, self.plan.keep_alive_s
        )
        return (
            yield from conn.exchange(
                t + 400,
                hello,
                connack(),
                think_us=self.rng.randrange(300, 2000),
                request_facts=facts,
            )
        )
