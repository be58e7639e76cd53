"""TLS dissector: handshakes framed by hand per RFC 5246/8446 with certificates made by
``cryptography``, the FoxIO JA4 example, and the Zeek/nDPI TLS captures compared with tshark."""

from __future__ import annotations

import hashlib
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import dpkt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols import tls
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import read_flow_payloads

# --- handshakes framed per RFC 5246 §6.2 / §7.4 and RFC 8446 §4 ------------------------


def vector(data: bytes, length_size: int) -> bytes:
    """A variable-length vector (RFC 5246 §4.3)."""
    return len(data).to_bytes(length_size, "big") + data


def uint16s(values: list[int], length_size: int = 2) -> bytes:
    return vector(b"".join(v.to_bytes(2, "big") for v in values), length_size)


def extension(ext_type: int, data: bytes = b"") -> bytes:
    return ext_type.to_bytes(2, "big") + vector(data, 2)


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def records(content_type: int, data: bytes, size: int = 2**14, version: int = 0x0303) -> bytes:
    """``data`` fragmented into records of at most ``size`` bytes (RFC 5246 §6.2.1)."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return b"".join(
        bytes([content_type]) + version.to_bytes(2, "big") + vector(chunk, 2) for chunk in chunks
    )


def client_hello(ciphers: list[int], extensions: list[bytes], version: int = 0x0303) -> bytes:
    body = version.to_bytes(2, "big") + bytes(32) + vector(b"\x01" * 32, 1)
    body += uint16s(ciphers) + vector(b"\x00", 1) + vector(b"".join(extensions), 2)
    return handshake(1, body)


def server_hello(
    suite: int, extensions: list[bytes], version: int = 0x0303, random: bytes = bytes(32)
) -> bytes:
    body = version.to_bytes(2, "big") + random + vector(b"", 1) + suite.to_bytes(2, "big") + b"\x00"
    return handshake(2, body + vector(b"".join(extensions), 2))


def certificate_message(*ders: bytes) -> bytes:
    return handshake(11, vector(b"".join(vector(d, 3) for d in ders), 3))


def server_name(name: str) -> bytes:
    return extension(0, vector(b"\x00" + vector(name.encode(), 2), 2))


def alpn(*names: bytes) -> bytes:
    return extension(16, vector(b"".join(vector(n, 1) for n in names), 2))


# The FoxIO JA4 specification's worked example (JA4.md, "Raw Output", JA4_ro): the cipher
# suites, extensions and signature algorithms in their original order, plus GREASE values
# that the fingerprint must ignore.
JA4_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8]
JA4_CIPHERS += [0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
JA4_SIGNATURES = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
JA4_EXTENSIONS = [
    extension(0x3A3A),
    extension(0x001B, b"\x02\x00\x02"),
    server_name("medshield.example"),
    extension(0x0033, b"\x00\x00"),
    alpn(b"h2", b"http/1.1"),
    extension(0x4469, b"\x00\x03\x02h2"),
    extension(0x0017),
    extension(0x002D, b"\x01\x01"),
    extension(0x000D, uint16s(JA4_SIGNATURES)),
    extension(0x0005, b"\x01\x00\x00\x00\x00"),
    extension(0x0023),
    extension(0x0012),
    extension(0x002B, uint16s([0x2A2A, 0x0304, 0x0303], 1)),
    extension(0xFF01, b"\x00"),
    extension(0x000B, vector(b"\x00", 1)),
    extension(0x000A, uint16s([0x5A5A, 0x001D, 0x0017, 0x0018])),
    extension(0x0015, bytes(8)),
    extension(0xFAFA, b"\x00"),
]
JA4_HELLO = client_hello([0x0A0A, *JA4_CIPHERS], JA4_EXTENSIONS)


T = TypeVar("T")


def dissect(client: bytes, server: bytes = b"", port: int = 443) -> list[Observation]:
    return list(tls.dissect(tcp_payload(client, server, server_port=port)))


def first(observations: Sequence[Observation], kind: type[T]) -> T:
    return next(o for o in observations if isinstance(o, kind))


def test_client_hello_fields() -> None:
    hello = first(dissect(records(22, JA4_HELLO, version=0x0301)), tls.TlsClientHello)

    assert isinstance(hello, tls.TlsClientHello)
    assert (hello.record_version, hello.legacy_version) == (0x0301, 0x0303)
    assert hello.supported_versions == (0x0304, 0x0303)
    assert hello.highest_version == 0x0304
    assert hello.cipher_suites == tuple(JA4_CIPHERS)
    assert hello.extensions[:3] == (0x001B, 0x0000, 0x0033)
    assert 0x3A3A not in hello.extensions
    assert hello.server_name == "medshield.example"
    assert hello.alpn == ("h2", "http/1.1")
    assert hello.supported_groups == (0x001D, 0x0017, 0x0018)
    assert hello.signature_algorithms == tuple(JA4_SIGNATURES)
    assert hello.ec_point_formats == (0,)
    assert not hello.truncated


def test_ja4_matches_the_foxio_worked_example() -> None:
    hello = first(dissect(records(22, JA4_HELLO)), tls.TlsClientHello)

    assert isinstance(hello, tls.TlsClientHello)
    assert hello.ja4 == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert hello.ja4_r == (
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
        "_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"
        "_0403,0804,0401,0503,0805,0501,0806,0601"
    )


def test_ja4_is_stable_when_extensions_are_permuted() -> None:
    """The reason for JA4 over JA3: browsers shuffle extension order (BENCHMARKS.md)."""
    shuffled = client_hello(JA4_CIPHERS, list(reversed(JA4_EXTENSIONS)))
    one = first(dissect(records(22, JA4_HELLO)), tls.TlsClientHello)
    other = first(dissect(records(22, shuffled)), tls.TlsClientHello)

    assert isinstance(one, tls.TlsClientHello)
    assert isinstance(other, tls.TlsClientHello)
    assert one.ja4 == other.ja4
    assert one.ja3 != other.ja3


def test_ja3_string_and_hash() -> None:
    hello = first(dissect(records(22, JA4_HELLO)), tls.TlsClientHello)

    expected = (
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
        "27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
    )
    assert isinstance(hello, tls.TlsClientHello)
    assert hello.ja3 == expected
    assert hello.ja3_md5 == hashlib.md5(expected.encode()).hexdigest()


@pytest.mark.parametrize(
    ("first_alpn", "expected"),
    [
        (b"h2", "h2"),
        (b"http/1.1", "h1"),
        (b"x", "xx"),
        (b"\xab", "ab"),
        (b"\xab\xcd", "ad"),
        (b"\x30\xab", "3b"),
        (b"\x30\x31\xab\xcd", "3d"),
        (b"\x30\xab\xcd\x31", "01"),
    ],
)
def test_ja4_alpn_rules_from_the_spec(first_alpn: bytes, expected: str) -> None:
    assert tls.ja4_alpn([first_alpn]) == expected


def test_ja4_without_extensions_or_ciphers() -> None:
    hello = tls.HelloFields(legacy_version=0x0301, cipher_suites=[])
    assert tls.ja4(hello)[0] == "t10i000000_000000000000_000000000000"


def test_client_hello_cut_by_the_prefix() -> None:
    stream = records(22, JA4_HELLO)
    hello = first(dissect(stream[: stream.index(b"medshield")]), tls.TlsClientHello)

    assert isinstance(hello, tls.TlsClientHello)
    assert hello.truncated
    assert hello.cipher_suites == tuple(JA4_CIPHERS)
    assert hello.ja4 is None
    assert hello.ja3 is None


def test_server_hello_tls13_and_hello_retry_request() -> None:
    selected = server_hello(0x1301, [extension(43, b"\x03\x04"), extension(51, b"\x00\x1d")])
    retry_random = tls.HELLO_RETRY_REQUEST_RANDOM
    retry = server_hello(0x1302, [extension(43, b"\x03\x04")], random=retry_random)

    found = [
        first(dissect(b"", records(22, message)), tls.TlsServerHello)
        for message in (selected, retry)
    ]

    hello, hrr = found
    assert isinstance(hello, tls.TlsServerHello)
    assert isinstance(hrr, tls.TlsServerHello)
    assert (hello.legacy_version, hello.selected_version, hello.version_name) == (
        0x0303,
        0x0304,
        "TLS 1.3",
    )
    assert hello.cipher_suite_name == "TLS_AES_128_GCM_SHA256"
    assert hello.extensions == (43, 51)
    assert not hello.hello_retry_request
    assert hrr.hello_retry_request


def make_certificates() -> tuple[bytes, bytes, bytes, x509.Certificate]:
    """A CA (EC P-256), a leaf it issued (RSA 2048) and a self-signed RSA certificate."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "MedShield Test CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MedShield"),
        ]
    )
    leaf_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "pacs.hospital.example"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "General Hospital"),
        ]
    )
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 12, 30, tzinfo=UTC)

    def builder(
        subject: x509.Name,
        issuer: x509.Name,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        serial: int,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(end)
        )

    ca = builder(ca_name, ca_name, ca_key, 1).sign(ca_key, hashes.SHA256())
    leaf = (
        builder(leaf_name, ca_name, leaf_key, 0x0123456789ABCDEF)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("pacs.hospital.example"), x509.DNSName("pacs")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    own = builder(leaf_name, leaf_name, leaf_key, 99).sign(leaf_key, hashes.SHA256())
    der = serialization.Encoding.DER
    return leaf.public_bytes(der), ca.public_bytes(der), own.public_bytes(der), leaf


CERTIFICATES = make_certificates()
"""Made once per test process: RSA key generation is the slow part."""


@pytest.fixture(scope="module")
def certificates() -> tuple[bytes, bytes, bytes, x509.Certificate]:
    return CERTIFICATES


def test_certificate_chain_reassembled_across_records(
    certificates: tuple[bytes, bytes, bytes, x509.Certificate],
) -> None:
    leaf_der, ca_der, _, leaf = certificates
    flight = server_hello(0xC02F, []) + certificate_message(leaf_der, ca_der) + handshake(14, b"")

    observations = dissect(records(22, JA4_HELLO), records(22, flight, size=200))

    chain = [o for o in observations if isinstance(o, tls.TlsCertificate)]
    assert [c.position for c in chain] == [0, 1]
    cert, ca = chain
    assert cert.direction == Direction.SERVER_TO_CLIENT
    assert (cert.subject_cn, cert.subject_o) == ("pacs.hospital.example", "General Hospital")
    assert (cert.issuer_cn, cert.issuer_o) == ("MedShield Test CA", "MedShield")
    assert cert.subject == "O=General Hospital,CN=pacs.hospital.example"
    assert cert.serial == "123456789abcdef"
    assert cert.not_before == "2024-01-01T00:00:00+00:00"
    assert cert.not_after == "2026-01-01T12:30:00+00:00"
    assert not cert.self_issued
    assert not cert.self_signed
    assert (cert.key_type, cert.key_size, cert.curve) == ("RSA", 2048, None)
    assert cert.signature_algorithm == "ecdsa-with-SHA256"
    assert cert.signature_algorithm_oid == "1.2.840.10045.4.3.2"
    assert cert.san_dns == ("pacs.hospital.example", "pacs")
    assert cert.sha256 == leaf.fingerprint(hashes.SHA256()).hex()
    assert (ca.self_issued, ca.self_signed) == (True, True)
    assert (ca.key_type, ca.key_size, ca.curve) == ("EC", 256, "secp256r1")
    server = first(observations, tls.TlsServerHello)
    assert isinstance(server, tls.TlsServerHello)
    assert server.cipher_suite_name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"


def test_self_signed_needs_a_valid_signature(
    certificates: tuple[bytes, bytes, bytes, x509.Certificate],
) -> None:
    _, _, own_der, _ = certificates
    forged = own_der[:-1] + bytes([own_der[-1] ^ 0xFF])

    found = [
        first(dissect(b"", records(22, certificate_message(der))), tls.TlsCertificate)
        for der in (own_der, forged)
    ]

    assert [(c.self_issued, c.self_signed) for c in found] == [(True, True), (True, False)]


def test_undecodable_certificate_is_skipped(
    certificates: tuple[bytes, bytes, bytes, x509.Certificate],
) -> None:
    """An X.509 version of 20 (RFC 5280 §4.1.2.1 allows 0–2) makes ``cryptography`` raise
    its own InvalidVersion; the chain's other certificates are still read."""
    leaf_der, ca_der, _, _ = certificates
    version = b"\xa0\x03\x02\x01\x02"
    assert leaf_der.count(version) == 1
    broken = leaf_der.replace(version, b"\xa0\x03\x02\x01\x14")

    chain = [
        o
        for o in dissect(b"", records(22, certificate_message(broken, ca_der)))
        if isinstance(o, tls.TlsCertificate)
    ]

    assert [(c.position, c.subject_cn) for c in chain] == [(1, "MedShield Test CA")]


def test_cut_chain_keeps_the_whole_certificates(
    certificates: tuple[bytes, bytes, bytes, x509.Certificate],
) -> None:
    leaf_der, ca_der, _, _ = certificates
    stream = records(22, certificate_message(leaf_der, ca_der))
    cut = stream[: len(stream) - 50]

    chain = [o for o in dissect(b"", cut) if isinstance(o, tls.TlsCertificate)]

    assert [c.subject_cn for c in chain] == ["pacs.hospital.example"]


def test_handshake_after_change_cipher_spec_is_not_read(
    certificates: tuple[bytes, bytes, bytes, x509.Certificate],
) -> None:
    leaf_der, _, _, _ = certificates
    tls13 = server_hello(0x1301, [extension(43, b"\x03\x04")])
    server = records(22, tls13) + records(20, b"\x01") + records(22, certificate_message(leaf_der))

    observations = dissect(records(22, JA4_HELLO), server)

    assert [type(o) for o in observations] == [tls.TlsClientHello, tls.TlsServerHello]


def test_alerts_plain_and_encrypted() -> None:
    server = records(21, b"\x02\x28")
    client = records(22, JA4_HELLO) + records(20, b"\x01") + records(21, bytes(26))

    observations = dissect(client, server)

    alerts = [o for o in observations if isinstance(o, tls.TlsAlert)]
    summary = [(a.direction, a.encrypted, a.level_name, a.description_name) for a in alerts]
    assert summary == [
        (Direction.CLIENT_TO_SERVER, True, None, None),
        (Direction.SERVER_TO_CLIENT, False, "fatal", "handshake_failure"),
    ]


def test_sslv2_format_client_hello() -> None:
    specs = b"\x07\x00\xc0" + b"\x00\x00\x0a" + b"\x00\x00\x04" + b"\x00\x00\xff"
    body = b"\x01\x03\x01" + len(specs).to_bytes(2, "big") + b"\x00\x00\x00\x10" + specs
    body += bytes(16)
    stream = bytes([0x80 | len(body) >> 8, len(body) & 0xFF]) + body

    hello = first(dissect(stream), tls.TlsClientHello)

    assert tls.probe(stream)
    assert isinstance(hello, tls.TlsClientHello)
    assert hello.sslv2_format
    assert hello.legacy_version == 0x0301
    assert hello.cipher_suites == (0x000A, 0x0004, 0x00FF)
    assert hello.ja3 is None
    assert hello.ja4 is not None
    assert hello.ja4.startswith("t10i0300")


def test_weak_cipher_suites() -> None:
    found = tls.weak([0x0001, 0x0003, 0x0004, 0x000A, 0x0009, 0x0018, 0xC02F, 0x1301, 0xFFFF])

    weak = tls.CipherWeakness
    assert found == {
        0x0001: {weak.NULL},
        0x0003: {weak.EXPORT, weak.RC4},
        0x0004: {weak.RC4},
        0x000A: {weak.TRIPLE_DES},
        0x0009: {weak.DES},
        0x0018: {weak.ANONYMOUS, weak.RC4},
    }
    assert tls.cipher_suite_name(0xC02F) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert tls.cipher_suite_name(0xFFFF) is None


def test_probe() -> None:
    assert tls.probe(records(22, JA4_HELLO, version=0x0301))
    assert tls.probe(b"\x16\x03\x01")
    assert not tls.probe(records(22, server_hello(0x1301, [])))
    assert not tls.probe(b"GET / HTTP/1.1\r\n")
    assert not tls.probe(b"\x16\x02\x00\x00\x10\x01")


@pytest.mark.parametrize(
    "stream",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\xff\xff" + bytes(10),
        records(22, handshake(1, b"\x03\x03" + bytes(10))),
    ],
)
def test_malformed_input_raises_dissector_error(stream: bytes) -> None:
    with pytest.raises(DissectorError, match="tls flow 1"):
        tls.dissect(tcp_payload(stream, server_port=443))


