"""X.509 certificates the simulated TLS servers present, made with ``cryptography`` (RFC 5280).

Keys derive from the run's seed so that the same seed gives the same certificate bytes:
ECDSA keys via :func:`ec.derive_private_key` and deterministic signatures (RFC 6979); the
legacy RSA key from primes searched with the seeded generator (PKCS #1 v1.5 signatures are
deterministic).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_SMALL_PRIMES = (
    3,
    5,
    7,
    11,
    13,
    17,
    19,
    23,
    29,
    31,
    37,
    41,
    43,
    47,
    53,
    59,
    61,
    67,
    71,
    73,
    79,
    83,
    89,
    97,
    101,
    103,
    107,
    109,
    113,
    127,
    131,
    137,
    139,
    149,
    151,
    157,
    163,
)
_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


@dataclass(frozen=True, slots=True)
class ServerCertificate:
    """DER certificate of a TLS server and the facts a posture check reads from it."""

    der: bytes
    subject: str
    self_signed: bool
    expired_at: float | None
    """When it expired, as a POSIX time, for a certificate already expired at capture time."""


def _is_probable_prime(candidate: int) -> bool:
    """Miller–Rabin with fixed witnesses (deterministic for the simulator's needs)."""
    d, s = candidate - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for witness in _WITNESSES:
        x = pow(witness, d, candidate)
        if x in (1, candidate - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, candidate)
            if x == candidate - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
    while True:
        if all(candidate % p for p in _SMALL_PRIMES) and _is_probable_prime(candidate):
            return candidate
        candidate += 2


def seeded_rsa_key(rng: random.Random, bits: int) -> rsa.RSAPrivateKey:
    """An RSA key whose primes come from ``rng`` (e = 65537)."""
    exponent = 65537
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % exponent:
            break
    d = pow(exponent, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(exponent, p * q)
    )
    return numbers.private_key()


def seeded_ec_key(rng: random.Random) -> ec.EllipticCurvePrivateKey:
    """A P-256 key whose scalar comes from ``rng``."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(rng.randrange(1, order), ec.SECP256R1())


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _moment(posix: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(posix), tz=dt.UTC)


def ca_issued_certificate(
    rng: random.Random, host: str, now: float, organisation: str
) -> ServerCertificate:
    """A server certificate for ``host`` issued by the hospital's internal CA, valid at ``now``.

    The CA signs with ECDSA P-256/SHA-256; the leaf carries serverAuth and a DNS SAN.
    """
    ca_key = seeded_ec_key(rng)
    leaf_key = seeded_ec_key(rng)
    ca_name = _name(f"{organisation} Issuing CA 1", organisation)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(host, organisation))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(rng.getrandbits(120) | 1 << 120)
        .not_valid_before(_moment(now - 200 * 86_400))
        .not_valid_after(_moment(now + 530 * 86_400))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    cert = builder.sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    return ServerCertificate(cert.public_bytes(serialization.Encoding.DER), host, False, None)


def legacy_self_signed(
    rng: random.Random, host: str, now: float, organisation: str
) -> ServerCertificate:
    """A self-signed RSA-1024 certificate that expired a year before ``now`` (planted risk)."""
    key = seeded_rsa_key(rng, 1024)
    name = _name(host, organisation)
    not_after = now - 365 * 86_400
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(rng.getrandbits(63) | 1)
        .not_valid_before(_moment(now - 6 * 365 * 86_400))
        .not_valid_after(_moment(not_after))
        .sign(key, hashes.SHA256())
    )
    return ServerCertificate(cert.public_bytes(serialization.Encoding.DER), host, True, not_after)
