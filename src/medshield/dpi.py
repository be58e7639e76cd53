"""Deep packet inspection of completed flows, in this process or in a worker process.

Reading and flow building keep one core busy; the dissectors are pure functions of a flow's
first bytes, so on a machine with a second core they run in a worker process while the next
batch is read. Results come back in submission order, so an assessment is the same with or
without the worker.

Flows go to the worker and observations come back as pickles made by
:class:`CompactPickler`: the default pickling of frozen slotted dataclasses (every flow,
endpoint and observation) costs more than dissecting them, so they travel as their class and
field values and are rebuilt without running ``__init__`` (the values were valid already).
"""

from __future__ import annotations

import gc
import io
import logging
import multiprocessing
import operator
import pickle
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from typing import Any, TypeVar, cast

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.core.flow import Datagram, DirectionStats, Endpoint, FlowEnd, FlowPayload, FlowRecord
from medshield.core.observation import Observation
from medshield.protocols.registry import Dispatcher, default_dissectors

log = logging.getLogger(__name__)

CHUNK_FLOWS = 256
"""Flows dissected together: enough to amortise a round trip to the worker, few enough to
share the work finely."""
WORKER_CHUNKS = 6
"""Unfinished chunks the worker may hold; further chunks are dissected here meanwhile. At
the end, those it has not started are taken back."""
MAX_QUEUED_CHUNKS = 64
"""Chunks held for in-order delivery before this process waits for the worker: bounds the
memory a stalled worker can make this process hold."""


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


# -- compact pickling ------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SlotLayout:
    """How to take a frozen slotted dataclass apart and put it back together."""

    values: Callable[[Any], tuple[Any, ...]]
    setters: tuple[Callable[[Any, Any], None], ...]


def slot_layout(cls: type) -> SlotLayout | None:
    """See :func:`layout_of_class` (memoised per class)."""
    return layout_of_class(cast("Hashable", cls))


@lru_cache(maxsize=512)
def layout_of_class(cls: Hashable) -> SlotLayout | None:
    """The layout of a dataclass whose instances are nothing but its fields' slots (no
    ``__dict__``, every slot a field); None for any other class, which pickles as usual."""
    if not isinstance(cls, type) or not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        return None
    names = tuple(item.name for item in fields(cls))
    slots = {slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())}
    if set(names) != slots or not names:
        return None
    getter = operator.attrgetter(*names)
    values: Callable[[Any], tuple[Any, ...]] = (
        getter if len(names) > 1 else (lambda instance: (getter(instance),))
    )
    return SlotLayout(values, tuple(getattr(cls, name).__set__ for name in names))


def rebuild(cls: type[T], values: tuple[Any, ...]) -> T:
    """An instance of ``cls`` with these field values, made without ``__init__``: they come
    from an instance that was valid already (see :class:`CompactPickler`)."""
    instance: T = object.__new__(cls)
    layout = slot_layout(cls)
    if layout is None:  # pragma: no cover - only instances with a layout are reduced to this
        raise TypeError(f"{cls.__name__} has no slot layout")
    for setter, value in zip(layout.setters, values, strict=True):
        setter(instance, value)
    return instance


class CompactPickler(pickle.Pickler):
    """Pickles frozen slotted dataclasses as (class, field values), rebuilt by :func:`rebuild`."""

    def reducer_override(self, obj: Any) -> Any:
        """The compact reduction of dataclass instances; others as usual."""
        layout = slot_layout(type(obj))
        if layout is None:
            return NotImplemented
        return rebuild, (type(obj), layout.values(obj))


def compact_dumps(value: object) -> bytes:
    """``value`` pickled by :class:`CompactPickler` (read back with :func:`pickle.loads`)."""
    buffer = io.BytesIO()
    CompactPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


# -- the worker --------------------------------------------------------------------------------

_worker_dispatcher: Dispatcher | None = None
"""The worker process's dispatcher, made once by :func:`_start_worker`."""


def _start_worker() -> None:
    global _worker_dispatcher  # noqa: PLW0603 - per-process state of the worker, set once
    _worker_dispatcher = Dispatcher(default_dissectors())


def _dissect_chunk(packed: bytes) -> bytes:
    """Worker side: packed flows in (:func:`pack_payloads`), compact results out."""
    dispatcher = _worker_dispatcher or Dispatcher(default_dissectors())
    with gc_paused():
        payloads = unpack_payloads(packed)
        return compact_dumps([dissect_flow(dispatcher, payload) for payload in payloads])


