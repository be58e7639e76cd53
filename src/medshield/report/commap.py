"""The communication map of the report: clinical devices and their peers, as inline SVG.

Medical devices sit on an inner ring, coloured by clinical criticality; every peer they
exchanged traffic with sits on the outer ring (public addresses in red); a line joins each
pair, thicker for more packets. Pure string building: no JavaScript, no external request,
so the report stays one self-contained file.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from medshield.core.enums import MEDICAL_CATEGORIES, Criticality

SIZE = 760
INNER, OUTER = 190, 330
MAX_PEERS = 60
CRITICALITY_COLOURS = {
    Criticality.LIFE_SUSTAINING.value: "#b00020",
    Criticality.HIGH.value: "#e65100",
    Criticality.MEDIUM.value: "#f9a825",
    Criticality.LOW.value: "#546e7a",
}
MEDICAL = {category.value for category in MEDICAL_CATEGORIES}


def _ring(names: list[str], radius: float) -> dict[str, tuple[float, float]]:
    centre = SIZE / 2
    count = max(len(names), 1)
    return {
        name: (
            centre + radius * math.cos(2 * math.pi * i / count - math.pi / 2),
            centre + radius * math.sin(2 * math.pi * i / count - math.pi / 2),
        )
        for i, name in enumerate(names)
    }


def communication_map(
    devices: Iterable[Mapping[str, Any]], communications: Iterable[Mapping[str, Any]]
) -> str:
    """SVG of the medical devices (by IP) and their peers; empty when there is none."""
    medical = {
        ip: device for device in devices if device["category"] in MEDICAL for ip in device["ips"]
    }
    edges: dict[tuple[str, str], int] = {}
    for comm in communications:
        for local, remote in ((comm["src"], comm["dst"]), (comm["dst"], comm["src"])):
            if local in medical and remote not in medical:
                key = (local, remote)
                edges[key] = edges.get(key, 0) + int(comm["packets"])
    if not edges:
        return ""
    peers = sorted({remote for _, remote in edges}, key=lambda p: -sum(
        n for (_, r), n in edges.items() if r == p))[:MAX_PEERS]  # fmt: skip
    inner = _ring(sorted({local for local, _ in edges}), INNER)
    outer = _ring(sorted(peers), OUTER)
    busiest = max(edges.values())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="communication map">'
    ]
    for (local, remote), packets in sorted(edges.items()):
        if remote not in outer:
            continue
        (x1, y1), (x2, y2) = inner[local], outer[remote]
        width = 0.5 + 3 * packets / busiest
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#90a4ae" stroke-width="{width:.2f}" opacity="0.6"/>'
        )
    for ip, (x, y) in inner.items():
        device = medical[ip]
        colour = CRITICALITY_COLOURS.get(device["criticality"], "#546e7a")
        label = escape(f"{device['category']} {ip} ({device['criticality']})")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}"><title>{label}</title>'
            "</circle>"
        )
    for ip, (x, y) in outer.items():
        public = _is_public(ip)
        colour = "#c62828" if public else "#1565c0"
        parts.append(
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}">'
            f"<title>{escape(ip)}{' (public)' if public else ''}</title></rect>"
        )
        parts.append(
            f'<text x="{x:.1f}" y="{y - 7:.1f}" font-size="8" text-anchor="middle">'
            f"{escape(ip)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _is_public(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False
