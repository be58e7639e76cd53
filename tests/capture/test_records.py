"""The streaming machinery: many small buffers, recycling, and batches that outlive reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield.capture import open_capture, records

from .capture_craft import enhanced, interface, pcap_file, section, udp_frame

FRAMES = [udp_frame(i, 40 + (i * 37) % 300) for i in range(300)]


@pytest.fixture
def small_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Buffers of a few kilobytes, so a small file crosses many of them."""
    monkeypatch.setattr(records, "BUFFER_BYTES", 4096)
    monkeypatch.setattr(records, "READ_BYTES", 1500)
    monkeypatch.setattr(records, "MIN_ROOM", 700)


@pytest.mark.usefixtures("small_buffers")
@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_records_spanning_buffers_are_read_whole(tmp_path: Path, kind: str) -> None:
    if kind == "pcap":
        data = pcap_file([(1_700_000_000 + i, f) for i, f in enumerate(FRAMES)])
    else:
        blocks = b"".join(enhanced(0, i, f) for i, f in enumerate(FRAMES))
        data = section() + interface(1) + blocks
    path = tmp_path / f"many.{kind}"
    path.write_bytes(data)
    reader = open_capture(path, batch_packets=7)
    kept = list(reader)  # batches kept alive while later ones are read
    assert [b.frame(i) for b in kept for i in range(len(b))] == FRAMES
    assert all(len(b) <= 7 for b in kept)
    assert reader.packets == len(FRAMES)
    assert reader.problems == []


@pytest.mark.usefixtures("small_buffers")
def test_released_buffers_are_reused(tmp_path: Path) -> None:
    path = tmp_path / "reuse.pcap"
    path.write_bytes(pcap_file([(1_700_000_000 + i, f) for i, f in enumerate(FRAMES)]))
    reader = open_capture(path, batch_packets=5)
    got: list[bytes] = []
    buffers = set()
    for batch in reader:
        buffers.add(id(batch.buffer))
        got += [batch.frame(i) for i in range(len(batch))]
        del batch
    assert got == FRAMES
    assert len(buffers) <= records.POOL_BUFFERS
