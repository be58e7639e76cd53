"""Captures to flows end to end: tshark agreement on real captures, robustness on every shared
capture, and exact agreement with a generated capture's ground truth."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from medshield.capture import open_capture
from medshield.core.errors import CaptureError
from medshield.core.flow import FlowPayload
from medshield.flows.hosts import HostTable
from medshield.flows.process import iter_flows
from medshield.flows.summary import CaptureSummary
from medshield.testing.environment import require_shared, shared_data_dir

from .synthetic import write_synthetic_capture

Endpoint = tuple[str, int]

TSHARK_SAME_FLOWS = [
    "iot/zeek/ftp/bruteforce.pcap",
    "iot/zeek/ssh/sshguess.pcap",
    "iot/zeek/modbus/modbusSmall.pcap",
    "iot/zeek/nmap-vsn.pcap",
    "iot/ndpi/http-basic-auth.pcap",
    "iot/ndpi/tcp_scan.pcapng",
    "iot/chrissanders/synscan.pcapng",
]
"""Captures where no TCP 5-tuple is reused, so flows and tshark conversations are one to one."""

TSHARK_REUSED_TUPLES = ["iot/zeek/pop3/pop3.pcap", "iot/ndpi/rtsp.pcap"]
"""Captures where new SYNs reuse a 5-tuple: we split, tshark does not; totals still agree."""

_CONVERSATION = re.compile(
    r"^(?P<a>[\d.]+):(?P<pa>\d+)\s+<->\s+(?P<b>[\d.]+):(?P<pb>\d+)\s+"
    r"(?P<to_a>\d+)\s+\S+\s+\S+\s+(?P<to_b>\d+)\s+\S+\s+\S+\s+(?P<total>\d+)\s"
)


def tshark_conversations(tshark: str, path: Path) -> Counter[tuple[Endpoint, Endpoint]]:
    """Frames per direction of each TCP conversation: key (sender, receiver)."""
    table = subprocess.run(
        [tshark, "-r", str(path), "-q", "-z", "conv,tcp"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    frames: Counter[tuple[Endpoint, Endpoint]] = Counter()
    for line in table.splitlines():
        found = _CONVERSATION.match(line)
        if found:
            a = (found["a"], int(found["pa"]))
            b = (found["b"], int(found["pb"]))
            frames[(a, b)] += int(found["to_b"])
            frames[(b, a)] += int(found["to_a"])
    return frames


def our_tcp_flows(path: Path) -> list[FlowPayload]:
    return [f for f in iter_flows([open_capture(path)]) if f.flow.transport == 6]


def directional_frames(flows: list[FlowPayload]) -> Counter[tuple[Endpoint, Endpoint]]:
    frames: Counter[tuple[Endpoint, Endpoint]] = Counter()
    for payload in flows:
        client = (payload.flow.client.ip, payload.flow.client.port)
        server = (payload.flow.server.ip, payload.flow.server.port)
        frames[(client, server)] += payload.flow.c2s.packets
        frames[(server, client)] += payload.flow.s2c.packets
    return +frames


@pytest.mark.tshark
@pytest.mark.parametrize("relative", TSHARK_SAME_FLOWS)
def test_tcp_flows_match_tshark_conversations(tshark: str, relative: str) -> None:
    path = require_shared(f"pcap/{relative}")
    expected = tshark_conversations(tshark, path)
    flows = our_tcp_flows(path)
    assert directional_frames(flows) == +expected
    conversations = {frozenset(pair) for pair in expected}
    assert len(flows) == len(conversations)


@pytest.mark.tshark
@pytest.mark.parametrize("relative", TSHARK_REUSED_TUPLES)
def test_tcp_totals_per_tuple_match_tshark(tshark: str, relative: str) -> None:
    path = require_shared(f"pcap/{relative}")
    flows = our_tcp_flows(path)
    assert directional_frames(flows) == +tshark_conversations(tshark, path)
    assert len(flows) > len({frozenset(pair) for pair in directional_frames(flows)})


def shared_captures() -> list[str]:
    root = shared_data_dir() / "pcap"
    if not root.is_dir():
        return ["<missing>"]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("relative", shared_captures())
def test_every_shared_capture_is_processed_or_rejected(relative: str) -> None:
    """Batches, flows and hosts come out, or a CaptureError; nothing else escapes."""
    path = require_shared(f"pcap/{relative}")
    hosts = HostTable()
    summary = CaptureSummary()
    try:
        reader = open_capture(path)
    except CaptureError as error:
        assert error.source == str(path)
        return
    flows = list(iter_flows([reader], hosts=hosts, summary=summary))
    assert summary.packets + reader.skipped_packets == reader.packets
    assert sum(f.flow.packets for f in flows) <= summary.packets
    assert len({f.flow.flow_id for f in flows}) == len(flows)
    hosts.sightings()
    for problem in reader.problems:
        assert problem.source == str(path)


def test_synthetic_capture_flows_match_its_ground_truth(tmp_path: Path) -> None:
    path = tmp_path / "hospital.pcap"
    truth = write_synthetic_capture(path, packets=20_000, seed=11)
    expected: Counter[tuple[int, Endpoint, Endpoint, str]] = Counter()
    for flow in truth:
        expected[(flow.proto, flow.client, flow.server, "c2s")] += flow.c2s_packets
        expected[(flow.proto, flow.client, flow.server, "s2c")] += flow.s2c_packets
    reader = open_capture(path, batch_packets=4096)
    flows = list(iter_flows([reader]))
    got: Counter[tuple[int, Endpoint, Endpoint, str]] = Counter()
    for payload in flows:
        record = payload.flow
        client, server = (
            (record.client.ip, record.client.port),
            (record.server.ip, record.server.port),
        )
        got[(record.transport, client, server, "c2s")] += record.c2s.packets
        got[(record.transport, client, server, "s2c")] += record.s2c.packets
    assert +got == +expected
    tcp_truth = {(f.client, f.server): f for f in truth if f.proto == 6}
    for payload in flows:
        if payload.flow.transport != 6:
            continue
        client = (payload.flow.client.ip, payload.flow.client.port)
        known = tcp_truth[(client, (payload.flow.server.ip, payload.flow.server.port))]
        assert payload.client_bytes.startswith(known.c2s_payload)
        assert payload.flow.end_reason.value == "fin"
