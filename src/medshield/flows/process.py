"""One call from captures to flows, for tools and tests; the pipeline drives the tables itself."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from medshield.core.flow import FlowPayload
from medshield.core.packets import PacketBatch
from medshield.core.settings import FlowSettings
from medshield.flows.headers import decode
from medshield.flows.hosts import HostTable
from medshield.flows.summary import CaptureSummary
from medshield.flows.table import FlowTable


def iter_flows(
    readers: Iterable[Iterable[PacketBatch]],
    settings: FlowSettings | None = None,
    *,
    hosts: HostTable | None = None,
    summary: CaptureSummary | None = None,
) -> Iterator[FlowPayload]:
    """Flows of the batches of every reader, in one table (a flow may span rotated files).

    Flows are yielded as they complete, the rest at the end. ``hosts`` and ``summary``, when
    given, are fed from the same decoded headers.
    """
    table = FlowTable(settings)
    for reader in readers:
        for batch in reader:
            headers = decode(batch)
            if summary is not None:
                summary.feed(batch)
            if hosts is not None:
                hosts.feed(headers)
            yield from table.feed(batch, headers)
    yield from table.flush()
