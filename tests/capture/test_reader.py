"""open_capture: format detection by content, gzip, and inputs that are not captures."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medshield.capture import CaptureProblem, open_capture
from medshield.core.errors import CaptureError

from .capture_craft import enhanced, interface, pcap_file, section, udp_frame

FRAMES = [udp_frame(i, 60 + i) for i in range(40)]
PCAP = pcap_file([(1_700_000_000 + i, frame) for i, frame in enumerate(FRAMES)])
PCAPNG = section() + interface(1) + b"".join(enhanced(0, i, f) for i, f in enumerate(FRAMES))


def frames_of(path: Path) -> list[bytes]:
    return [batch.frame(i) for batch in open_capture(path) for i in range(len(batch))]


@pytest.mark.parametrize("content", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_gzip_is_detected_by_magic_not_name(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "capture.pcap"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(content))
    reader = open_capture(path)
    assert reader.compressed
    assert [b.frame(i) for b in reader for i in range(len(b))] == FRAMES


def test_plain_file_named_gz_is_read_as_plain(tmp_path: Path) -> None:
    path = tmp_path / "capture.pcap.gz"
    path.write_bytes(PCAP)
    assert frames_of(path) == FRAMES


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    path = tmp_path / "members.pcap"
    path.write_bytes(gzip.compress(PCAP[:1000]) + gzip.compress(PCAP[1000:]))
    assert frames_of(path) == FRAMES


def test_truncated_gzip_keeps_what_was_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap.gz"
    compressed = gzip.compress(PCAP, compresslevel=1)
    path.write_bytes(compressed[: len(compressed) * 3 // 4])
    reader = open_capture(path)
    got = [b.frame(i) for b in reader for i in range(len(b))]
    assert 0 < len(got) < len(FRAMES)
    assert got == FRAMES[: len(got)]
    (problem,) = reader.problems
    assert isinstance(problem, CaptureProblem)
    assert problem.source == str(path)
    assert "gzip" in problem.message


def test_corrupt_gzip_payload_becomes_a_problem_or_error(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress(PCAP, compresslevel=1))
    middle = len(compressed) // 2
    compressed[middle : middle + 16] = b"\xff" * 16
    path = tmp_path / "corrupt.pcap.gz"
    path.write_bytes(bytes(compressed))
    try:
        reader = open_capture(path)
        got = [b.frame(i) for b in reader for i in range(len(b))]
    except CaptureError:
        return
    assert got == FRAMES[: len(got)]
    assert reader.problems


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"GET / HTTP/1.1\r\nHost: example\r\n\r\n", "not a pcap"),
        (b"\x1f\x8b\x08\x00garbage that is not deflate", "gzip"),
        (gzip.compress(b""), "empty"),
        (gzip.compress(b"just some text, not a capture"), "not a pcap"),
    ],
    ids=["empty", "text", "bad-gzip", "empty-gzip", "gzip-text"],
)
def test_inputs_that_are_not_captures(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "input.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=reason) as raised:
        open_capture(path)
    assert raised.value.source == str(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot open"):
        open_capture(tmp_path / "absent.pcap")
    with pytest.raises(CaptureError, match="cannot open"):
        open_capture(tmp_path)


def test_problem_text_names_file_and_offset() -> None:
    assert str(CaptureProblem("a.pcap", 42, "cut")) == "a.pcap at byte 42: cut"


def test_context_manager_closes(tmp_path: Path) -> None:
    path = tmp_path / "ctx.pcap"
    path.write_bytes(PCAP)
    with open_capture(path) as reader:
        first = next(iter(reader))
    assert len(first) == len(FRAMES)
