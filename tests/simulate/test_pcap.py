"""Classic pcap output (simulate/pcap.py)."""

from __future__ import annotations

import io
import struct

import dpkt

from medshield.simulate.pcap import PcapWriter, global_header


def test_global_header_is_pcap_2_4_ethernet_microseconds() -> None:
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack(
        "<IHHiIII", global_header()
    )
    assert (magic, major, minor, zone, sigfigs, linktype) == (0xA1B2C3D4, 2, 4, 0, 0, 1)
    assert snaplen == 65535


def test_records_round_trip_through_dpkt() -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    writer.write(1_709_539_200_123_456, b"\x01" * 60)
    writer.write(1_709_539_201_000_001, b"\x02" * 1514)
    stream.seek(0)
    reader = dpkt.pcap.Reader(stream)
    records = [(ts, bytes(buf)) for ts, buf in reader]
    assert reader.datalink() == dpkt.pcap.DLT_EN10MB
    assert [len(buf) for _, buf in records] == [60, 1514]
    assert abs(records[0][0] - 1_709_539_200.123456) < 1e-6
    assert writer.packets == 2
