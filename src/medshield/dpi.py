"""Deep packet inspection of completed flows, in this process or in a worker process.

Reading and flow building keep one core busy; the dissectors are pure functions of a flow's
first bytes, so on a machine with a second core they run in a worker process while the next
batch is read. Results come back in submission order, so an assessment is the same with or
without the worker.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload, FlowRecord
from medshield.core.observation import Observation
from medshield.protocols.registry import Dispatcher, default_dissectors

log = logging.getLogger(__name__)

MAX_PENDING_CHUNKS = 4
"""Chunks in flight before the reader waits: bounds the memory held by queued prefixes."""


@dataclass(frozen=True, slots=True)
class Dissected:
    """What DPI made of one flow: its application label, observations and failures."""

    app: str
    observations: tuple[Observation, ...]
    errors: int


def dissect_flow(dispatcher: Dispatcher, payload: FlowPayload) -> Dissected:
    """Run every applicable dissector; the first that reads something names the app."""
    app = ""
    found: list[Observation] = []
    errors = 0
    for dissector in dispatcher.for_flow(payload):
        try:
            observations = dissector.dissect(payload)
        except DissectorError:
            errors += 1
            continue
        except Exception:  # noqa: BLE001 - one dissector's bug must not end an assessment
            errors += 1
            log.warning("dissector %s failed on flow %d", dissector.name, payload.flow.flow_id)
            continue
        if observations:
            found.extend(observations)
            app = app or dissector.name
    if not app:
        flow = payload.flow
        app = dispatcher.label(flow.transport, flow.server.port) or ""
    return Dissected(app, tuple(found), errors)


_worker_dispatcher: Dispatcher | None = None
"""The worker process's dispatcher, made once by :func:`_start_worker`."""


def _start_worker() -> None:
    global _worker_dispatcher  # noqa: PLW0603 - per-process state of the worker, set once
    _worker_dispatcher = Dispatcher(default_dissectors())


def _dissect_chunk(payloads: Sequence[FlowPayload]) -> list[Dissected]:
    dispatcher = _worker_dispatcher or Dispatcher(default_dissectors())
    return [dissect_flow(dispatcher, payload) for payload in payloads]


Sink = Callable[[FlowRecord, Dissected], None]


class Inspector:
    """Dissects flows and hands each result to ``sink`` in the order the flows came."""

    def __init__(self, sink: Sink, workers: int = 0) -> None:
        self.sink = sink
        self.dispatcher = Dispatcher(default_dissectors())
        self.pool: ProcessPoolExecutor | None = None
        if workers > 0:
            context = multiprocessing.get_context("fork")
            self.pool = ProcessPoolExecutor(workers, context, initializer=_start_worker)
        self.pending: deque[tuple[list[FlowRecord], Future[list[Dissected]]]] = deque()

    def submit(self, payloads: Iterable[FlowPayload]) -> None:
        """Dissect these flows (now, or in the worker)."""
        chunk = list(payloads)
        if not chunk:
            return
        if self.pool is None:
            for payload in chunk:
                self.sink(payload.flow, dissect_flow(self.dispatcher, payload))
            return
        self.pending.append(([p.flow for p in chunk], self.pool.submit(_dissect_chunk, chunk)))
        while len(self.pending) > MAX_PENDING_CHUNKS:
            self._drain_one()

    def finish(self) -> None:
        """Wait for every submitted flow and stop the worker."""
        try:
            while self.pending:
                self._drain_one()
        finally:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
                self.pool = None

    def _drain_one(self) -> None:
        flows, future = self.pending.popleft()
        for flow, result in zip(flows, future.result(), strict=True):
            self.sink(flow, result)
