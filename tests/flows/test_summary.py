"""Capture totals."""

from __future__ import annotations

from medshield.flows.summary import CaptureSummary

from .flow_craft import batch_of, udp_frame


def test_totals_over_batches_and_files() -> None:
    summary = CaptureSummary()
    first = [udp_frame("192.0.2.1", "192.0.2.2", 1, 2, b"a" * n) for n in (1, 2)]
    summary.feed(batch_of(first, [5.0, 3.0], source="a.pcap", wirelen=[100, 200]))
    summary.feed(batch_of([udp_frame("192.0.2.1", "192.0.2.2", 1, 2)], [9.0], source="b.pcap"))
    summary.feed(batch_of([], [], source="b.pcap"))
    assert summary.packets == 3
    assert summary.bytes == 300 + len(udp_frame("192.0.2.1", "192.0.2.2", 1, 2))
    assert (summary.start, summary.end, summary.duration) == (3.0, 9.0, 6.0)
    assert summary.files == ["a.pcap", "b.pcap"]


def test_empty_summary() -> None:
    assert CaptureSummary().duration == 0.0