# --- captures, compared with tshark --------------------------------------------------

TSHARK_FIELDS = [
    "tcp.srcport",
    "tcp.dstport",
    "tls.handshake.type",
    "tls.handshake.version",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_server_name",
    "tls.handshake.ciphersuite",
    "tls.handshake.cipherspec",
    "tls.handshake.ja3_full",
    "tls.handshake.ja3",
    "x509af.serialNumber",
    "x509af.utcTime",
    "x509af.generalizedTime",
    "x509ce.dNSName",
    "x509sat.printableString",
    "x509sat.uTF8String",
    "x509sat.teletexString",
    "tls.alert_message.level",
    "tls.alert_message.desc",
]
TLS_CAPTURES = [
    "pcap/iot/zeek/tls/client-certificate.pcap",
    "pcap/iot/zeek/tls/ecdsa-cert.pcap",
    "pcap/iot/zeek/tls/signed_certificate_timestamp_tls1_0.pcap",
    "pcap/iot/zeek/tls/tls-1.2-handshake-failure.pcap",
    "pcap/iot/zeek/tls/tls-conn-with-extensions.pcap",
    "pcap/iot/zeek/tls/tls-expired-cert.pcap",
    "pcap/iot/zeek/tls/tls1.2.pcap",
    "pcap/iot/zeek/tls/tls13_wolfssl.pcap",
    "pcap/iot/zeek/tls/tls1_1.pcap",
    "pcap/iot/ndpi/tls_1.2_unidirectional_client.pcapng",
    "pcap/iot/ndpi/tls_1.2_unidirectional_server.pcapng",
    "pcap/iot/ndpi/tls_1.3_unidirectional_client.pcapng",
    "pcap/iot/ndpi/tls_1.3_unidirectional_server.pcapng",
    "pcap/iot/ndpi/tls_alert.pcap",
    "pcap/iot/ndpi/google_ssl.pcap",
    "pcap/iot/ndpi/ssl-cert-name-mismatch.pcap",
    "pcap/iot/ndpi/selfsigned.pcap",
    "pcap/iot/ndpi/ja3_lots_of_cipher_suites.pcap",
]


