"""HTTP/1.1 to the PACS web viewer (simulate/http.py)."""

from __future__ import annotations

import itertools

import dpkt

from medshield.core.enums import FindingKind
from medshield.simulate import http
from medshield.simulate.facts import Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode, facts_of


def test_basic_credentials_follow_rfc7617() -> None:
    assert http.basic_credentials("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_request_and_response_parse_with_dpkt() -> None:
    request = dpkt.http.Request(http.request("/viewer/", "pacs.example", "UA/1", "Basic eA=="))
    assert request.method == "GET" and request.uri == "/viewer/"
    assert request.headers["host"] == "pacs.example"
    assert request.headers["authorization"] == "Basic eA=="
    response = dpkt.http.Response(
        http.response(1_709_539_200_000_000, "nginx/1.24.0", "text/html", b"<html></html>")
    )
    assert response.status == "200" and response.headers["server"] == "nginx/1.24.0"
    assert response.body == b"<html></html>"
    assert response.headers["date"] == "Mon, 04 Mar 2024 08:00:00 GMT"


def test_admin_visit_sends_basic_auth_and_plants_the_risk(simulation: Simulation) -> None:
    hospital = simulation.hospital
    biomed, pacs = hospital.one(Role.BIOMED_WORKSTATION), hospital.one(Role.PACS)
    infra = hospital.one(Role.INFRASTRUCTURE_SERVER)
    steps = http.browse_viewer(simulation.context, biomed, pacs, infra, admin=True)
    items = list(itertools.islice(steps, 40))
    sent = b"".join(
        bytes(decode(i).data.data.data)
        for i in items
        if decode(i).type == 0x0800
        and isinstance(decode(i).data.data, dpkt.tcp.TCP)
        and decode(i).data.data.dport == http.HTTP_PORT
    )
    expected = http.basic_credentials(http.ADMIN_USER, http.ADMIN_PASSWORD)
    assert f"Authorization: {expected}".encode() in sent
    assert f"User-Agent: {biomed.product.user_agent}".encode() in sent
    risks = [(f.kind, f.device) for f in facts_of(items) if isinstance(f, Risk)]
    assert risks == [(FindingKind.CLEARTEXT_CREDENTIALS, pacs.id)]
