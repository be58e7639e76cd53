"""FlowRecord.refused: which TCP flows are attempts the server did not take (RFC 9293 §3.5)."""

from __future__ import annotations

import pytest

from medshield.core.flow import DirectionStats, Endpoint, FlowRecord

SYN, RST, ACK, PSH, FIN = 0x02, 0x04, 0x10, 0x08, 0x01


def flow(c2s: DirectionStats, s2c: DirectionStats, transport: int = 6) -> FlowRecord:
    return FlowRecord(
        1, transport, Endpoint("10.0.0.9", 50000), Endpoint("10.0.0.1", 2575), 1.0, 2.0, c2s, s2c
    )


@pytest.mark.parametrize(
    ("c2s", "s2c", "refused"),
    [
        # A SYN nobody answered (filtered port).
        (DirectionStats(1, 58, 0, SYN), DirectionStats(), True),
        # A closed port answers RST/ACK.
        (DirectionStats(1, 58, 0, SYN), DirectionStats(1, 60, 0, RST | ACK), True),
        # An open port: SYN/ACK, then the scanner resets: the server serves the port.
        (DirectionStats(2, 118, 0, SYN | RST), DirectionStats(1, 60, 0, SYN | ACK), False),
        # An ordinary session with data.
        (
            DirectionStats(5, 600, 300, SYN | ACK | PSH | FIN),
            DirectionStats(4, 500, 200, SYN | ACK | PSH | FIN),
            False,
        ),
        # Joined mid-stream: keep-alive ACKs both ways, no handshake seen.
        (DirectionStats(2, 120, 0, ACK), DirectionStats(2, 120, 0, ACK), False),
        # The server reset a connection after the client sent data: it was taken.
        (DirectionStats(2, 200, 80, ACK | PSH), DirectionStats(1, 60, 0, RST), False),
    ],
)
def test_refused(c2s: DirectionStats, s2c: DirectionStats, refused: bool) -> None:
    assert flow(c2s, s2c).refused is refused


def test_udp_is_never_refused() -> None:
    assert not flow(DirectionStats(1, 80, 38, 0), DirectionStats(), transport=17).refused
