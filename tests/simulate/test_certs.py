"""Certificates of the simulated TLS servers (simulate/certs.py)."""

from __future__ import annotations

import datetime as dt
import random

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from medshield.simulate.certs import ca_issued_certificate, legacy_self_signed, seeded_rsa_key

NOW = 1_709_539_200.0


def test_ca_issued_certificate_is_valid_now_and_not_self_signed() -> None:
    made = ca_issued_certificate(random.Random(1), "pumpsrv-01.hospital.example", NOW, "Sim")
    cert = x509.load_der_x509_certificate(made.der)
    moment = dt.datetime.fromtimestamp(NOW, tz=dt.UTC)
    assert cert.not_valid_before_utc < moment < cert.not_valid_after_utc
    assert cert.issuer != cert.subject and not made.self_signed
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["pumpsrv-01.hospital.example"]


def test_legacy_certificate_is_self_signed_rsa_1024_and_expired() -> None:
    made = legacy_self_signed(random.Random(1), "xn1000-01.hospital.example", NOW, "Sysmex")
    cert = x509.load_der_x509_certificate(made.der)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 1024
    assert cert.issuer == cert.subject and made.self_signed
    assert cert.not_valid_after_utc < dt.datetime.fromtimestamp(NOW, tz=dt.UTC)
    assert cert.signature_hash_algorithm is not None
    key.verify(
        cert.signature,
        cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        cert.signature_hash_algorithm,
    )


def test_same_seed_same_certificate_bytes() -> None:
    first = ca_issued_certificate(random.Random(7), "a.example", NOW, "Sim").der
    again = ca_issued_certificate(random.Random(7), "a.example", NOW, "Sim").der
    other = ca_issued_certificate(random.Random(8), "a.example", NOW, "Sim").der
    assert first == again != other
    legacy = legacy_self_signed(random.Random(7), "b.example", NOW, "Sim").der
    assert legacy == legacy_self_signed(random.Random(7), "b.example", NOW, "Sim").der


def test_seeded_rsa_key_is_consistent() -> None:
    key = seeded_rsa_key(random.Random(3), 512)
    numbers = key.private_numbers()
    assert numbers.p * numbers.q == numbers.public_numbers.n
    assert numbers.d * numbers.public_numbers.e % ((numbers.p - 1) * (numbers.q - 1)) == 1
