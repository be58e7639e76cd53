"""Benchmark: match 50,000 synthetic devices against every shared advisory.

Devices are built from the real advisory products of ``shared/data/advisories`` (vendor,
product name, a firmware version inside or just above the affected range) mixed with
unrelated devices (other vendors, other models). The script times building the advisory index
and matching all devices, ``--repeat`` times, and prints the median; then the same without
the matcher's result cache (every device computed on its own, as if all were distinct). It
also prints what was matched: how many in-range devices came out ``affected``, and how many
out-of-range or unrelated devices did. An out-of-range device can rightly be affected when
another product of the same advisory, whose name contains the device's model, covers its
version; unrelated devices must never match.

    .venv/bin/python bench/vulns_match.py [--devices 50000] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from medshield.core.device import Device, Evidence
from medshield.testing.environment import shared_data_dir
from medshield.vulns.importer import import_paths
from medshield.vulns.matching import AdvisoryIndex, DeviceMatcher, match_devices
from medshield.vulns.model import Advisory, Product
from medshield.vulns.versions import InRange, RangeKind
from medshield.vulns.vex import AnalysisState

UNRELATED_VENDORS = ("Dell", "Hewlett Packard", "Cisco Systems", "Zebra", "Lantronix", "Axis")
UNRELATED_MODELS = ("OptiPlex 7080", "LaserJet M404", "Catalyst 9300", "ZT410", "XPort", "P3245")
EVIDENCE = Evidence("bench", 0.0, "synthetic device")


@dataclass(frozen=True, slots=True)
class Planted:
    """What a synthetic device was built to be."""

    advisory: str | None
    expect_affected: bool
    """True when a product of that advisory with the device's vendor and name, listed as
    affected, has the device's version in its range (several products can share a name)."""


def bump(version: str, delta: int) -> str | None:
    """``version`` with its last number changed by ``delta`` (None below zero)."""
    found = list(re.finditer(r"\d+", version))
    if not found:
        return None
    last = found[-1]
    value = int(last.group()) + delta
    if value < 0:
        return None
    digits = str(value).zfill(len(last.group()))
    return version[: last.start()] + digits + version[last.end() :]


def versions_for(product: Product) -> tuple[str | None, str | None]:
    """A version inside the product's range and one just above it (None when unknown)."""
    spec = product.version
    if spec.kind is RangeKind.ALL:
        return "1.0", None
    if spec.kind not in {RangeKind.RANGE, RangeKind.EXACT} or len(spec.alternatives) != 1:
        return None, None
    last = spec.alternatives[0][-1]
    inside: str | None
    above: str | None
    if last.comparator in {"<=", "="}:
        inside, above = last.version, bump(last.version, 1)
    elif last.comparator == "<":
        inside, above = bump(last.version, -1), last.version
    else:
        return None, None
    if inside is not None and spec.contains(inside) is not InRange.YES:
        inside = None
    if above is not None and spec.contains(above) is not InRange.NO:
        above = None
    return inside, above


def device(number: int, vendor: str, model: str, firmware: str | None) -> Device:
    """A device with the attributes the inventory fills."""
    built = Device(f"bench-{number:06d}", None, 0.0, 0.0)
    built.add_attribute("vendor", vendor, 0.9, EVIDENCE)
    built.add_attribute("model", model, 0.9, EVIDENCE)
    if firmware:
        built.add_attribute("firmware", firmware, 0.8, EVIDENCE)
    return built