def tshark_rows(tshark: str, capture: Path) -> list[dict[str, list[str]]]:
    """One row per packet holding a hello, a certificate or an alert."""
    shown = "tls.handshake.type in {1, 2, 11} || tls.alert_message"
    output = subprocess.run(
        [tshark, "-r", str(capture), "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", shown]
        + ["-T", "fields", "-E", "separator=\t"]
        + ["-E", "occurrence=a", "-E", "aggregator=|"]
        + [arg for name in TSHARK_FIELDS for arg in ("-e", name)],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    rows = []
    for line in output.splitlines():
        values = line.split("\t")
        rows.append(
            {f: values[i].split("|") if values[i] else [] for i, f in enumerate(TSHARK_FIELDS)}
        )
    return rows


def hex16(values: list[str]) -> list[int]:
    return [int(v, 16) for v in values]


def tshark_time(text: str) -> str:
    """``2011-05-04 00:00:00 (UTC)`` as ISO 8601."""
    moment = datetime.strptime(text.removesuffix(" (UTC)"), "%Y-%m-%d %H:%M:%S")
    return moment.replace(tzinfo=UTC).isoformat()


def check_client_hello(hello: tls.TlsClientHello, row: dict[str, list[str]]) -> None:
    names = row["tls.handshake.extensions_server_name"]
    assert hello.server_name == (names[0] if names else None)
    assert hello.legacy_version == hex16(row["tls.handshake.version"])[0]
    if hello.sslv2_format:
        specs = hex16(row["tls.handshake.cipherspec"])
        assert list(hello.cipher_suites) == [s for s in specs if s >> 16 == 0]
        return
    offered = [c for c in hex16(row["tls.handshake.ciphersuite"]) if not tls.is_grease(c)]
    assert list(hello.cipher_suites) == offered
    assert [hello.ja3, hello.ja3_md5] == row["tls.handshake.ja3_full"] + row["tls.handshake.ja3"]


def check_server_hello(hello: tls.TlsServerHello, row: dict[str, list[str]]) -> None:
    assert hello.legacy_version == hex16(row["tls.handshake.version"])[0]
    selected = hex16(row["tls.handshake.extensions.supported_version"]) or [hello.legacy_version]
    assert hello.selected_version == selected[0]
    assert hello.cipher_suite == hex16(row["tls.handshake.ciphersuite"])[0]


def check_chain(chain: list[tls.TlsCertificate], row: dict[str, list[str]]) -> None:
    assert [int(c.serial, 16) for c in chain] == hex16(row["x509af.serialNumber"])
    times = row["x509af.utcTime"]
    if not row["x509af.generalizedTime"]:
        validity = [t for c in chain for t in (c.not_before, c.not_after)]
        assert validity == [tshark_time(t) for t in times]
    assert {n for c in chain for n in c.san_dns} == set(row["x509ce.dNSName"])
    strings = {
        text
        for name in ("x509sat.printableString", "x509sat.uTF8String", "x509sat.teletexString")
        for text in row[name]
    }
    for certificate in chain:
        assert certificate.subject_cn is None or certificate.subject_cn in strings


@pytest.mark.tshark
@pytest.mark.parametrize("relative", TLS_CAPTURES)
def test_captures_match_tshark(tshark: str, relative: str) -> None:
    capture = require_shared(relative)
    rows = tshark_rows(tshark, capture)
    compared = 0
    for flow in read_flow_payloads(capture):
        client_port, server_port = flow.flow.client.port, flow.flow.server.port
        ports = {
            Direction.CLIENT_TO_SERVER: [str(client_port), str(server_port)],
            Direction.SERVER_TO_CLIENT: [str(server_port), str(client_port)],
        }
        sides = {
            direction: [r for r in rows if r["tcp.srcport"] + r["tcp.dstport"] == pair]
            for direction, pair in ports.items()
        }
        observations = tls.dissect(flow)
        for hello in (o for o in observations if isinstance(o, tls.TlsClientHello)):
            row = next(
                r for r in sides[Direction.CLIENT_TO_SERVER] if "1" in r["tls.handshake.type"]
            )
            check_client_hello(hello, row)
            compared += 1
        for server in (o for o in observations if isinstance(o, tls.TlsServerHello)):
            row = next(
                r for r in sides[Direction.SERVER_TO_CLIENT] if "2" in r["tls.handshake.type"]
            )
            check_server_hello(server, row)
            compared += 1
        for direction, side_rows in sides.items():
            chain = [
                o
                for o in observations
                if isinstance(o, tls.TlsCertificate) and o.direction == direction
            ]
            certificate_rows = [r for r in side_rows if "11" in r["tls.handshake.type"]]
            assert bool(chain) == bool(certificate_rows)
            if chain:
                check_chain(chain, certificate_rows[0])
                compared += 1
            plain = [
                (a.level, a.description)
                for a in observations
                if isinstance(a, tls.TlsAlert) and a.direction == direction and not a.encrypted
            ]
            expected = [
                (int(r["tls.alert_message.level"][0]), int(r["tls.alert_message.desc"][0]))
                for r in side_rows
                if r["tls.alert_message.level"]
            ]
            assert plain == expected
        hellos = [r for r in sides[Direction.CLIENT_TO_SERVER] if "1" in r["tls.handshake.type"]]
        assert len(hellos) == sum(isinstance(o, tls.TlsClientHello) for o in observations)
    assert compared > 0


def write_pcap(path: Path, payloads: list[bytes], port: int = 443) -> None:
    """One Ethernet/IPv4/TCP packet per payload, each from its own client port."""
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for index, data in enumerate(payloads):
            flags = dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH
            segment = dpkt.tcp.TCP(sport=40000 + index, dport=port, seq=1, ack=1, flags=flags)
            segment.data = data
            ip = dpkt.ip.IP(src=bytes([192, 0, 2, 10]), dst=bytes([192, 0, 2, 20]), p=6)
            ip.data = segment
            frame = dpkt.ethernet.Ethernet(src=bytes(6), dst=bytes(6), type=0x0800, data=ip)
            writer.writepkt(bytes(frame), ts=index + 1)


@pytest.mark.tshark
def test_wireshark_reads_our_hellos_alike(tshark: str, tmp_path: Path) -> None:
    """Wireshark names every suite of our IANA table alike, and computes the same JA3."""
    every_suite = client_hello(sorted(tls.CIPHER_SUITES), [server_name("x.example")])
    capture = tmp_path / "hellos.pcap"
    write_pcap(capture, [records(22, JA4_HELLO), records(22, every_suite)])

    pdml = subprocess.run(
        [tshark, "-r", str(capture), "-T", "pdml"],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    packets = list(ET.fromstring(pdml).iter("packet"))
    assert len(packets) == 2
    named = {}
    for field in packets[1].iter("field"):
        if field.get("name") == "tls.handshake.ciphersuite":
            named[int(field.get("show") or "0", 16)] = (field.get("showname") or "").split(" ")[2]
    assert named == tls.CIPHER_SUITES
    ja3 = next(
        f.get("show") for f in packets[0].iter("field") if f.get("name") == "tls.handshake.ja3_full"
    )
    hello = first(dissect(records(22, JA4_HELLO)), tls.TlsClientHello)
    assert isinstance(hello, tls.TlsClientHello)
    assert hello.ja3 == ja3


# --- hostile input ---------------------------------------------------------------------

FUZZ = settings(
    max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
SERVER_SEED = records(
    22,
    server_hello(0xC02F, [extension(43, b"\x03\x03")])
    + certificate_message(CERTIFICATES[0], CERTIFICATES[1]),
    size=700,
)


def payload(client: bytes, server: bytes = b"") -> FlowPayload:
    return tcp_payload(client, server, server_port=443)


@FUZZ
@given(st.binary(max_size=2048), st.binary(max_size=512))
def test_random_bytes_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(tls.dissect, payload(client, server))
    dissect_or_reject(tls.dissect, payload(b"\x16\x03\x01" + client, b"\x16\x03\x03" + server))


@FUZZ
@given(mutated(records(22, JA4_HELLO)), mutated(SERVER_SEED))
def test_mutated_handshakes_raise_only_dissector_error(client: bytes, server: bytes) -> None:
    dissect_or_reject(tls.dissect, payload(client, server))
