"""Captures to completed flows, in this process or in a reader process beside it.

Reading (record walk, header decode, flow table, host sightings) depends on nothing after
it, so on a machine with a second core a forked reader process does it while this process
imports the database layer and dissects the flows already received. The reader is forked
before anything heavy is imported or any database is opened, so it carries no connection.

Flows cross as flat tuples (:mod:`medshield.flows.transfer`) in chunks of at most
:data:`CHUNK_FLOWS`; the reader runs ahead by at most :data:`QUEUED_CHUNKS` chunks, which
bounds the memory a slow consumer makes it hold. Once everything is read, the flows left in
the table (the long-lived ones, the costliest to dissect) go in small chunks, and while one
waits untaken the reader dissects the next itself and sends the results
(:class:`DissectedChunk`, observations compactly pickled by :mod:`medshield.core.compact`),
so both cores work until the end. (Dissecting earlier would only slow the reading, which is
what the consumer waits for.) The flows and their dissections come in capture order either
way, so an assessment does not depend on where the capture was read or dissected.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from medshield.capture import open_capture
from medshield.core.compact import compact_dumps
from medshield.core.errors import CaptureError, MedShieldError
from medshield.core.flow import FlowPayload, FlowRecord
from medshield.core.settings import FlowSettings
from medshield.flows.headers import decode
from medshield.flows.hosts import HostSighting, HostTable
from medshield.flows.summary import CaptureSummary
from medshield.flows.table import FlowTable
from medshield.flows.transfer import pack_payloads, pack_records, unpack_payloads, unpack_records

if TYPE_CHECKING:
    from medshield.dpi import Dissected
    from medshield.protocols.registry import Dispatcher

CHUNK_FLOWS = 512
"""Most flows in one chunk while a capture is read."""
END_CHUNK_FLOWS = 32
"""Most flows in one chunk of those left in the table at the end: the long-lived flows,
the costliest to dissect, so small chunks let both processes share them."""
QUEUED_CHUNKS = 32
"""Chunks the reader process may have sent and not yet had taken."""
POLL_SECONDS = 0.5
"""How often a consumer waiting for the reader checks that it is still alive."""
RECORD_OVERHEAD = 16
"""Bytes of a pcap record header, for the progress estimate."""


@dataclass(slots=True)
class FlowChunk:
    """Flows completed while reading ``file``, with how far into it the reader got."""

    payloads: list[FlowPayload]
    file: str
    done: int
    size: int
    at_end: bool = False
    """Flows left in the table once every capture was read."""


@dataclass(slots=True)
class DissectedChunk:
    """Flows the reader process dissected itself, each with what DPI made of it."""

    flows: list[FlowRecord]
    results: list[Dissected]
    file: str
    done: int
    size: int


@dataclass(slots=True)
class ReadOutcome:
    """Everything read besides the flows: totals, problems, host sightings, file spans."""

    totals: CaptureSummary
    problems: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)
    sightings: list[HostSighting] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    """(first, last) packet time of every usable file."""


Item = FlowChunk | DissectedChunk | ReadOutcome


class FlowStream(Protocol):
    """Chunks of flows in capture order, then one :class:`ReadOutcome`."""

    def __iter__(self) -> Iterator[Item]:
        """The chunks, then the outcome."""
        ...

    def close(self) -> None:
        """Stop reading (a no-op once the outcome was delivered)."""
        ...


def read_flows(paths: Sequence[Path], settings: FlowSettings) -> Generator[Item, None, None]:
    """Every capture through one flow table (a flow may span rotated files).

    A file that cannot be opened is reported in the outcome's ``unusable``; damage after
    its first packet is a problem, and everything read before it is kept.
    """
    outcome = ReadOutcome(CaptureSummary())
    table = FlowTable(settings)
    hosts = HostTable()
    for path in paths:
        outcome.totals.files.append(str(path))
        try:
            yield from _read_one(path, settings, table, hosts, outcome)
        except CaptureError as error:
            outcome.unusable.append(str(error))
    for start in range(0, len(left := table.flush()), END_CHUNK_FLOWS):
        yield FlowChunk(left[start : start + END_CHUNK_FLOWS], "", 0, 0, at_end=True)
    outcome.sightings = hosts.sightings()
    yield outcome


def _read_one(
    path: Path,
    settings: FlowSettings,
    table: FlowTable,
    hosts: HostTable,
    outcome: ReadOutcome,
) -> Iterator[FlowChunk]:
    reader = open_capture(path, batch_packets=settings.batch_packets)
    size = path.stat().st_size
    read = 0
    this_file = CaptureSummary()
    with reader:
        try:
            for batch in reader:
                if not len(batch):
                    continue
                outcome.totals.feed(batch)
                this_file.feed(batch)
                headers = decode(batch)
                hosts.feed(headers)
                read += int(batch.caplen.sum()) + RECORD_OVERHEAD * len(batch)
                yield from _chunks(table.feed(batch, headers), str(path), min(read, size), size)
            yield FlowChunk([], str(path), size, size)  # the whole file read
        finally:
            outcome.problems.extend(str(problem) for problem in reader.problems)
            if this_file.start is not None and this_file.end is not None:
                outcome.spans.append((this_file.start, this_file.end))


def _chunks(payloads: list[FlowPayload], file: str, done: int, size: int) -> Iterator[FlowChunk]:
    """``payloads`` in chunks of at most :data:`CHUNK_FLOWS` (one, possibly empty, at least,
    so that progress is reported for every batch)."""
    yield FlowChunk(payloads[:CHUNK_FLOWS], file, done, size)
    for start in range(CHUNK_FLOWS, len(payloads), CHUNK_FLOWS):
        yield FlowChunk(payloads[start : start + CHUNK_FLOWS], file, done, size)


# -- where the reading runs ---------------------------------------------------------------------


class InlineReading:
    """The flows read in this process, as the consumer asks for them."""

    def __init__(self, paths: Sequence[Path], settings: FlowSettings) -> None:
        self._items = read_flows(paths, settings)

    def __iter__(self) -> Iterator[Item]:
        """The chunks, then the outcome."""
        return self._items

    def close(self) -> None:
        """Stop reading."""
        self._items.close()


class ReaderProcessError(MedShieldError):
    """The reader process ended without delivering its outcome."""


class BackgroundReading:
    """The flows read by a forked reader process, received as it sends them."""

    def __init__(self, paths: Sequence[Path], settings: FlowSettings) -> None:
        context = multiprocessing.get_context("fork")
        self._queue: Any = context.Queue(maxsize=QUEUED_CHUNKS)
        self._process = context.Process(
            target=_reader_main,
            args=(list(paths), settings, self._queue),
            name="medshield-reader",
            daemon=True,
        )
        self._process.start()
        self._finished = False

    def __iter__(self) -> Iterator[Item]:
        """The chunks, then the outcome, as the reader sends them."""
        while not self._finished:
            kind, value = self._next()
            if kind == "chunk":
                packed, file, done, size, at_end = value
                yield FlowChunk(unpack_payloads(packed), file, done, size, at_end)
            elif kind == "dissected":
                records, results, file, done, size = value
                yield DissectedChunk(
                    unpack_records(records), pickle.loads(results), file, done, size
                )
            elif kind == "outcome":
                self._finished = True
                self.close()
                yield value
            else:
                self._finished = True
                self.close()
                raise value

    def _next(self) -> tuple[str, Any]:
        while True:
            try:
                item: tuple[str, Any] = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    code = self._process.exitcode
                    raise ReaderProcessError(
                        f"the capture reader process ended (exit code {code}) before its end"
                    ) from None
                continue
            return item

    def close(self) -> None:
        """Wait for a finished reader, stop an unfinished one."""
        if self._process.is_alive() and not self._finished:
            self._process.terminate()
        self._process.join()
        self._queue.close()
        self._queue.cancel_join_thread()


def start_reading(paths: Sequence[Path], settings: FlowSettings, *, background: bool) -> FlowStream:
    """Read ``paths`` into flows: in a forked reader process when ``background``."""
    if background:
        return BackgroundReading(paths, settings)
    return InlineReading(paths, settings)


def _reader_main(paths: list[Path], settings: FlowSettings, out: Any) -> None:
    """The reader process: every item of :func:`read_flows`, then nothing more."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)  # the flow table's objects live until the end
    send: Callable[[tuple[str, Any]], None] = out.put
    dissect = _Dissector()
    try:
        for item in read_flows(paths, settings):
            if not isinstance(item, FlowChunk):
                send(("outcome", item))
            elif item.at_end and item.payloads and _waiting(out) > 0:
                results = dissect(item.payloads)
                records = pack_records([payload.flow for payload in item.payloads])
                place = (item.file, item.done, item.size)
                send(("dissected", (records, compact_dumps(results), *place)))
            else:
                place = (item.file, item.done, item.size)
                send(("chunk", (pack_payloads(item.payloads), *place, item.at_end)))
    except BaseException as error:  # noqa: BLE001 - every failure goes to the consumer
        send(("error", _portable(error)))
    finally:
        out.close()
        out.join_thread()


def _waiting(out: Any) -> int:
    """Chunks sent and not yet taken (0 where the platform cannot tell)."""
    try:
        return int(out.qsize())
    except NotImplementedError:  # pragma: no cover - macOS has no sem_getvalue
        return 0


class _Dissector:
    """DPI in the reader process, its dissectors loaded on first use."""

    def __init__(self) -> None:
        self._dispatcher: Dispatcher | None = None

    def __call__(self, payloads: list[FlowPayload]) -> list[Dissected]:
        from medshield.dpi import dissect_flow
        from medshield.protocols.registry import Dispatcher, default_dissectors

        if self._dispatcher is None:
            self._dispatcher = Dispatcher(default_dissectors())
        return [dissect_flow(self._dispatcher, payload) for payload in payloads]


def _portable(error: BaseException) -> BaseException:
    """``error`` itself when it survives pickling, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any unpicklable error is described instead
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
