"""TLS handshakes and sessions (simulate/tls.py), parsed back with dpkt and cryptography."""

from __future__ import annotations

import itertools
import random

import dpkt
from cryptography import x509

from medshield.core.enums import FindingKind
from medshield.simulate import tls
from medshield.simulate.context import INTERNET
from medshield.simulate.facts import Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode, facts_of


def hello(profile: tls.ClientProfile, seed: int = 1) -> dpkt.ssl.TLSClientHello:
    record = dpkt.ssl.TLSRecord(tls.client_hello(random.Random(seed), profile, "a.example"))
    return dpkt.ssl.TLSHandshake(record.data).data


def extension_types(message: dpkt.ssl.TLSClientHello) -> list[int]:
    return [kind for kind, _ in message.extensions]


def test_client_hello_carries_sni_and_the_profile_suites() -> None:
    for profile, suites in (
        (tls.ClientProfile.EMBEDDED, tls.EMBEDDED_SUITES),
        (tls.ClientProfile.LEGACY, tls.LEGACY_SUITES),
    ):
        message = hello(profile)
        sni = dict(message.extensions)[tls.EXT_SERVER_NAME]
        assert sni.endswith(b"a.example")
        assert [c.code for c in message.ciphersuites] == list(suites)


def test_embedded_client_offers_tls13_with_a_key_share() -> None:
    kinds = extension_types(hello(tls.ClientProfile.EMBEDDED))
    assert tls.EXT_SUPPORTED_VERSIONS in kinds and tls.EXT_KEY_SHARE in kinds
    assert tls.EXT_ALPN in kinds and tls.EXT_SIGNATURE_ALGORITHMS in kinds


def test_chrome_permutes_extensions_between_connections_with_grease() -> None:
    first, second = hello(tls.ClientProfile.CHROME, 1), hello(tls.ClientProfile.CHROME, 2)
    assert extension_types(first) != extension_types(second)
    real = {k for k in extension_types(first) if k not in tls.GREASE}
    assert real == {k for k in extension_types(second) if k not in tls.GREASE}
    assert extension_types(first)[0] in tls.GREASE


def flight_records(data: bytes) -> list[dpkt.ssl.TLSRecord]:
    records, at = [], 0
    while at < len(data):
        record = dpkt.ssl.TLSRecord(data[at:])
        records.append(record)
        at += 5 + record.length
    return records


def test_tls12_flight_shows_the_certificate(simulation: Simulation) -> None:
    server = tls.pump_server_tls(simulation.context, simulation.hospital.one(Role.PUMP_SERVER))
    assert server.certificate is not None
    flight = tls.server_flight_tls12(
        random.Random(1), tls.TLS12, server.cipher, server.certificate.der, ecdhe=True
    )
    records = flight_records(flight)
    assert [r.data[0] for r in records] == [2, 11, 12, 14]
    server_hello = dpkt.ssl.TLSHandshake(records[0].data).data
    assert server_hello.ciphersuite.code == tls.ECDHE_ECDSA_AES128_GCM_SHA256
    body = records[1].data[4:]
    first_length = int.from_bytes(body[3:6], "big")
    cert = x509.load_der_x509_certificate(body[6 : 6 + first_length])
    assert server.certificate.subject in cert.subject.rfc4514_string()
    assert server.weak_reasons == []


def test_legacy_server_is_weak_for_every_reason(simulation: Simulation) -> None:
    lab = simulation.hospital.one(Role.LAB_ANALYSER)
    server = tls.legacy_web_tls(simulation.context, lab)
    reasons = server.weak_reasons
    assert reasons[:2] == ["TLS 1.0", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"]
    assert "self-signed certificate" in reasons
    assert any(reason.startswith("certificate expired") for reason in reasons)


def test_cbc_records_are_block_aligned() -> None:
    record = tls.encrypted(random.Random(1), tls.TLS10, tls.RSA_3DES_EDE_CBC_SHA, 301)
    assert (len(record) - 5) % 8 == 0 and len(record) - 5 >= 301 + 20


def test_legacy_sessions_plant_weak_tls_on_the_server(simulation: Simulation) -> None:
    hospital = simulation.hospital
    biomed, lab = hospital.one(Role.BIOMED_WORKSTATION), hospital.one(Role.LAB_ANALYSER)
    infra = hospital.one(Role.INFRASTRUCTURE_SERVER)
    items = list(
        itertools.islice(tls.legacy_web_sessions(simulation.context, biomed, lab, infra), 40)
    )
    risks = [f for f in facts_of(items) if isinstance(f, Risk)]
    assert [(r.kind, r.device) for r in risks] == [(FindingKind.WEAK_TLS, lab.id)]
    hellos = [
        bytes(decode(i).data.data.data)
        for i in items
        if decode(i).type == 0x0800
        and isinstance(decode(i).data.data, dpkt.tcp.TCP)
        and bytes(decode(i).data.data.data)[:1] == b"\x16"
    ]
    server_hello = dpkt.ssl.TLSHandshake(dpkt.ssl.TLSRecord(hellos[1]).data).data
    assert server_hello.version == tls.TLS10


def test_internet_sessions_leave_through_the_router(simulation: Simulation) -> None:
    hospital = simulation.hospital
    ws = hospital.one(Role.CLINICAL_WORKSTATION)
    infra = hospital.one(Role.INFRASTRUCTURE_SERVER)
    steps = tls.internet_sessions(
        simulation.context,
        ws,
        infra,
        INTERNET,
        profile=tls.ClientProfile.CHROME,
        interval=(20.0, 30.0),
    )
    frames = [decode(i) for i in itertools.islice(steps, 30)]
    to_internet = [f for f in frames if f.type == 0x0800 and f.data.dst[0] != 10]
    assert to_internet and all(f.dst == hospital.router.mac for f in to_internet)
