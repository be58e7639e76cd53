"""pcapng reading: sections of both byte orders, interfaces, packet block kinds, corruption."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from medshield.capture import open_capture
from medshield.capture.pcapng import ticks_per_second
from medshield.core.errors import CaptureError

from .capture_craft import (
    block,
    enhanced,
    interface,
    obsolete,
    raw_ip_frame,
    section,
    simple,
    udp_frame,
)

SECONDS = 1_700_000_000


def write(tmp_path: Path, data: bytes, name: str = "sample.pcapng") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("order", ["<", ">"])
def test_enhanced_packets_in_either_byte_order(tmp_path: Path, order: str) -> None:
    frames = [udp_frame(i) for i in range(3)]
    body = b"".join(enhanced(0, SECONDS * 10**6 + i * 250, f, order) for i, f in enumerate(frames))
    path = write(tmp_path, section(order) + interface(1, order) + body)
    reader = open_capture(path)
    (batch,) = list(reader)
    assert batch.linktype == 1
    assert [batch.frame(i) for i in range(3)] == frames
    assert batch.ts.tolist() == pytest.approx([SECONDS + i * 250e-6 for i in range(3)])
    assert reader.problems == []


@pytest.mark.parametrize(
    ("tsresol", "ticks"),
    [(9, 10**9), (3, 10**3), (0x80 | 20, 2**20)],
)
def test_interface_timestamp_resolution_and_offset(
    tmp_path: Path, tsresol: int, ticks: int
) -> None:
    stamp = (SECONDS - 100) * ticks + ticks // 4
    data = (
        section() + interface(1, tsresol=tsresol, tsoffset=100) + enhanced(0, stamp, udp_frame(0))
    )
    (batch,) = list(open_capture(write(tmp_path, data)))
    assert float(batch.ts[0]) == pytest.approx(SECONDS + 0.25, abs=1e-6)


def test_ticks_per_second_rejects_absurd_resolutions() -> None:
    assert ticks_per_second(6) == 10**6
    assert ticks_per_second(0x80 | 10) == 1024
    assert ticks_per_second(40) == 10**6


def test_two_interfaces_of_different_linktypes_never_share_a_batch(tmp_path: Path) -> None:
    blocks = [section(), interface(1), interface(101)]
    expected: dict[int, list[bytes]] = {1: [], 101: []}
    for i in range(6):
        ethernet = i % 2 == 0
        frame = udp_frame(i) if ethernet else raw_ip_frame(i)
        blocks.append(enhanced(0 if ethernet else 1, SECONDS * 10**6 + i, frame))
        expected[1 if ethernet else 101].append(frame)
    batches = list(open_capture(write(tmp_path, b"".join(blocks))))
    got: dict[int, list[bytes]] = {1: [], 101: []}
    for batch in batches:
        got[batch.linktype] += [batch.frame(i) for i in range(len(batch))]
    assert got == expected
    assert {batch.linktype for batch in batches} == {1, 101}


def test_simple_and_obsolete_packet_blocks(tmp_path: Path) -> None:
    frames = [udp_frame(i) for i in range(3)]
    data = (
        section()
        + interface(1)
        + enhanced(0, SECONDS * 10**6, frames[0])
        + simple(frames[1])
        + obsolete(0, SECONDS * 10**6 + 10, frames[2])
    )
    (batch,) = list(open_capture(write(tmp_path, data)))
    assert [batch.frame(i) for i in range(3)] == frames
    assert float(batch.ts[1]) == float(batch.ts[0])  # an SPB has no timestamp of its own
    assert float(batch.ts[2]) == pytest.approx(SECONDS + 10e-6)


def test_unknown_blocks_are_skipped(tmp_path: Path) -> None:
    name_resolution = block(4, struct.pack("<HH", 0, 0))
    statistics = block(5, struct.pack("<III", 0, 0, 0))
    custom = block(0x00000BAD, struct.pack("<I", 32473) + b"vendor data")
    frame = udp_frame(7)
    data = section() + custom + interface(1) + name_resolution + enhanced(0, 0, frame) + statistics
    reader = open_capture(write(tmp_path, data))
    (batch,) = list(reader)
    assert batch.frame(0) == frame
    assert reader.problems == []


def test_a_second_section_may_change_byte_order(tmp_path: Path) -> None:
    first, second = udp_frame(1), raw_ip_frame(2)
    data = (
        section("<")
        + interface(1, "<")
        + enhanced(0, 1, first, "<")
        + section(">")
        + interface(101, ">")
        + enhanced(0, 2, second, ">")
    )
    batches = list(open_capture(write(tmp_path, data)))
    assert [(b.linktype, b.frame(0)) for b in batches] == [(1, first), (101, second)]


def test_bad_trailer_length_is_corruption_after_good_packets(tmp_path: Path) -> None:
    frames = [udp_frame(i) for i in range(3)]
    head = section() + interface(1) + enhanced(0, 1, frames[0]) + enhanced(0, 2, frames[1])
    broken = bytearray(enhanced(0, 3, frames[2]))
    broken[-4:] = struct.pack("<I", len(broken) + 4)
    path = write(tmp_path, head + bytes(broken) + enhanced(0, 4, udp_frame(9)))
    reader = open_capture(path)
    got = [b.frame(i) for b in reader for i in range(len(b))]
    assert got == frames[:2]
    (problem,) = reader.problems
    assert problem.offset == len(head)
    assert "trailer" in problem.message


def test_block_cut_short_at_end_of_file(tmp_path: Path) -> None:
    head = section() + interface(1) + enhanced(0, 1, udp_frame(0))
    path = write(tmp_path, head + enhanced(0, 2, udp_frame(1))[:30])
    reader = open_capture(path)
    assert sum(len(b) for b in reader) == 1
    assert [p.offset for p in reader.problems] == [len(head)]


def test_invalid_block_length_is_corruption(tmp_path: Path) -> None:
    head = section() + interface(1) + enhanced(0, 1, udp_frame(0))
    path = write(tmp_path, head + struct.pack("<II", 6, 13) + b"\0" * 40)
    reader = open_capture(path)
    assert sum(len(b) for b in reader) == 1
    assert "block length 13" in reader.problems[0].message


def test_packet_before_any_interface_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, section() + enhanced(0, 1, udp_frame(0)))
    with pytest.raises(CaptureError, match="interface"):
        open_capture(path)


def test_captured_length_beyond_the_block_is_rejected(tmp_path: Path) -> None:
    epb = bytearray(enhanced(0, 1, udp_frame(0)))
    struct.pack_into("<I", epb, 20, len(epb))
    path = write(tmp_path, section() + interface(1) + bytes(epb))
    with pytest.raises(CaptureError, match="exceeds the block"):
        open_capture(path)


def test_section_header_with_bad_byte_order_magic_is_rejected(tmp_path: Path) -> None:
    data = bytearray(section())
    data[8:12] = b"\x01\x02\x03\x04"
    with pytest.raises(CaptureError, match="byte-order"):
        open_capture(write(tmp_path, bytes(data)))
