"""The flow packets of one batch in grouping order, and how they are cut into flows.

Shared by the steps of ``FlowTable.feed``: lifecycle cutting, statistics, payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from medshield.core.flow import FlowEnd
from medshield.flows.headers import Headers
from medshield.flows.keys import Grouping
from medshield.flows.state import FlowState

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class OrderedPackets:
    """The flow packets of one batch in grouping order, as the arrays every step needs."""

    grouping: Grouping
    ts: F64
    side: npt.NDArray[np.uint8]
    flags: npt.NDArray[np.uint8]
    tcp: npt.NDArray[np.bool_]
    udp: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, headers: Headers, grouping: Grouping) -> OrderedPackets:
        order = grouping.order
        tcp = headers.is_tcp[order]
        return cls(
            grouping=grouping,
            ts=headers.batch.ts[order],
            side=grouping.side,
            flags=np.where(tcp, headers.tcp_flags[order], 0).astype(np.uint8),
            tcp=tcp,
            udp=headers.is_udp[order],
        )


@dataclass(slots=True)
class Segments:
    """Consecutive runs of a group's packets that belong to one flow each."""

    starts: list[int] = field(default_factory=list)
    flows: list[FlowState] = field(default_factory=list)
    created: list[FlowState] = field(default_factory=list)
    finished: list[tuple[FlowState, FlowEnd]] = field(default_factory=list)
