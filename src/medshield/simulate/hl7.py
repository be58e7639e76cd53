"""HL7 v2 over MLLP: monitor vitals, lab results and admissions sent to the interface engine.

Messages follow HL7 v2.5.1/v2.6 chapter 2 encoding (``|^~\\&`` delimiters, segments ended by
CR) and are framed by MLLP (HL7 v2.5.1 Appendix C.4: 0x0B, message, 0x1C 0x0D). Monitors send
IHE PCD-01 style ORU^R01 with IEEE 11073 MDC codes and the equipment identifier in OBX-18; the
engine answers every message with an original-mode ACK (MSA-1 ``AA``, HL7 v2.5.1 §2.9.2).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between, jitter
from medshield.simulate.facts import Identifier, Risk, communication, software
from medshield.simulate.patients import Patient, new_patient
from medshield.simulate.population import FACILITY, SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import US, Item, Steps

MLLP_PORT = 2575
START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
ENCODING = "^~\\&"


def mllp(message: str) -> bytes:
    """Wrap a message in an MLLP block (HL7 v2.5.1 Appendix C.4.2)."""
    return START_BLOCK + message.encode("latin-1") + END_BLOCK


def hl7_time(ts_us: int) -> str:
    """DTM value ``YYYYMMDDHHMMSS`` (HL7 v2.5.1 §2.A.22) of a UTC timestamp."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(ts_us // US))


def msh(
    sender: str,
    receiver: str,
    ts_us: int,
    message_type: str,
    control_id: str,
    version: str,
    profile: str = "",
) -> str:
    """MSH segment (HL7 v2.5.1 §2.15.9); MSH-21 carries an IHE profile where given."""
    fields = [
        "MSH",
        ENCODING,
        sender,
        FACILITY,
        receiver,
        FACILITY,
        hl7_time(ts_us),
        "",
        message_type,
        control_id,
        "P",
        version,
    ]
    if profile:
        fields += ["", "", "NE", "AL", "", "UNICODE UTF-8", "", "", profile]
    return "|".join(fields)


def sft(device: SimDevice) -> str:
    """SFT segment (HL7 v2.5.1 §2.15.12): vendor, software version, product name."""
    product = device.product
    return f"SFT|{product.manufacturer}|{product.firmware}|{product.model}|{product.firmware}"


def pid(patient: Patient) -> str:
    """PID segment (HL7 v2.5.1 §3.4.2) of a synthetic patient."""
    return (
        f"PID|1||{patient.mrn}^^^{FACILITY}^MR||{patient.hl7_name}||"
        f"{patient.birth_date}|{patient.sex}"
    )


@dataclass(frozen=True, slots=True)
class Vital:
    """An IEEE 11073 numeric: MDC code and name, unit code and name, normal value and spread."""

    code: str
    name: str
    unit_code: str
    unit: str
    normal: float
    spread: float
    decimals: int = 0


VITALS = (
    Vital("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN", 78, 12),
    Vital("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT", 97, 2),
    Vital("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016", "MDC_DIM_MMHG", 122, 14),
    Vital("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016", "MDC_DIM_MMHG", 78, 9),
    Vital("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN", 16, 3),
    Vital("150344", "MDC_TEMP", "268192", "MDC_DIM_DEGC", 36.9, 0.4, 1),
)


def eui64(device: SimDevice) -> str:
    """The EUI-64 IHE PCD uses as equipment identifier: the MAC with FFFE inserted."""
    mac = device.mac.hex().upper()
    return f"{mac[:6]}FFFE{mac[6:]}"


PCD_PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"


class VitalsMessages:
    """ORU^R01 vitals messages of one monitor and patient (IHE PCD TF-2 PCD-01, HL7 v2.6 §7.3.1).

    Everything but the time stamp, control id and values is the same from one message to the
    next, so it is laid out once; :meth:`render` only fills in the parts that change.
    """

    def __init__(self, device: SimDevice, receiver: str, patient: Patient, bed: str) -> None:
        self.application = device.product.hl7_application
        self.receiver = receiver
        self.fixed = "\r".join((sft(device), pid(patient), f"PV1|1|I|{bed}^{FACILITY}")) + "\r"
        equipment = f"{device.serial}^{device.product.model}^{eui64(device)}^EUI-64"
        self.observations = [
            (
                f"OBX|{index}|NM|{vital.code}^{vital.name}^MDC|1.1.1.{index}|",
                f"|{vital.unit_code}^{vital.unit}^MDC|||||R|||",
                f"||||{equipment}\r",
                vital.decimals,
            )
            for index, vital in enumerate(VITALS, start=1)
        ]

    def render(self, ts_us: int, control_id: str, values: list[float]) -> str:
        """The message for one set of values."""
        stamp = hl7_time(ts_us)
        parts = [
            msh(
                self.application,
                self.receiver,
                ts_us,
                "ORU^R01^ORU_R01",
                control_id,
                "2.6",
                PCD_PROFILE,
            ),
            "\r",
            self.fixed,
            f"OBR|1|{control_id}^{self.application}||182777000^monitoring of patient^SNOMED-CT"
            f"|||{stamp}\r",
        ]
        for (head, unit, tail, decimals), value in zip(self.observations, values, strict=True):
            parts += (head, f"{value:.{decimals}f}", unit, stamp, tail)
        return "".join(parts)