# -- flows to the worker -----------------------------------------------------------------------

FLAT_FIELDS = {
    FlowPayload: (
        "flow",
        "client_bytes",
        "server_bytes",
        "client_truncated",
        "server_truncated",
        "client_gap",
        "server_gap",
        "client_first_ts",
        "server_first_ts",
        "datagrams",
    ),
    FlowRecord: (
        "flow_id",
        "transport",
        "client",
        "server",
        "first_seen",
        "last_seen",
        "c2s",
        "s2c",
        "iat_min",
        "iat_mean",
        "iat_max",
        "iat_std",
        "vlan",
        "end_reason",
        "source",
    ),
    Endpoint: ("ip", "port", "mac"),
    DirectionStats: ("packets", "bytes", "payload_bytes", "tcp_flags"),
    Datagram: ("direction", "ts", "payload"),
}
"""The fields :func:`flat_payload` writes out, in order. Should a class gain a field, the
flat form no longer applies and flows travel as compact pickles instead."""


@lru_cache(maxsize=1)
def flat_form_applies() -> bool:
    """Do the flow classes still have exactly the fields of :data:`FLAT_FIELDS`?"""
    return all(
        tuple(item.name for item in fields(cls)) == names for cls, names in FLAT_FIELDS.items()
    )


FlatPayload = tuple[Any, ...]


def flat_payload(payload: FlowPayload) -> FlatPayload:
    """A flow as nested tuples of plain values, which pickle without a Python call."""
    flow = payload.flow
    client, server, c2s, s2c = flow.client, flow.server, flow.c2s, flow.s2c
    return (
        flow.flow_id,
        flow.transport,
        (client.ip, client.port, client.mac),
        (server.ip, server.port, server.mac),
        flow.first_seen,
        flow.last_seen,
        (c2s.packets, c2s.bytes, c2s.payload_bytes, c2s.tcp_flags),
        (s2c.packets, s2c.bytes, s2c.payload_bytes, s2c.tcp_flags),
        flow.iat_min,
        flow.iat_mean,
        flow.iat_max,
        flow.iat_std,
        flow.vlan,
        flow.end_reason.value,
        flow.source,
        payload.client_bytes,
        payload.server_bytes,
        payload.client_truncated,
        payload.server_truncated,
        payload.client_gap,
        payload.server_gap,
        payload.client_first_ts,
        payload.server_first_ts,
        tuple([(int(d.direction), d.ts, d.payload) for d in payload.datagrams]),
    )


def payload_of(flat: FlatPayload, endpoints: dict[tuple[Any, ...], Endpoint]) -> FlowPayload:
    """The flow :func:`flat_payload` wrote out; ``endpoints`` shares equal endpoints."""
    (flow_id, transport, client, server, first_seen, last_seen, c2s, s2c) = flat[:8]
    (iat_min, iat_mean, iat_max, iat_std, vlan, end_reason, source) = flat[8:15]
    client_endpoint = endpoints.get(client) or endpoints.setdefault(client, Endpoint(*client))
    server_endpoint = endpoints.get(server) or endpoints.setdefault(server, Endpoint(*server))
    record = FlowRecord(
        flow_id,
        transport,
        client_endpoint,
        server_endpoint,
        first_seen,
        last_seen,
        DirectionStats(*c2s),
        DirectionStats(*s2c),
        iat_min,
        iat_mean,
        iat_max,
        iat_std,
        vlan,
        FlowEnd(end_reason),
        source,
    )
    (client_bytes, server_bytes, client_truncated, server_truncated) = flat[15:19]
    (client_gap, server_gap, client_first_ts, server_first_ts) = flat[19:23]
    return FlowPayload(
        record,
        client_bytes,
        server_bytes,
        client_truncated,
        server_truncated,
        client_gap,
        server_gap,
        client_first_ts,
        server_first_ts,
        tuple([Datagram(Direction(d), ts, data) for d, ts, data in flat[23]]),
    )


def pack_payloads(payloads: Sequence[FlowPayload]) -> bytes:
    """Flows pickled for the worker: flat when the classes allow, else compact."""
    if flat_form_applies():
        return pickle.dumps((True, [flat_payload(p) for p in payloads]), pickle.HIGHEST_PROTOCOL)
    return compact_dumps((False, list(payloads)))


