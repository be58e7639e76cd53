"""Captures to flows in a reader process: the same chunks and outcome as reading inline,
damage reported the same way, and a reader that fails or dies is an error, never a hang."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from medshield import ingest
from medshield.core.settings import FlowSettings
from medshield.simulate import SimulationConfig, simulate_to_files


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ingest") / "site.pcap"
    simulate_to_files(SimulationConfig(devices=12, duration=90.0, seed=3), path, None)
    return path


SMALL_BATCHES = FlowSettings(batch_packets=512)


def read(
    paths: list[Path], *, background: bool
) -> tuple[list[ingest.FlowChunk], ingest.ReadOutcome]:
    stream = ingest.start_reading(paths, SMALL_BATCHES, background=background)
    items = list(stream)
    stream.close()
    *chunks, outcome = items
    assert all(isinstance(chunk, ingest.FlowChunk) for chunk in chunks)
    assert isinstance(outcome, ingest.ReadOutcome)
    return chunks, outcome  # type: ignore[return-value]


def test_background_reading_gives_what_inline_reading_gives(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "CHUNK_FLOWS", 7)  # the flows left at the end: several chunks
    inline_chunks, inline = read([capture], background=False)
    chunks, outcome = read([capture], background=True)
    assert [c.payloads for c in chunks] == [c.payloads for c in inline_chunks]
    assert [(c.file, c.done, c.size) for c in chunks] == [
        (c.file, c.done, c.size) for c in inline_chunks
    ]
    assert outcome == inline
    flows = [p for chunk in chunks for p in chunk.payloads]
    assert len({p.flow.flow_id for p in flows}) == len(flows) > 50
    assert max(len(c.payloads) for c in chunks) == 7
    assert outcome.totals.packets > 1000
    assert outcome.sightings and outcome.spans
    sizes = [c.size for c in chunks if c.size]
    assert set(sizes) == {capture.stat().st_size}
    done = [c.done for c in chunks if c.size]
    assert done == sorted(done) and done[-1] == capture.stat().st_size


def test_damaged_and_unusable_files_are_reported_alike(capture: Path, tmp_path: Path) -> None:
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