def oru_vitals(
    device: SimDevice,
    receiver: str,
    patient: Patient,
    bed: str,
    ts_us: int,
    control_id: str,
    values: list[float],
) -> str:
    """ORU^R01 with one OBX per vital sign (IHE PCD TF-2 PCD-01, HL7 v2.6 §7.3.1)."""
    return VitalsMessages(device, receiver, patient, bed).render(ts_us, control_id, values)


LAB_TESTS = (
    ("6690-2", "Leukocytes [#/volume] in Blood", "10*3/uL", "4.0-11.0", 7.2, 2.0),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "12.0-17.5", 14.1, 1.5),
    ("777-3", "Platelets [#/volume] in Blood", "10*3/uL", "150-400", 260.0, 60.0),
)


def oru_lab(
    device: SimDevice,
    receiver: str,
    patient: Patient,
    ts_us: int,
    control_id: str,
    rng: random.Random,
) -> str:
    """ORU^R01 with a complete blood count (HL7 v2.5.1 §7.3.1, LOINC-coded OBX)."""
    stamp = hl7_time(ts_us)
    segments = [
        msh(
            device.product.hl7_application, receiver, ts_us, "ORU^R01^ORU_R01", control_id, "2.5.1"
        ),
        sft(device),
        pid(patient),
        f"OBR|1|ORD{control_id[-6:]}|{control_id}|58410-2^CBC panel^LN|||{stamp}",
    ]
    for index, (code, name, unit, normal_range, mean, spread) in enumerate(LAB_TESTS, start=1):
        value = max(0.1, rng.gauss(mean, spread))
        segments.append(
            f"OBX|{index}|NM|{code}^{name}^LN||{value:.1f}|{unit}|{normal_range}|N|||F|||{stamp}"
        )
    return "\r".join(segments) + "\r"


def adt_a01(
    device: SimDevice,
    receiver: str,
    patient: Patient,
    ts_us: int,
    control_id: str,
    ward: str,
    visit: str,
    doctor: str,
) -> str:
    """ADT^A01 admit (HL7 v2.5.1 §3.3.1): MSH, EVN, PID, PV1."""
    stamp = hl7_time(ts_us)
    return (
        "\r".join(
            (
                msh(
                    device.product.hl7_application,
                    receiver,
                    ts_us,
                    "ADT^A01^ADT_A01",
                    control_id,
                    "2.5.1",
                ),
                f"EVN|A01|{stamp}",
                pid(patient),
                f"PV1|1|I|{ward}^{FACILITY}||||{doctor}|||MED||||1|||{doctor}|IP|{visit}|||||"
                f"||||||||||||||||||||{stamp}",
            )
        )
        + "\r"
    )


def ack(
    engine: SimDevice,
    sender: str,
    ts_us: int,
    control_id: str,
    acked_id: str,
    version: str,
    trigger: str,
) -> str:
    """Original-mode ACK accepting a message (HL7 v2.5.1 §2.9.2, MSA-1 = AA)."""
    header = msh(
        engine.product.hl7_application, sender, ts_us, f"ACK^{trigger}^ACK", control_id, version
    )
    return f"{header}\rMSA|AA|{acked_id}\r"


def _phi_facts(sender: SimDevice, engine: SimDevice, what: str) -> tuple[object, ...]:
    """Facts a PID-bearing message shows: identifiers, software, and cleartext PHI."""
    return (
        Identifier(sender.id, "hl7_application", sender.product.hl7_application),
        Identifier(sender.id, "hl7_facility", FACILITY),
        *software(sender, "hl7"),
        Risk(
            FindingKind.CLEARTEXT_PHI,
            sender.id,
            f"HL7 {what} with PID sent over plain MLLP to {engine.ip_text}:{MLLP_PORT}",
        ),
    )


def _engine_facts(engine: SimDevice) -> tuple[object, ...]:
    return (
        Identifier(engine.id, "hl7_application", engine.product.hl7_application),
        Identifier(engine.id, "hl7_facility", FACILITY),
        *software(engine, "hl7"),
    )