def build_devices(
    advisories: list[Advisory], count: int, seed: int
) -> tuple[list[Device], dict[str, Planted]]:
    """``count`` devices: about 40 % in range, 30 % above the range, 30 % unrelated."""
    rng = random.Random(seed)
    candidates = []
    for advisory in advisories:
        affected = {
            pid
            for v in advisory.vulnerabilities
            for s, ids in v.product_status
            if s.affected
            for pid in ids
        }
        for product in advisory.products:
            inside, above = versions_for(product)
            if product.vendor and product.product_id in affected and (inside or above):
                candidates.append((advisory, product, inside, above, affected))
    devices: list[Device] = []
    planted: dict[str, Planted] = {}
    for number in range(count):
        roll = rng.random()
        advisory, product, inside, above, affected = rng.choice(candidates)
        firmware = inside if roll < 0.4 else above if roll < 0.7 else None
        if firmware:
            built = device(number, product.vendor, product.name, firmware)
            expected = any(
                other.product_id in affected
                and (other.vendor, other.name) == (product.vendor, product.name)
                and other.version.contains(firmware) is InRange.YES
                for other in advisory.products
            )
            planted[built.id] = Planted(advisory.id, expected)
        else:
            vendor, model = rng.choice(UNRELATED_VENDORS), rng.choice(UNRELATED_MODELS)
            built = device(number, vendor, f"{model} rev {rng.randint(1, 40)}", "1.0")
            planted[built.id] = Planted(None, False)
        devices.append(built)
    return devices, planted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--advisories", type=Path, default=shared_data_dir() / "advisories")
    args = parser.parse_args()

    started = time.perf_counter()
    imported = import_paths([args.advisories])
    load_seconds = time.perf_counter() - started
    advisories = list(imported.advisories)
    devices, planted = build_devices(advisories, args.devices, args.seed)

    timings, index_timings, uncached = [], [], []
    matches = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        index = AdvisoryIndex(advisories)
        indexed = time.perf_counter()
        matches = match_devices(devices, index)
        finished = time.perf_counter()
        index_timings.append(indexed - started)
        timings.append(finished - started)
        matcher = DeviceMatcher(index, cache=False)
        started = time.perf_counter()
        for built in devices:
            matcher.match(built)
        uncached.append(time.perf_counter() - started)
    combinations = len({(d.best("vendor"), d.best("model"), d.best("firmware")) for d in devices})

    states = Counter(m.state for m in matches)
    affected = {(m.device, m.advisory) for m in matches if m.state is AnalysisState.AFFECTED}
    triage = {(m.device, m.advisory) for m in matches if m.state is AnalysisState.IN_TRIAGE}
    wanted = [(d, p.advisory) for d, p in planted.items() if p.expect_affected]
    found = sum(1 for key in wanted if key in affected)
    found_triage = sum(1 for key in wanted if key in triage)
    above = [(d, p.advisory) for d, p in planted.items() if p.advisory and not p.expect_affected]
    wrongly_above = sum(1 for key in above if key in affected)
    above_triage = sum(1 for key in above if key in triage)
    unrelated = {d for d, p in planted.items() if p.advisory is None}
    wrongly_unrelated = sum(1 for m in matches if m.device in unrelated)

    print(
        f"advisories: {len(advisories)} files, {len(index)} indexed products "
        f"(import {load_seconds:.2f} s)"
    )
    print(
        f"devices: {len(devices)} ({len(wanted)} in range, {len(above)} above range, "
        f"{len(unrelated)} unrelated)"
    )
    print(f"index build: median {statistics.median(index_timings):.3f} s")
    print(
        f"index + match, {args.repeat} runs: "
        + ", ".join(f"{t:.2f} s" for t in timings)
        + f"; median {statistics.median(timings):.2f} s "
        f"({len(devices) / statistics.median(timings):,.0f} devices/s)"
    )
    print(
        f"without the result cache ({combinations} distinct vendor/model/firmware): "
        + ", ".join(f"{t:.2f} s" for t in uncached)
        + f"; median {statistics.median(uncached):.2f} s"
    )
    print(
        f"matches: {len(matches)} ({states[AnalysisState.AFFECTED]} affected, "
        f"{states[AnalysisState.IN_TRIAGE]} in_triage)"
    )
    print(f"in-range devices: affected {found}, in_triage {found_triage}, of {len(wanted)}")
    print(
        f"out-of-range devices: affected {wrongly_above} (wrong), in_triage {above_triage}, "
        f"of {len(above)}"
    )
    print(f"unrelated devices matched: {wrongly_unrelated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
