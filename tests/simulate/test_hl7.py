"""HL7 v2 over MLLP (simulate/hl7.py), checked with the ``hl7`` library."""

from __future__ import annotations

import itertools
import random

import hl7 as hl7lib

from medshield.core.enums import FindingKind
from medshield.simulate import hl7
from medshield.simulate.facts import Identifier, Risk
from medshield.simulate.patients import new_patient
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation
from medshield.simulate.wire import US

from .conftest import decode, facts_of

T0 = 1_709_539_200 * US


def test_oru_parses_with_the_hl7_library(simulation: Simulation) -> None:
    monitor = simulation.hospital.one(Role.PATIENT_MONITOR)
    patient = new_patient(random.Random(1))
    values = [v.normal for v in hl7.VITALS]
    text = hl7.oru_vitals(monitor, "MIRTH", patient, "ICU^101^1", T0, "CTRL1", values)
    message = hl7lib.parse(text)
    msh = message.segment("MSH")
    assert str(msh[3]) == monitor.product.hl7_application
    assert str(msh[4]) == "SIMHOSP"
    assert str(msh[9]) == "ORU^R01^ORU_R01"
    assert str(msh[12]) == "2.6"
    assert str(message.segment("PID")[5]).startswith(patient.family.upper())
    observations = message.segments("OBX")
    assert len(observations) == len(hl7.VITALS)
    assert str(observations[0][18]).startswith(monitor.serial)
    assert str(message.segment("SFT")[2]) == monitor.product.firmware


def test_adt_and_lab_messages_parse(simulation: Simulation) -> None:
    rng = random.Random(2)
    adt = simulation.hospital.one(Role.ADT_SYSTEM)
    lab = simulation.hospital.one(Role.LAB_ANALYSER)
    admit = hl7lib.parse(
        hl7.adt_a01(adt, "MIRTH", new_patient(rng), T0, "A1", "ICU^1^1", "V1", "D1^DOE^DR")
    )
    assert str(admit.segment("MSH")[9]) == "ADT^A01^ADT_A01"
    assert str(admit.segment("EVN")[1]) == "A01"
    result = hl7lib.parse(hl7.oru_lab(lab, "MIRTH", new_patient(rng), T0, "L1", rng))
    assert [str(obx[3]).split("^")[0] for obx in result.segments("OBX")] == [
        code for code, *_ in hl7.LAB_TESTS
    ]


def test_ack_accepts_the_original_control_id(simulation: Simulation) -> None:
    engine = simulation.hospital.one(Role.HL7_ENGINE)
    message = hl7lib.parse(hl7.ack(engine, "X", T0, "ACK1", "CTRL9", "2.6", "R01"))
    assert str(message.segment("MSA")[1]) == "AA"
    assert str(message.segment("MSA")[2]) == "CTRL9"
    assert str(message.segment("MSH")[9]) == "ACK^R01^ACK"


def test_mllp_frame() -> None:
    assert hl7.mllp("MSH|x\r") == b"\x0bMSH|x\r\x1c\x0d"


def test_monitor_feed_streams_vitals_and_gets_acks(simulation: Simulation) -> None:
    hospital = simulation.hospital
    monitor, engine = hospital.one(Role.PATIENT_MONITOR), hospital.one(Role.HL7_ENGINE)
    feed = hl7.monitor_feed(simulation.context, monitor, engine)
    items = list(itertools.islice(feed, 60))
    data = [
        (decode(i).data.data.dport, bytes(decode(i).data.data.data), i[0])
        for i in items
        if decode(i).type == 0x0800 and decode(i).data.data.data
    ]
    sent = [(payload, ts) for port, payload, ts in data if port == hl7.MLLP_PORT]
    replies = [payload for port, payload, _ in data if port != hl7.MLLP_PORT]
    assert all(p.startswith(b"\x0b") and p.endswith(b"\x1c\x0d") for p, _ in sent)
    assert all(b"\rMSA|AA|" in reply for reply in replies)
    gaps = [(b - a) / US for (_, a), (_, b) in itertools.pairwise(sent)]
    assert gaps and all(3.0 < gap < 7.5 for gap in gaps)
    facts = facts_of(items)
    assert any(
        isinstance(f, Risk) and f.kind is FindingKind.CLEARTEXT_PHI and f.device == monitor.id
        for f in facts
    )
    assert Identifier(engine.id, "hl7_application", "MIRTH") in facts
