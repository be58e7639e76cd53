"""Classic pcap reading: byte orders, resolutions, batching, truncation and corruption."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt
import pytest

from medshield.capture import open_capture
from medshield.core.errors import CaptureError

from .capture_craft import pcap_file, pcap_header, pcap_record, raw_ip_frame, udp_frame

BASE_TS = 1_700_000_000.25


def packets(count: int) -> list[tuple[float, bytes]]:
    return [(BASE_TS + i * 0.5 + 0.000123, udp_frame(i, 20 + i)) for i in range(count)]


def read_all(path: Path, batch_packets: int = 65536) -> tuple[list[tuple[float, bytes]], object]:
    reader = open_capture(path, batch_packets)
    got = [(float(b.ts[i]), b.frame(i)) for b in reader for i in range(len(b))]
    return got, reader


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_reads_both_byte_orders_and_resolutions(tmp_path: Path, order: str, nano: bool) -> None:
    written = packets(5)
    path = tmp_path / "sample.pcap"
    path.write_bytes(pcap_file(written, order=order, nano=nano))
    reader = open_capture(path)
    batches = list(reader)
    assert len(batches) == 1
    batch = batches[0]
    assert batch.linktype == 1
    assert batch.source == str(path)
    assert [batch.frame(i) for i in range(len(batch))] == [frame for _, frame in written]
    assert batch.ts.tolist() == pytest.approx([ts for ts, _ in written], abs=1e-6)
    assert batch.caplen.tolist() == [len(frame) for _, frame in written]
    assert reader.packets == 5
    assert reader.bytes == sum(len(frame) for _, frame in written)
    assert reader.problems == []


def test_nanosecond_timestamps_keep_sub_microsecond_digits(tmp_path: Path) -> None:
    path = tmp_path / "ns.pcap"
    path.write_bytes(pcap_header(nano=True) + struct.pack("<IIII", 100, 999_999_999, 3, 3) + b"abc")
    (batch,) = list(open_capture(path))
    assert float(batch.ts[0]) == pytest.approx(100.999999999, abs=1e-9)


def test_matches_a_dpkt_written_file(tmp_path: Path) -> None:
    path = tmp_path / "dpkt.pcap"
    written = packets(3)
    with path.open("wb") as out:
        writer = dpkt.pcap.Writer(out, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in written:
            writer.writepkt(frame, ts=ts)
    got, _ = read_all(path)
    assert [frame for _, frame in got] == [frame for _, frame in written]


def test_wire_length_is_kept_apart_from_captured_length(tmp_path: Path) -> None:
    frame = udp_frame(1)[:40]
    path = tmp_path / "snap.pcap"
    path.write_bytes(pcap_header(snaplen=40) + pcap_record(BASE_TS, frame, wirelen=62))
    (batch,) = list(open_capture(path))
    assert (int(batch.caplen[0]), int(batch.wirelen[0])) == (40, 62)


def test_batches_split_at_batch_packets(tmp_path: Path) -> None:
    path = tmp_path / "many.pcap"
    written = packets(10)
    path.write_bytes(pcap_file(written))
    batches = list(open_capture(path, batch_packets=3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [b.first_index for b in batches] == [0, 3, 6, 9]
    assert [b.frame(i) for b in batches for i in range(len(b))] == [f for _, f in written]


def test_truncated_record_keeps_earlier_packets(tmp_path: Path) -> None:
    written = packets(3)
    data = pcap_file(written)
    third = len(pcap_file(written[:2]))
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: third + 16 + 5])
    got, reader = read_all(path)
    assert [frame for _, frame in got] == [frame for _, frame in written[:2]]
    (problem,) = reader.problems  # type: ignore[attr-defined]
    assert problem.source == str(path)
    assert problem.offset == third
    assert "middle of a record" in problem.message


def test_impossible_length_is_corruption(tmp_path: Path) -> None:
    written = packets(3)
    data = bytearray(pcap_file(written))
    second = len(pcap_file(written[:1]))
    struct.pack_into("<I", data, second + 8, 300_000)
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data))
    got, reader = read_all(path)
    assert [frame for _, frame in got] == [written[0][1]]
    (problem,) = reader.problems  # type: ignore[attr-defined]
    assert problem.offset == second
    assert "300000" in problem.message


def test_corrupt_length_that_fits_the_buffer_is_caught_too(tmp_path: Path) -> None:
    written = [*packets(2), (BASE_TS, b"\0" * 290_000)]
    data = bytearray(pcap_file(written))
    second = len(pcap_file(written[:1]))
    struct.pack_into("<I", data, second + 8, 270_000)
    path = tmp_path / "corrupt-fits.pcap"
    path.write_bytes(bytes(data))
    got, reader = read_all(path)
    assert len(got) == 1
    assert reader.problems[0].offset == second  # type: ignore[attr-defined]


def test_broken_first_record_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "first.pcap"
    path.write_bytes(pcap_header() + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 10) + b"x" * 64)
    with pytest.raises(CaptureError) as raised:
        open_capture(path)
    assert str(path) in str(raised.value)


def test_truncated_file_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "short.pcap"
    path.write_bytes(pcap_header()[:10])
    with pytest.raises(CaptureError, match="file header"):
        open_capture(path)


def test_header_only_capture_is_empty_but_valid(tmp_path: Path) -> None:
    path = tmp_path / "none.pcap"
    path.write_bytes(pcap_header())
    reader = open_capture(path)
    assert list(reader) == []
    assert reader.packets == 0
    assert reader.problems == []


def test_unsupported_linktype_is_skipped_with_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "ble.pcap"
    path.write_bytes(pcap_file(packets(4), linktype=272))
    reader = open_capture(path, batch_packets=2)
    assert list(reader) == []
    assert reader.skipped_packets == 4
    assert len(reader.problems) == 1
    assert "272" in reader.problems[0].message


def test_raw_ip_linktype(tmp_path: Path) -> None:
    path = tmp_path / "raw.pcap"
    path.write_bytes(pcap_file([(BASE_TS, raw_ip_frame(1))], linktype=101))
    (batch,) = list(open_capture(path))
    assert batch.linktype == 101
    assert batch.frame(0) == raw_ip_frame(1)


def test_patched_record_headers_are_recognised(tmp_path: Path) -> None:
    """Red Hat 6.1's libpcap: standard magic, 8 extra bytes per record header."""
    written = packets(3)
    body = b"".join(
        struct.pack("<IIII", int(ts), 0, len(f), len(f)) + struct.pack("<IHBx", 2, 0x0800, 0) + f
        for ts, f in written
    )
    path = tmp_path / "patched.pcap"
    path.write_bytes(pcap_header() + body)
    got, reader = read_all(path)
    assert [frame for _, frame in got] == [frame for _, frame in written]
    assert reader.problems == []  # type: ignore[attr-defined]
