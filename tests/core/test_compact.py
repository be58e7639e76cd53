"""Compact pickling: frozen slotted dataclasses travel as (class, values) and come back equal;
anything else pickles as usual."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

from medshield.core import compact
from medshield.core.flow import Endpoint
from medshield.protocols.dns import DnsMessage, DnsQuestion


@dataclass(frozen=True)
class Unslotted:
    value: int


@dataclass(frozen=True, slots=True)
class Slotted:
    value: int
    label: str = "x"


def test_only_fully_slotted_dataclasses_travel_compact() -> None:
    assert compact.slot_layout(Unslotted) is None
    assert compact.slot_layout(int) is None
    layout = compact.slot_layout(Slotted)
    assert layout is not None
    assert layout.values(Slotted(3, "y")) == (3, "y")
    assert compact.rebuild(Slotted, (4, "z")) == Slotted(4, "z")
    assert pickle.loads(compact.compact_dumps([Unslotted(1), Slotted(2)])) == [
        Unslotted(1),
        Slotted(2),
    ]


def test_an_observation_with_nested_records_comes_back_equal() -> None:
    client, server = Endpoint("10.0.0.5", 5353, "00:11:22:33:44:55"), Endpoint("10.0.0.1", 53)
    message = DnsMessage(
        ts=12.5,
        flow_id=7,
        client=client,
        server=server,
        protocol="udp",
        transaction_id=0x1234,
        is_response=False,
        opcode=0,
        rcode=0,
        questions=(DnsQuestion(name="pacs.hospital.example", qtype=1, qclass=1),),
    )
    packed = compact.compact_dumps([message, message])
    back = pickle.loads(packed)
    assert back == [message, message]
    assert back[0].questions == message.questions
    assert repr(back[0]) == repr(message)
    assert b"rebuild" in packed  # the compact reduction, not the dataclass state protocol