def unpack_payloads(packed: bytes) -> list[FlowPayload]:
    """The flows :func:`pack_payloads` packed."""
    flat, values = pickle.loads(packed)
    if not flat:
        payloads: list[FlowPayload] = values
        return payloads
    endpoints: dict[tuple[Any, ...], Endpoint] = {}
    return [payload_of(value, endpoints) for value in values]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: unpickling or dissecting a chunk allocates tens
    of thousands of objects that all live on, and the collections their allocation
    triggers would only walk them (and every older object) in vain."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


Sink = Callable[[FlowRecord, Dissected], None]


@dataclass(slots=True)
class Chunk:
    """Flows dissected together, by the worker (``future``) or here (``results``)."""

    flows: list[FlowRecord]
    future: Future[bytes] | None = None
    results: list[Dissected] | None = None
    payloads: list[FlowPayload] | None = None
    """Kept while the worker has the chunk, so that this process can take it back."""

    def ready(self) -> bool:
        """Can its results go to the sink without waiting?"""
        return self.future is None or self.future.done()

    def collect(self) -> list[Dissected]:
        """Its results, waiting for the worker if need be."""
        if self.future is None:
            return self.results or []
        packed = self.future.result()
        with gc_paused():
            results: list[Dissected] = pickle.loads(packed)
        return results


class Inspector:
    """Dissects flows and hands each result to ``sink`` in the order the flows came.

    With a worker the work is shared: a chunk goes to the worker while it has fewer than
    :data:`WORKER_CHUNKS` unfinished, else it is dissected here, so neither process waits
    for the other whatever share of the machine each one gets.
    """

    def __init__(self, sink: Sink, workers: int = 0) -> None:
        self.sink = sink
        self.dispatcher = Dispatcher(default_dissectors())
        self.pool: ProcessPoolExecutor | None = None
        if workers > 0:
            context = multiprocessing.get_context("fork")
            self.pool = ProcessPoolExecutor(workers, context, initializer=_start_worker)
        self.queue: deque[Chunk] = deque()
        """Chunks in submission order, delivered to the sink from the front."""
        self.held: list[FlowPayload] = []
        """Flows not yet chunked: the worker gets them in chunks of a useful size."""

    def submit(self, payloads: Iterable[FlowPayload]) -> None:
        """Dissect these flows (now, or in the worker)."""
        if self.pool is None:
            for payload in payloads:
                self.sink(payload.flow, dissect_flow(self.dispatcher, payload))
            return
        self.held.extend(payloads)
        while len(self.held) >= CHUNK_FLOWS:
            chunk, self.held = self.held[:CHUNK_FLOWS], self.held[CHUNK_FLOWS:]
            self._dispatch(chunk)
        self._deliver(wait=len(self.queue) > MAX_QUEUED_CHUNKS)

    def finish(self) -> None:
        """Wait for every submitted flow and stop the worker."""
        try:
            if self.held:
                # The last flows are dissected here while the worker ends its chunks.
                self.queue.append(self._dissect_here(self.held))
                self.held = []
            self._take_back_unstarted()
            while self.queue:
                self._deliver(wait=True)
        finally:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
                self.pool = None

    def _dispatch(self, payloads: list[FlowPayload]) -> None:
        busy = sum(1 for chunk in self.queue if not chunk.ready())
        if self.pool is None or busy >= WORKER_CHUNKS:
            self.queue.append(self._dissect_here(payloads))
            return
        future = self.pool.submit(_dissect_chunk, pack_payloads(payloads))
        flows = [payload.flow for payload in payloads]
        self.queue.append(Chunk(flows, future=future, payloads=payloads))

    def _take_back_unstarted(self) -> None:
        """At the end, dissect here the chunks the worker has not started: waiting for it
        to work through them alone would leave this process idle."""
        for chunk in reversed(self.queue):
            if chunk.future is not None and chunk.payloads and chunk.future.cancel():
                chunk.results = self._dissect_here(chunk.payloads).results
                chunk.future = None

    def _dissect_here(self, payloads: list[FlowPayload]) -> Chunk:
        results = [dissect_flow(self.dispatcher, payload) for payload in payloads]
        return Chunk([payload.flow for payload in payloads], results=results)

    def _deliver(self, *, wait: bool) -> None:
        """Hand the results at the front of the queue to the sink: those ready, or (``wait``)
        at least the first chunk."""
        while self.queue and (wait or self.queue[0].ready()):
            chunk = self.queue.popleft()
            chunk.payloads = None
            for flow, result in zip(chunk.flows, chunk.collect(), strict=True):
                self.sink(flow, result)
            wait = False