class _Feed:
    """A persistent MLLP connection from a sender to the engine, one message at a time."""

    def __init__(
        self, ctx: Context, sender: SimDevice, engine: SimDevice, name: str, *, arp: bool
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.engine = engine
        self.rng = ctx.rng(name, sender.index)
        self.arp = arp
        self.counter = self.rng.randrange(1000, 90000)
        self.acks = self.rng.randrange(1000, 90000)
        ports = EphemeralPorts(self.rng)
        self.conn = TcpConnection(
            sender.nic,
            engine.nic,
            ports.take(),
            MLLP_PORT,
            self.rng,
            client_window=sender.product.stack.window,
            server_window=engine.product.stack.window,
        )

    def open(self, t: int) -> Steps:
        if self.arp:
            yield from arp_resolve(t, self.sender.nic, self.engine.nic)
            t += 1000
        comm = communication(self.sender.nic, self.engine.nic, MLLP_PORT, "tcp", "hl7")
        return (yield from self.conn.open(t, (comm,)))

    def control_id(self) -> str:
        self.counter += 1
        return f"{self.sender.hostname.upper().replace('-', '')}{self.counter:08d}"

    def send(
        self,
        t: int,
        message: str,
        control_id: str,
        version: str,
        trigger: str,
        facts: tuple[object, ...],
    ) -> Steps:
        self.acks += 1
        reply = ack(
            self.engine,
            self.sender.product.hl7_application,
            t + 2000,
            f"ACK{self.acks:08d}",
            control_id,
            version,
            trigger,
        )
        return (
            yield from self.conn.exchange(
                t,
                mllp(message),
                mllp(reply),
                think_us=self.rng.randrange(900, 4000),
                ack_us=self.rng.randrange(30_000, 200_000),
                request_facts=facts,
                response_facts=_engine_facts(self.engine) if facts else (),
            )
        )


def monitor_feed(
    ctx: Context, monitor: SimDevice, engine: SimDevice, *, arp: bool = True
) -> Iterator[Item]:
    """A patient monitor streaming vitals to the engine every few seconds (IHE PCD-01)."""
    feed = _Feed(ctx, monitor, engine, "hl7-monitor", arp=arp)
    rng = feed.rng
    bed = f"ICU^{100 + monitor.index % 40}^{1 + monitor.index % 2}"
    messages = VitalsMessages(monitor, engine.product.hl7_application, new_patient(rng), bed)
    period = rng.uniform(4.0, 6.0)
    values = [vital.normal + rng.uniform(-0.5, 0.5) * vital.spread for vital in VITALS]
    t = ctx.ready(monitor) + between(rng, 1.0, 6.0)
    t = yield from feed.open(t)
    first = True
    while True:
        t += jitter(rng, period, 0.1)
        if t >= ctx.end_us:
            return
        for i, vital in enumerate(VITALS):
            drift = rng.gauss(0.0, vital.spread * 0.08)
            values[i] += drift + (vital.normal - values[i]) * 0.05
        control_id = feed.control_id()
        message = messages.render(t, control_id, values)
        facts = _phi_facts(monitor, engine, "ORU^R01") if first else ()
        t = yield from feed.send(t, message, control_id, "2.6", "R01", facts)
        first = False


def lab_feed(
    ctx: Context, analyser: SimDevice, engine: SimDevice, *, arp: bool = True
) -> Iterator[Item]:
    """A lab analyser sending a result every minute or two (HL7 v2.5.1 ORU^R01)."""
    feed = _Feed(ctx, analyser, engine, "hl7-lab", arp=arp)
    rng = feed.rng
    t = ctx.ready(analyser) + between(rng, 3.0, 20.0)
    t = yield from feed.open(t)
    first = True
    while True:
        t += between(rng, 30.0, 120.0) if not first else between(rng, 1.0, 10.0)
        if t >= ctx.end_us:
            return
        control_id = feed.control_id()
        message = oru_lab(
            analyser, engine.product.hl7_application, new_patient(rng), t, control_id, rng
        )
        facts = _phi_facts(analyser, engine, "ORU^R01") if first else ()
        t = yield from feed.send(t, message, control_id, "2.5.1", "R01", facts)
        first = False


def adt_feed(
    ctx: Context, adt: SimDevice, engine: SimDevice, *, arp: bool = True
) -> Iterator[Item]:
    """The patient administration system announcing admissions (ADT^A01)."""
    feed = _Feed(ctx, adt, engine, "hl7-adt", arp=arp)
    rng = feed.rng
    t = ctx.ready(adt) + between(rng, 0.5, 8.0)
    t = yield from feed.open(t)
    first = True
    while True:
        t += between(rng, 1.0, 5.0) if first else between(rng, 15.0, 75.0)
        if t >= ctx.end_us:
            return
        control_id = feed.control_id()
        patient = new_patient(rng)
        doctor = f"D{rng.randrange(1000, 9999)}^{new_patient(rng).family.upper()}^DR"
        ward = f"{rng.choice(('ICU', 'MED2', 'SURG1', 'CARD'))}^{rng.randrange(100, 140)}^1"
        message = adt_a01(
            adt,
            engine.product.hl7_application,
            patient,
            t,
            control_id,
            ward,
            f"V{rng.randrange(10**7, 10**8)}",
            doctor,
        )
        facts = _phi_facts(adt, engine, "ADT^A01") if first else ()
        t = yield from feed.send(t, message, control_id, "2.5.1", "A01", facts)
        first = False
