"""Captures to flows in a reader process: the same chunks and outcome as reading inline,
damage reported the same way, and a reader that fails or dies is an error, never a hang."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from medshield import ingest
from medshield.core.flow import FlowRecord
from medshield.core.settings import FlowSettings
from medshield.dpi import Dissected, dissect_flow
from medshield.protocols.registry import Dispatcher, default_dissectors
from medshield.simulate import SimulationConfig, simulate_to_files


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ingest") / "site.pcap"
    simulate_to_files(SimulationConfig(devices=12, duration=90.0, seed=3), path, None)
    return path


SMALL_BATCHES = FlowSettings(batch_packets=512)


Chunk = ingest.FlowChunk | ingest.DissectedChunk


def read(paths: list[Path], *, background: bool) -> tuple[list[Chunk], ingest.ReadOutcome]:
    stream = ingest.start_reading(paths, SMALL_BATCHES, background=background)
    items = list(stream)
    stream.close()
    *chunks, outcome = items
    assert all(isinstance(chunk, Chunk) for chunk in chunks)
    assert isinstance(outcome, ingest.ReadOutcome)
    return chunks, outcome  # type: ignore[return-value]


def test_background_reading_gives_what_inline_reading_gives(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "CHUNK_FLOWS", 3)
    monkeypatch.setattr(ingest, "_waiting", lambda out: 0)  # the reader only reads
    inline_chunks, inline = read([capture], background=False)
    chunks, outcome = read([capture], background=True)
    assert [c.payloads for c in chunks] == [c.payloads for c in inline_chunks]
    assert [(c.file, c.done, c.size) for c in chunks] == [
        (c.file, c.done, c.size) for c in inline_chunks
    ]
    assert outcome == inline
    flows = [p for chunk in chunks for p in chunk.payloads]
    assert len({p.flow.flow_id for p in flows}) == len(flows) > 50
    assert max(len(c.payloads) for c in chunks if not c.at_end) == 3
    assert max(len(c.payloads) for c in chunks if c.at_end) == ingest.END_CHUNK_FLOWS
    assert outcome.totals.packets > 1000
    assert outcome.sightings and outcome.spans
    sizes = [c.size for c in chunks if c.size]
    assert set(sizes) == {capture.stat().st_size}
    done = [c.done for c in chunks if c.size]
    assert done == sorted(done) and done[-1] == capture.stat().st_size


def dissected_in_order(
    items: list[ingest.FlowChunk | ingest.DissectedChunk],
) -> list[tuple[FlowRecord, Dissected]]:
    dispatcher = Dispatcher(default_dissectors())
    found: list[tuple[FlowRecord, Dissected]] = []
    for item in items:
        if isinstance(item, ingest.FlowChunk):
            found += [(p.flow, dissect_flow(dispatcher, p)) for p in item.payloads]
        else:
            found += list(zip(item.flows, item.results, strict=True))
    return found


def test_flows_left_at_the_end_are_dissected_by_the_reader_while_the_consumer_is_busy(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "_waiting", lambda out: 1)  # the consumer always behind
    inline_chunks, inline = read([capture], background=False)
    chunks, outcome = read([capture], background=True)
    assert outcome == inline
    dissected = [c for c in chunks if isinstance(c, ingest.DissectedChunk)]
    at_end = [c for c in inline_chunks if c.at_end and c.payloads]
    assert len(dissected) == len(at_end) > 1
    assert max(len(c.flows) for c in dissected) <= ingest.END_CHUNK_FLOWS
    assert not any(c.at_end for c in chunks if isinstance(c, ingest.FlowChunk) and c.payloads)
    here = dissected_in_order(inline_chunks)
    there = dissected_in_order(chunks)
    assert there == here
    assert [repr(result) for _, result in there] == [repr(result) for _, result in here]
    assert {result.app for _, result in there} >= {"tls", "dicom", "hl7", "dns", "dhcp"}


def test_damaged_and_unusable_files_are_reported_alike(
    capture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "_waiting", lambda out: 0)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[: capture.stat().st_size // 2 + 7])
    garbage = tmp_path / "notes.pcap"
    garbage.write_bytes(b"not a capture at all")
    paths = [cut, garbage]
    inline_chunks, inline = read(paths, background=False)
    chunks, outcome = read(paths, background=True)
    assert outcome == inline
    assert [c.payloads for c in chunks] == [c.payloads for c in inline_chunks]
    (problem,) = outcome.problems
    assert str(cut) in problem
    (unusable,) = outcome.unusable
    assert str(garbage) in unusable and "not a pcap or pcapng" in unusable
    assert outcome.totals.packets > 0
    assert outcome.totals.files == [str(cut), str(garbage)]


def test_an_error_in_the_reader_reaches_the_consumer(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(paths: list[Path], settings: FlowSettings) -> Iterator[ingest.Item]:
        yield from []
        raise ValueError("bad header arithmetic")

    monkeypatch.setattr(ingest, "read_flows", failing)
    stream = ingest.start_reading([capture], SMALL_BATCHES, background=True)
    with pytest.raises(ValueError, match="bad header arithmetic"):
        list(stream)


class Unpicklable(Exception):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} {second}")


def test_an_error_that_cannot_travel_is_described(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(paths: list[Path], settings: FlowSettings) -> Iterator[ingest.Item]:
        yield from []
        raise Unpicklable("two", "arguments")

    monkeypatch.setattr(ingest, "read_flows", failing)
    with pytest.raises(RuntimeError, match="Unpicklable: two arguments"):
        list(ingest.start_reading([capture], SMALL_BATCHES, background=True))


def test_a_reader_that_dies_is_an_error_not_a_hang(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest.read_flows

    def dying(paths: list[Path], settings: FlowSettings) -> Iterator[ingest.Item]:
        for item in real(paths, settings):
            yield item
            os._exit(3)  # as if killed once the first chunk was sent

    monkeypatch.setattr(ingest, "read_flows", dying)
    monkeypatch.setattr(ingest, "POLL_SECONDS", 0.05)
    stream = ingest.start_reading([capture], SMALL_BATCHES, background=True)
    with pytest.raises(ingest.ReaderProcessError, match="exit code 3"):
        list(stream)


def test_closing_early_stops_the_reader(capture: Path) -> None:
    stream = ingest.start_reading([capture], SMALL_BATCHES, background=True)
    assert isinstance(stream, ingest.BackgroundReading)
    first = next(iter(stream))
    assert isinstance(first, ingest.FlowChunk)
    stream.close()
    assert not stream._process.is_alive()
