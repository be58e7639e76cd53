"""A synthetic hospital-like capture for throughput measurements and end-to-end flow checks.

Writes a classic pcap of Ethernet/IPv4 TCP and UDP traffic with realistic sizes: HL7/MLLP
exchanges, TLS sessions, long-lived MQTT sessions, DICOM C-STORE bulk transfers, DNS and
broadcast DHCP. TCP flows are well formed (handshake, in-order sequence numbers, FIN/ACK
teardown), so the expected flows are known exactly and returned as ground truth.

Run ``python tests/flows/synthetic.py OUT.pcap [PACKETS]`` to write the 1M-packet benchmark
capture (about 730 MB).
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08
MSS = 1460
DURATION = 600.0
CHUNK_PACKETS = 5_000
MESSAGE = np.frombuffer(b"MSH|^~\\&|PUMP|ICU|HIS|HOSP|20240101||ORU^R01|1|P|2.5\r", dtype=np.uint8)
"""Payload bytes repeat this message by stream offset, so every prefix is known."""


@dataclass(frozen=True, slots=True)
class TruthFlow:
    """One flow the generator wrote."""

    proto: int
    client: tuple[str, int]
    server: tuple[str, int]
    c2s_packets: int
    s2c_packets: int
    c2s_payload: bytes
    """The first client bytes (up to 64), for reassembly checks."""


@dataclass(slots=True)
class _Plan:
    ts: list[npt.NDArray[np.float64]]
    direction: list[npt.NDArray[np.int8]]
    flags: list[npt.NDArray[np.uint8]]
    length: list[npt.NDArray[np.int64]]
    seq: list[npt.NDArray[np.int64]]
    ack: list[npt.NDArray[np.int64]]
    offset: list[npt.NDArray[np.int64]]
    flow: list[npt.NDArray[np.int64]]


def _ip(address: int) -> str:
    return ".".join(str((address >> shift) & 0xFF) for shift in (24, 16, 8, 0))


class _Generator:
    def __init__(self, packets: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.target = packets
        self.plan = _Plan([], [], [], [], [], [], [], [])
        self.flows: list[tuple[int, int, int, int, int, int, int, int]] = []
        """proto, client ip, client port, client mac, server ip, server port, server mac, id."""
        self.truth: list[TruthFlow] = []

    def host(self, index: int) -> tuple[int, int]:
        """(IPv4, MAC) of host ``index`` in 10.20.0.0/16."""
        return (10 << 24) | (20 << 16) | (index + 10), 0x00005E005300 + index

    def tcp_flow(
        self,
        client: int,
        server: int,
        port: int,
        exchanges: list[tuple[int, int]],
        start: float,
        spacing: float,
    ) -> None:
        """A full TCP connection: handshake, request/response exchanges, FIN teardown."""
        direction: list[int] = [0, 1, 0]
        flags: list[int] = [SYN, SYN | ACK, ACK]
        length: list[int] = [0, 0, 0]
        for request, response in exchanges:
            for side, size in ((0, request), (1, response)):
                remaining, unacked = size, 0
                while remaining > 0:
                    part = min(MSS, remaining)
                    direction.append(side)
                    flags.append(PSH | ACK)
                    length.append(part)
                    remaining -= part
                    unacked += 1
                    if unacked == 2 and remaining > 0:  # delayed ACK, RFC 9293 §3.8.6.3
                        direction.append(1 - side)
                        flags.append(ACK)
                        length.append(0)
                        unacked = 0
                if size:
                    direction.append(1 - side)
                    flags.append(ACK)
                    length.append(0)
        direction += [0, 1, 0]
        flags += [FIN | ACK, FIN | ACK, ACK]
        length += [0, 0, 0]
        self._add_tcp(client, server, port, direction, flags, length, start, spacing)

    def _add_tcp(
        self,
        client: int,
        server: int,
        port: int,
        direction: list[int],
        flags: list[int],
        length: list[int],
        start: float,
        spacing: float,
    ) -> None:
        d = np.asarray(direction, dtype=np.int8)
        f = np.asarray(flags, dtype=np.uint8)
        n = np.asarray(length, dtype=np.int64)
        isn = self.rng.integers(0, 2**32, size=2)
        consumed = n + ((f & (SYN | FIN)) != 0)
        sent = [
            np.cumsum(np.where(d == side, consumed, 0)) - np.where(d == side, consumed, 0)
            for side in (0, 1)
        ]
        seq = np.where(d == 0, isn[0] + sent[0], isn[1] + sent[1]) % 2**32
        other_total = [np.cumsum(np.where(d == side, consumed, 0)) for side in (0, 1)]
        ack = np.where(d == 0, isn[1] + other_total[1], isn[0] + other_total[0]) % 2**32
        ack = np.where(f == SYN, 0, ack)
        ts = start + np.cumsum(self.rng.exponential(spacing, size=len(d)))
        client_port = int(self.rng.integers(32768, 61000))
        offset = np.maximum(np.where(d == 0, sent[0], sent[1]) - 1, 0)
        self._record(6, client, client_port, server, port, ts, d, f, n, seq, ack, offset)
        first_bytes = min(64, int(n[d == 0].sum()))
        self.truth.append(
            TruthFlow(
                6,
                (_ip(self.host(client)[0]), client_port),
                (_ip(self.host(server)[0]), port),
                int((d == 0).sum()),
                int((d == 1).sum()),
                np.resize(MESSAGE, first_bytes).tobytes(),
            )
        )

    def udp_flow(
        self,
        client: int,
        server: int,
        port: int,
        sizes: list[tuple[int, int]],
        start: float,
        broadcast: bool = False,
    ) -> None:
        d = np.asarray([side for side, _ in sizes], dtype=np.int8)
        n = np.asarray([size for _, size in sizes], dtype=np.int64)
        ts = start + np.cumsum(self.rng.exponential(0.01, size=len(d)))
        zeros = np.zeros(len(d), dtype=np.int64)
        client_port = 68 if broadcast else int(self.rng.integers(32768, 61000))
        self._record(
            17,
            client,
            client_port,
            server,
            port,
            ts,
            d,
            np.zeros(len(d), np.uint8),
            n,
            zeros,
            zeros,
            zeros,
            broadcast,
        )
        server_ip = "255.255.255.255" if broadcast else _ip(self.host(server)[0])
        client_ip = "0.0.0.0" if broadcast else _ip(self.host(client)[0])
        self.truth.append(
            TruthFlow(
                17,
                (client_ip, client_port),
                (server_ip, port),
                int((d == 0).sum()),
                int((d == 1).sum()),
                b"",
            )
        )

    def _record(
        self,
        proto: int,
        client: int,
        client_port: int,
        server: int,
        port: int,
        ts: npt.NDArray[np.float64],
        d: npt.NDArray[np.int8],
        f: npt.NDArray[np.uint8],
        n: npt.NDArray[np.int64],
        seq: npt.NDArray[np.int64],
        ack: npt.NDArray[np.int64],
        offset: npt.NDArray[np.int64],
        broadcast: bool = False,
    ) -> None:
        flow_id = len(self.flows)
        client_ip, client_mac = self.host(client)
        server_ip, server_mac = self.host(server)
        if broadcast:
            client_ip, server_ip, server_mac = 0, 0xFFFFFFFF, 0xFFFFFFFFFFFF
        self.flows.append(
            (proto, client_ip, client_port, client_mac, server_ip, port, server_mac, flow_id)
        )
        plan = self.plan
        plan.ts.append(ts)
        plan.direction.append(d)
        plan.flags.append(f)
        plan.length.append(n)
        plan.seq.append(seq)
        plan.ack.append(ack)
        plan.offset.append(offset)
        plan.flow.append(np.full(len(d), flow_id, dtype=np.int64))

    def packets_planned(self) -> int:
        return sum(len(x) for x in self.plan.ts)

    def build(self) -> None:
        rng = self.rng
        scale = self.target / 1_000_000
        hosts = max(20, int(500 * min(scale * 4, 1.0)))
        servers = list(range(5))
        clients = list(range(5, hosts))

        def start() -> float:
            return float(rng.uniform(0, DURATION * 0.95))

        for _ in range(int(60 * scale) or 1):  # DICOM C-STORE: large objects to the PACS
            objects = [(int(rng.integers(200_000, 800_000)), 200) for _ in range(20)]
            self.tcp_flow(
                int(rng.choice(clients)), servers[0], 104, [(700, 300), *objects], start(), 0.0004
            )
        for _ in range(int(3000 * scale) or 1):  # HL7 over MLLP
            self.tcp_flow(
                int(rng.choice(clients)),
                servers[1],
                2575,
                [(int(rng.integers(300, 1500)), 120)],
                start(),
                0.002,
            )
        for _ in range(int(4000 * scale) or 1):  # TLS sessions
            exchanges = [(517, 4200), (126, 51)] + [
                (int(rng.integers(100, 1400)), int(rng.integers(100, 4000))) for _ in range(2)
            ]
            self.tcp_flow(int(rng.choice(clients)), servers[2], 443, exchanges, start(), 0.003)
        for _ in range(int(1000 * scale) or 1):  # MQTT sessions publishing telemetry
            exchanges = [(60, 4)] + [(int(rng.integers(60, 200)), 0) for _ in range(100)]
            self.tcp_flow(int(rng.choice(clients)), servers[3], 1883, exchanges, start(), 0.5)
        for _ in range(int(4000 * scale) or 1):  # DNS
            self.udp_flow(int(rng.choice(clients)), servers[4], 53, [(0, 40), (1, 120)], start())
        for _ in range(int(2000 * scale) or 1):  # DHCP DISCOVER/REQUEST, broadcast
            self.udp_flow(
                int(rng.choice(clients)), 0, 67, [(0, 300), (0, 300)], start(), broadcast=True
            )
        planned = self.packets_planned()
        while planned < self.target:  # fill with more HL7
            self.tcp_flow(
                int(rng.choice(clients)),
                servers[1],
                2575,
                [(int(rng.integers(300, 1500)), 120)],
                start(),
                0.002,
            )
            planned += len(self.plan.ts[-1])

    def write(self, path: Path) -> int:
        plan = self.plan
        ts = np.concatenate(plan.ts)
        order = np.argsort(ts, kind="stable")
        columns = {
            name: np.concatenate(getattr(plan, name))[order]
            for name in ("direction", "flags", "length", "seq", "ack", "offset", "flow")
        }
        ts = ts[order] + 1_700_000_000.0
        flows = np.asarray(self.flows, dtype=np.int64)
        with path.open("wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for first in range(0, len(order), CHUNK_PACKETS):
                part = slice(first, first + CHUNK_PACKETS)
                out.write(
                    self._frames(
                        ts[part], {k: v[part] for k, v in columns.items()}, flows
                    ).tobytes()
                )
        return len(order)

    def _frames(
        self,
        ts: npt.NDArray[np.float64],
        col: dict[str, npt.NDArray[np.int64]],
        flows: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.uint8]:
        meta = flows[col["flow"]]
        proto = meta[:, 0]
        tcp = proto == 6
        from_client = col["direction"] == 0
        src_ip = np.where(from_client, meta[:, 1], meta[:, 4])
        dst_ip = np.where(from_client, meta[:, 4], meta[:, 1])
        src_port = np.where(from_client, meta[:, 2], meta[:, 5])
        dst_port = np.where(from_client, meta[:, 5], meta[:, 2])
        src_mac = np.where(from_client, meta[:, 3], meta[:, 6])
        dst_mac = np.where(from_client, meta[:, 6], meta[:, 3])
        l4 = np.where(tcp, 20, 8)
        caplen = 14 + 20 + l4 + col["length"]
        record = np.concatenate(([0], np.cumsum(16 + caplen)[:-1]))
        total = int((16 + caplen).sum())
        out = np.zeros(total, dtype=np.uint8)
        self._payloads(out, record + 16 + 14 + 20 + l4, col["length"], col["offset"])
        header = np.zeros((len(ts), 16 + 54), dtype=np.uint8)
        seconds = np.floor(ts)
        for col_at, value in (
            (0, seconds),
            (4, np.round((ts - seconds) * 1e6)),
            (8, caplen),
            (12, caplen),
        ):
            header[:, col_at : col_at + 4] = value.astype("<u4").view(np.uint8).reshape(-1, 4)

        def put(at: int, value: npt.NDArray[np.int64], width: int) -> None:
            header[:, at : at + width] = (
                value.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - width :]
            )

        put(16, dst_mac, 6)
        put(22, src_mac, 6)
        put(28, np.full(len(ts), 0x0800), 2)
        put(30, np.full(len(ts), 0x45), 1)
        put(32, 20 + l4 + col["length"], 2)
        put(38, np.full(len(ts), 64), 1)
        put(39, proto, 1)
        put(42, src_ip, 4)
        put(46, dst_ip, 4)
        put(50, src_port, 2)
        put(52, dst_port, 2)
        put(54, np.where(tcp, col["seq"], 8 + col["length"]), 4)
        put(58, col["ack"], 4)
        put(62, np.full(len(ts), 0x50), 1)
        put(63, col["flags"].astype(np.int64), 1)
        put(64, np.full(len(ts), 0xFFFF), 2)
        width = 16 + 14 + 20 + l4
        rows = np.repeat(np.arange(len(ts)), width)
        cols = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
        udp = ~tcp
        header[udp, 54:56] = (8 + col["length"][udp]).astype(">u2").view(np.uint8).reshape(-1, 2)
        header[udp, 56:58] = 0
        out[np.repeat(record, width) + cols] = header[rows, cols]
        return out

    @staticmethod
    def _payloads(
        out: npt.NDArray[np.uint8],
        start: npt.NDArray[np.int64],
        length: npt.NDArray[np.int64],
        offset: npt.NDArray[np.int64],
    ) -> None:
        """Payload byte k of a packet at stream offset r is MESSAGE[(r + k) % len]."""
        within = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
        source = (np.repeat(offset, length) + within) % len(MESSAGE)
        out[np.repeat(start, length) + within] = MESSAGE[source]


def write_synthetic_capture(path: Path, packets: int = 1_000_000, seed: int = 7) -> list[TruthFlow]:
    """Write a capture of about ``packets`` packets; return the flows in it."""
    generator = _Generator(packets, seed)
    generator.build()
    generator.write(path)
    return generator.truth


if __name__ == "__main__":
    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    truth = write_synthetic_capture(target, count)
    written = sum(flow.c2s_packets + flow.s2c_packets for flow in truth)
    size = target.stat().st_size / 1e6
    print(f"{target}: {written} packets, {len(truth)} flows, {size:.1f} MB")
