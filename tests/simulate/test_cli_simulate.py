"""``medshield simulate`` (cli/simulate.py), run in-process through Typer."""

from __future__ import annotations

import json
from pathlib import Path

import dpkt
import pytest
import typer
from typer.testing import CliRunner

from medshield.cli.simulate import simulate

app = typer.Typer()


@app.callback()
def root() -> None:
    """Stand-in for the main app, which registers the same function."""


app.command("simulate")(simulate)
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["simulate", *args], catch_exceptions=False)
    return result.exit_code, result.stderr


def test_writes_capture_and_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "h.pcap", tmp_path / "t.json"
    code, err = invoke(
        "--out",
        str(out),
        "--truth",
        str(truth),
        "--devices",
        "10",
        "--duration",
        "20",
        "--seed",
        "4",
    )
    assert code == 0, err
    document = json.loads(truth.read_text())
    assert document["schema"] == "medshield.truth/1" and document["seed"] == 4
    with out.open("rb") as stream:
        assert sum(1 for _ in dpkt.pcap.Reader(stream)) == document["packets"]


def test_max_packets_caps_the_capture(tmp_path: Path) -> None:
    out = tmp_path / "h.pcap"
    code, _ = invoke("--out", str(out), "--devices", "10", "--max-packets", "50")
    assert code == 0
    with out.open("rb") as stream:
        assert sum(1 for _ in dpkt.pcap.Reader(stream)) == 50


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--devices", "5"), "--devices"),
        (("--duration", "-1"), "--duration"),
        (("--attacks", "scan,none"), "cannot be combined"),
        (("--attacks", "bogus"), "unknown attack"),
        (("--max-packets", "0"), "--max-packets"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    code, err = invoke("--out", str(tmp_path / "h.pcap"), *args)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "h.pcap").exists()


def test_unwritable_output_is_bad_input(tmp_path: Path) -> None:
    code, err = invoke(
        "--out", str(tmp_path / "missing" / "h.pcap"), "--devices", "10", "--duration", "5"
    )
    assert code == 2 and "missing" in err and len(err.strip().splitlines()) == 1


def test_out_is_required() -> None:
    code, _ = invoke("--devices", "10")
    assert code == 2
