"""Payload collection: the vectorised in-order path agrees with segment-by-segment reassembly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medshield.core.flow import FlowPayload
from medshield.core.settings import FlowSettings
from medshield.flows import payload
from medshield.flows.table import FlowTable

from .flow_craft import ACK, PSH, SYN, Conversation, batch_of, run
from .synthetic import write_synthetic_capture


def without_in_order_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        payload._RunFeeder,
        "_in_order_runs",
        lambda self, chosen, starts, ends: np.zeros(len(starts), dtype=np.bool_),
    )


def mixed_traffic() -> list[bytes]:
    frames: list[bytes] = []
    for n in range(6):
        talk = Conversation(client=("192.0.2.10", 40000 + n), client_isn=2**32 - 1000 * (n + 1))
        frames += talk.handshake()
        start = talk.next_seq[0]
        for i in range(12):
            frames.append(talk.packet(0, PSH | ACK, bytes([65 + i]) * (300 + 40 * n)))
            frames.append(talk.packet(1, ACK))
        if n % 2:  # an out-of-order and a retransmitted segment on odd flows
            frames.append(talk.packet(0, PSH | ACK, b"late", seq=start))
            frames[-1], frames[-3] = frames[-3], frames[-1]
        frames += talk.teardown()
    return frames


def test_both_paths_agree_on_crafted_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = mixed_traffic()
    settings = FlowSettings(prefix_bytes=2000)
    taken: list[int] = []
    original = payload._RunFeeder._in_order_runs

    def spy(self: payload._RunFeeder, *args: np.ndarray) -> np.ndarray:
        result = original(self, *args)
        taken.append(int(result.sum()))
        return result

    monkeypatch.setattr(payload._RunFeeder, "_in_order_runs", spy)
    fast = run(frames, settings=settings, split=len(frames) // 3)
    assert sum(taken) > 0
    without_in_order_path(monkeypatch)
    slow = run(frames, settings=settings, split=len(frames) // 3)
    assert fast == slow
    assert all(f.client_bytes for f in fast)


def flows_of(path: Path) -> list[FlowPayload]:
    from medshield.capture import open_capture
    from medshield.flows.process import iter_flows

    return list(iter_flows([open_capture(path, batch_packets=2048)]))


def test_both_paths_agree_on_a_generated_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mixed.pcap"
    write_synthetic_capture(path, packets=8000, seed=5)
    fast = flows_of(path)
    without_in_order_path(monkeypatch)
    assert flows_of(path) == fast


def test_runs_longer_than_the_first_pass_still_fill_the_prefix() -> None:
    talk = Conversation()
    frames = talk.handshake()
    messages = [bytes([i % 256]) * 50 for i in range(payload.FIRST_PASS + 40)]
    frames += [talk.packet(0, PSH | ACK, message) for message in messages]
    table = FlowTable(FlowSettings(prefix_bytes=50 * (payload.FIRST_PASS + 20)))
    table.feed(batch_of(frames))
    (result,) = table.flush()
    assert result.client_bytes == b"".join(messages[: payload.FIRST_PASS + 20])
    assert result.client_truncated


def test_syn_in_the_middle_of_a_run_takes_the_exact_path() -> None:
    talk = Conversation()
    first_syn = talk.packet(0, SYN)
    data = talk.packet(0, PSH | ACK, b"hello")
    table = FlowTable()
    table.feed(batch_of([first_syn, first_syn, data]))
    (result,) = table.flush()
    assert result.client_bytes == b"hello"
