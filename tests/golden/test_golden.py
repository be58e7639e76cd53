"""Golden tests: capture in, normalised assessment JSON out, compared with a committed baseline.

The simulated capture is made by the committed simulator (``medshield simulate``, fixed seed);
the third-party captures come from the shared data. Set ``MEDSHIELD_REGENERATE_GOLDEN=1`` to
rewrite the baselines after an intended change, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from medshield.testing.cli import assess_json, invoke
from medshield.testing.environment import require_shared

BASELINES = Path(__file__).parent / "baselines"
REGENERATE = os.environ.get("MEDSHIELD_REGENERATE_GOLDEN") == "1"

DEVICE_KEYS = (
    "id",
    "mac",
    "ips",
    "vendor",
    "manufacturer",
    "model",
    "firmware",
    "serial",
    "hostname",
    "category",
    "criticality",
    "software",
    "identifiers",
    "protocols",
    "first_seen",
    "last_seen",
    "risk",
)


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """What the baseline pins: devices, findings and traffic, without machine-local paths."""
    capture = {k: v for k, v in document["capture"].items() if k != "files"}
    return {
        "schema": document["schema"],
        "capture": capture,
        "devices": [{k: d[k] for k in DEVICE_KEYS} for d in document["devices"]],
        "findings": sorted(
            (
                {k: f[k] for k in ("kind", "severity", "device", "title", "evidence")}
                for f in document["findings"]
            ),
            key=lambda f: (f["kind"], f["device"], f["evidence"]),
        ),
        "communications": sorted(
            document["communications"],
            key=lambda c: (c["src"], c["dst"], c["dport"], c["app"] or ""),
        ),
    }


def check(name: str, document: dict[str, Any]) -> None:
    """Compare with (or, when regenerating, write) the baseline ``name``."""
    baseline = BASELINES / f"{name}.json"
    actual = normalise(document)
    if REGENERATE:
        baseline.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"regenerated {baseline.name}")
    expected = json.loads(baseline.read_text())
    assert actual == expected


def test_simulated_small_hospital(tmp_path: Path) -> None:
    capture = tmp_path / "small.pcap"
    code, _, err = invoke(
        "simulate", "--devices", "16", "--duration", "120", "--seed", "11", "--out", str(capture)
    )
    assert code == 0, err
    check("simulated-16-devices-seed-11", assess_json(capture, tmp_path))


@pytest.mark.parametrize(
    "relative",
    ["pcap/medical/ndpi/hl7.pcap", "pcap/medical/ndpi/dicom.pcap", "pcap/iot/zeek/mqtt.pcap"],
)
def test_shared_capture(relative: str, tmp_path: Path) -> None:
    capture = require_shared(relative)
    name = relative.removeprefix("pcap/").replace("/", "-").removesuffix(".pcap")
    check(name, assess_json(capture, tmp_path))
