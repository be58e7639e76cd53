"""Risk weights: shipped data and its checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from medshield.core.errors import BadInputError
from medshield.risk.weights import FACTORS, load_weights

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "medshield" / "risk" / "weights.yaml"


def test_shipped_weights_add_up_to_100() -> None:
    weights = load_weights()
    assert set(weights.max_points) == set(FACTORS)
    assert sum(weights.max_points.values()) == 100


def _write(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    change(data)
    path = tmp_path / "weights.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["factors"]["exposure"].update(max_points=11), "add up to 100"),
        (lambda d: d["factors"].pop("hygiene"), "factors must be exactly"),
        (lambda d: d["factors"]["hygiene"]["findings"].update({"telnet": 1.0}), "ValueError"),
        (lambda d: d["site"].update(top_share=2), "outside 0–1"),
    ],
)
def test_bad_weights_are_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    with pytest.raises(BadInputError, match=r"weights\.yaml") as raised:
        load_weights(_write(tmp_path, change))
    assert message in str(raised.value)
