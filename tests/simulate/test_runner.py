"""Whole runs (simulate/runner.py): determinism, limits, memory, and the capture vs its truth."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import Counter

import dpkt
import pytest

from medshield.core.errors import BadInputError
from medshield.simulate import Simulation, SimulationConfig, simulate
from medshield.simulate.context import start_of_capture

from .conftest import Capture

TINY = SimulationConfig(devices=12, duration=45.0, seed=11)


def run(config: SimulationConfig) -> tuple[bytes, dict[str, object]]:
    stream = io.BytesIO()
    result = simulate(config, stream)
    return stream.getvalue(), result.truth


def records(pcap: bytes) -> list[tuple[float, bytes]]:
    return [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(io.BytesIO(pcap))]


def test_same_arguments_same_bytes_other_seed_other_bytes() -> None:
    first, truth = run(TINY)
    again, truth_again = run(TINY)
    other, _ = run(SimulationConfig(devices=12, duration=45.0, seed=12))
    assert first == again and truth == truth_again
    assert other != first


HASHED_RUN = """
import hashlib, io
from medshield.simulate import SimulationConfig, simulate
stream = io.BytesIO()
truth = simulate(SimulationConfig(devices=10, duration=15.0, seed=11), stream).truth
print(hashlib.sha256(stream.getvalue() + repr(truth).encode()).hexdigest())
"""


def test_output_does_not_depend_on_hash_randomisation() -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", HASHED_RUN],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        for seed in ("1", "2")
    ]
    digests = {run.communicate(timeout=120)[0] for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert len(digests) == 1


def test_items_yield_the_frames_write_puts_in_the_file() -> None:
    pcap, _ = run(TINY)
    items = list(Simulation(TINY).items())
    assert [(round(ts * 1e6), buf) for ts, buf in records(pcap)] == [
        (item[0], item[1]) for item in items
    ]


def test_every_packet_lies_within_the_duration(small_capture: Capture) -> None:
    start = start_of_capture(3) / 1e6
    times = [ts for ts, _ in small_capture.frames]
    assert start <= min(times) and max(times) < start + 120.0
    assert times == sorted(times)


def test_max_packets_stops_the_capture_and_the_truth_follows() -> None:
    pcap, truth = run(SimulationConfig(devices=12, duration=45.0, seed=11, max_packets=300))
    frames = records(pcap)
    assert len(frames) == 300 == truth["packets"]
    sources = {buf[6:12].hex(":") for _, buf in frames}
    assert {d["mac"] for d in truth["devices"]} == sources  # type: ignore[index, union-attr]


def test_truth_devices_are_exactly_the_source_macs(small_capture: Capture) -> None:
    sources = {buf[6:12].hex(":") for _, buf in small_capture.frames}
    devices = small_capture.truth["devices"]
    assert {d["mac"] for d in devices} == sources
    assert small_capture.truth["device_count"] == len(devices) == 20
    assert small_capture.truth["packets"] == len(small_capture.frames)


def test_every_communication_is_in_the_capture(small_capture: Capture) -> None:
    seen = set()
    for _, buf in small_capture.frames:
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP | dpkt.udp.UDP):
            transport = "tcp" if isinstance(ip.data, dpkt.tcp.TCP) else "udp"
            seen.add((ip.src, ip.dst, ip.data.dport, transport))
    for comm in small_capture.truth["communications"]:
        key = (
            bytes(map(int, comm["src"].split("."))),
            bytes(map(int, comm["dst"].split("."))),
            comm["dport"],
            comm["transport"],
        )
        assert key in seen, comm


def test_frames_to_public_addresses_go_through_the_router(small_capture: Capture) -> None:
    router = next(d for d in small_capture.truth["devices"] if d["persona"] == "router")
    for _, buf in small_capture.frames:
        eth = dpkt.ethernet.Ethernet(buf)
        if isinstance(eth.data, dpkt.ip.IP) and eth.data.dst[0] not in (10, 224, 239, 255):
            assert eth.dst.hex(":") == router["mac"]
        if isinstance(eth.data, dpkt.ip.IP) and eth.data.src[0] not in (0, 10):
            assert eth.src.hex(":") == router["mac"]


def test_planted_risks_are_listed_once_each(small_capture: Capture) -> None:
    risks = small_capture.truth["risks"]
    kinds = Counter(r["kind"] for r in risks)
    assert kinds["internet-exposure"] == 1 and kinds["weak-tls"] == 1
    assert kinds["flat-network"] == 0  # 20 devices: no legacy ward
    ids = {d["id"] for d in small_capture.truth["devices"]}
    assert all(r["device"] in ids for r in risks)
    assert len({(r["kind"], r["device"]) for r in risks}) == len(risks)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(BadInputError, match="--duration"):
        run(SimulationConfig(duration=0))
    with pytest.raises(BadInputError, match="--max-packets"):
        run(SimulationConfig(max_packets=0))
    with pytest.raises(BadInputError, match="--devices"):
        run(SimulationConfig(devices=3))


MEMORY_PROBE = """
import resource, sys
from medshield.simulate import SimulationConfig, simulate
class Sink:
    def write(self, data): return len(data)
    def writelines(self, lines): pass
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
simulate(SimulationConfig(devices=1000, duration=3600, max_packets=20_000), Sink())
early = peak()
result = simulate(SimulationConfig(devices=1000, duration=3600, max_packets=120_000), Sink())
print(result.packets, early, peak())
"""


@pytest.mark.slow
def test_memory_stays_bounded_at_1000_devices() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    packets, early_kib, late_kib = map(int, done.stdout.split())
    assert packets == 120_000
    assert late_kib - early_kib < 24 * 1024, (early_kib, late_kib)


# --- tshark, the reference decoder, reads the capture and agrees with the truth -------------


def tshark_fields(
    tshark: str, capture: Capture, display_filter: str, *fields: str, options: tuple[str, ...] = ()
) -> list[list[str]]:
    """Rows of ``fields`` for the packets matching ``display_filter``."""
    command = [tshark, "-r", str(capture.pcap), *options, "-Y", display_filter, "-T", "fields"]
    for field in fields:
        command += ["-e", field]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    return [line.split("\t") for line in done.stdout.splitlines()]


def truth_values(capture: Capture, key: str) -> set[str]:
    return {v for d in capture.truth["devices"] for v in d["identifiers"][key]}


@pytest.mark.tshark
def test_tshark_counts_every_frame_and_finds_nothing_wrong(
    tshark: str, small_capture: Capture
) -> None:
    checks = (
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
    )
    rows = tshark_fields(
        tshark,
        small_capture,
        "frame",
        "_ws.malformed",
        "_ws.expert.severity",
        "tcp.analysis.flags",
        "ip.checksum.status",
        "tcp.checksum.status",
        "udp.checksum.status",
        options=checks,
    )
    assert len(rows) == len(small_capture.frames)
    malformed, severities, analysis = ({row[i] for row in rows} for i in range(3))
    assert malformed == {""} and analysis == {""}
    assert all(
        not level or int(level) < 6291456 for group in severities for level in group.split(",")
    )  # below PI_WARN
    statuses = {status for row in rows for status in row[3:]}
    assert statuses <= {"", "1", "2"}  # 0 means bad (1 good, 2 unverified)


@pytest.mark.tshark
def test_tshark_reads_hl7_senders_and_acks(tshark: str, small_capture: Capture) -> None:
    rows = tshark_fields(tshark, small_capture, "hl7", "hl7.message.type", "hl7.segment")
    senders = {row[1].split("|")[2] for row in rows if row[0] != "ACK"}
    receivers = {row[1].split("|")[2] for row in rows if row[0] == "ACK"}
    assert senders | receivers == truth_values(small_capture, "hl7_application")
    assert {row[0] for row in rows} >= {"ORU", "ADT", "ACK"}


@pytest.mark.tshark
def test_tshark_reads_dicom_associations_and_datasets(tshark: str, small_capture: Capture) -> None:
    rows = tshark_fields(
        tshark,
        small_capture,
        "dicom.assoc.item.type || dicom.pdv.flags == 2",
        "dicom.assoc.ae.calling",
        "dicom.assoc.ae.called",
        "dicom.tag.value.str",
        options=("-o", "dicom.tag_tree:TRUE"),
    )
    titles = {title.strip() for row in rows for title in row[:2]} - {""}
    assert titles == truth_values(small_capture, "dicom_ae")
    shown = {v.strip() for row in rows for v in row[2].split(",")}
    for device in small_capture.truth["devices"]:
        if device["category"] == "imaging modality" and device["software"]:
            assert {device["model"], device["serial"], device["firmware"]} <= shown


@pytest.mark.tshark
def test_tshark_reads_mqtt_dhcp_and_snmp_identities(tshark: str, small_capture: Capture) -> None:
    rows = tshark_fields(
        tshark,
        small_capture,
        "mqtt.clientid || dhcp.option.dhcp == 1 || snmp",
        "mqtt.clientid",
        "dhcp.option.vendor_class_id",
        "dhcp.option.hostname",
        "snmp.community",
    )
    column = [{row[i] for row in rows} - {""} for i in range(4)]
    assert column[0] == truth_values(small_capture, "mqtt_client_id")
    assert column[1] == truth_values(small_capture, "dhcp_vendor_class")
    assert column[2] and column[2] <= truth_values(small_capture, "hostname")
    assert column[3] == {"public"}


@pytest.mark.tshark
def test_tshark_sees_the_planted_cleartext_logins(tshark: str, small_capture: Capture) -> None:
    rows = tshark_fields(
        tshark,
        small_capture,
        'ftp.request.command == "PASS" || telnet.data || tls.handshake.type == 1',
        "ftp.request.arg",
        "telnet.data",
        "tls.handshake.extensions_server_name",
    )
    ftp, telnet, sni = ({row[i] for row in rows} - {""} for i in range(3))
    kinds = {(r["kind"], r["detail"].split()[0]) for r in small_capture.truth["risks"]}
    assert bool(ftp) == (("cleartext-credentials", "FTP") in kinds)
    assert bool(telnet) == (("cleartext-credentials", "telnet") in kinds)
    assert len(sni) >= 3
