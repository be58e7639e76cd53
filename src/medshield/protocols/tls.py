"""TLS (SSL 3.0, TLS 1.0–1.3) handshakes as far as they travel in cleartext.

The record layer (RFC 5246 §6.2.1, RFC 8446 §5.1) is read until the first ChangeCipherSpec
or encrypted record of each direction, and handshake messages are reassembled across
records (RFC 5246 §6.2.1: a message may span records). From the client: the ClientHello
(RFC 5246 §7.4.1.2, RFC 8446 §4.1.2) with its JA3 and JA4 fingerprints; from the server:
the ServerHello (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3, supported_versions §4.2.1) and, up to
TLS 1.2, the Certificate chain (RFC 5246 §7.4.2) decoded with ``cryptography``; from both:
Alert records (RFC 5246 §7.2). An SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2)
is read too.

:func:`weak` names the weaknesses of cipher suites from their IANA names.
"""

from __future__ import annotations

import hashlib
import struct
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum, StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, ClassVar

from cryptography import x509
from cryptography.exceptions import InternalError, InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from medshield.core.enums import Direction, Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.support import FlowContext, client_context, server_context


class ContentType(IntEnum):
    """Record content types (RFC 5246 §6.2.1, RFC 6520 heartbeat)."""

    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEARTBEAT = 24


class HandshakeType(IntEnum):
    """Handshake message types (RFC 5246 §7.4, RFC 8446 §4)."""

    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    CERTIFICATE = 11


class Extension(IntEnum):
    """Extension types read here (IANA TLS ExtensionType values)."""

    SERVER_NAME = 0
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SIGNATURE_ALGORITHMS = 13
    ALPN = 16
    SUPPORTED_VERSIONS = 43


RECORD_HEADER_SIZE = 5
MAX_RECORD_LENGTH = 2**14 + 2048
"""Largest TLSCiphertext fragment (RFC 5246 §6.2.3)."""
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
"""ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3)."""

VERSION_NAMES = {
    0x0002: "SSL 2.0",
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
    0xFEFF: "DTLS 1.0",
    0xFEFD: "DTLS 1.2",
    0xFEFC: "DTLS 1.3",
}
JA4_VERSIONS = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
"""Two-character version of the JA4 fingerprint (FoxIO JA4 spec, "TLS and DTLS Version")."""
JA4_EMPTY_HASH = "000000000000"

ALERT_LEVELS = {1: "warning", 2: "fatal"}
ALERT_DESCRIPTIONS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}
"""AlertDescription (RFC 5246 §7.2, RFC 8446 §6, RFC 7301 §3.2)."""

CIPHER_SUITES = {
    0x0000: "TLS_NULL_WITH_NULL_NULL",
    0x0001: "TLS_RSA_WITH_NULL_MD5",
    0x0002: "TLS_RSA_WITH_NULL_SHA",
    0x0003: "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0006: "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
    0x0007: "TLS_RSA_WITH_IDEA_CBC_SHA",
    0x0008: "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0009: "TLS_RSA_WITH_DES_CBC_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x000B: "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA",
    0x000C: "TLS_DH_DSS_WITH_DES_CBC_SHA",
    0x000D: "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA",
    0x000E: "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x000F: "TLS_DH_RSA_WITH_DES_CBC_SHA",
    0x0010: "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0011: "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA",
    0x0012: "TLS_DHE_DSS_WITH_DES_CBC_SHA",
    0x0013: "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
    0x0014: "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0015: "TLS_DHE_RSA_WITH_DES_CBC_SHA",
    0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0017: "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5",
    0x0018: "TLS_DH_anon_WITH_RC4_128_MD5",
    0x0019: "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA",
    0x001A: "TLS_DH_anon_WITH_DES_CBC_SHA",
    0x001B: "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA",
    0x002C: "TLS_PSK_WITH_NULL_SHA",
    0x002D: "TLS_DHE_PSK_WITH_NULL_SHA",
    0x002E: "TLS_RSA_PSK_WITH_NULL_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0030: "TLS_DH_DSS_WITH_AES_128_CBC_SHA",
    0x0031: "TLS_DH_RSA_WITH_AES_128_CBC_SHA",
    0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0034: "TLS_DH_anon_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x0036: "TLS_DH_DSS_WITH_AES_256_CBC_SHA",
    0x0037: "TLS_DH_RSA_WITH_AES_256_CBC_SHA",
    0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x003A: "TLS_DH_anon_WITH_AES_256_CBC_SHA",
    0x003B: "TLS_RSA_WITH_NULL_SHA256",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x003E: "TLS_DH_DSS_WITH_AES_128_CBC_SHA256",
    0x003F: "TLS_DH_RSA_WITH_AES_128_CBC_SHA256",
    0x0040: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    0x0041: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0042: "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA",
    0x0043: "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0044: "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA",
    0x0045: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0046: "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    0x0068: "TLS_DH_DSS_WITH_AES_256_CBC_SHA256",
    0x0069: "TLS_DH_RSA_WITH_AES_256_CBC_SHA256",
    0x006A: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x006C: "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
    0x006D: "TLS_DH_anon_WITH_AES_256_CBC_SHA256",
    0x0084: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0085: "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA",
    0x0086: "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0087: "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA",
    0x0088: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0089: "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA",
    0x008A: "TLS_PSK_WITH_RC4_128_SHA",
    0x008B: "TLS_PSK_WITH_3DES_EDE_CBC_SHA",
    0x008C: "TLS_PSK_WITH_AES_128_CBC_SHA",
    0x008D: "TLS_PSK_WITH_AES_256_CBC_SHA",
    0x008E: "TLS_DHE_PSK_WITH_RC4_128_SHA",
    0x008F: "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA",
    0x0090: "TLS_DHE_PSK_WITH_AES_128_CBC_SHA",
    0x0091: "TLS_DHE_PSK_WITH_AES_256_CBC_SHA",
    0x0092: "TLS_RSA_PSK_WITH_RC4_128_SHA",
    0x0093: "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA",
    0x0094: "TLS_RSA_PSK_WITH_AES_128_CBC_SHA",
    0x0095: "TLS_RSA_PSK_WITH_AES_256_CBC_SHA",
    0x0096: "TLS_RSA_WITH_SEED_CBC_SHA",
    0x0097: "TLS_DH_DSS_WITH_SEED_CBC_SHA",
    0x0098: "TLS_DH_RSA_WITH_SEED_CBC_SHA",
    0x0099: "TLS_DHE_DSS_WITH_SEED_CBC_SHA",
    0x009A: "TLS_DHE_RSA_WITH_SEED_CBC_SHA",
    0x009B: "TLS_DH_anon_WITH_SEED_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00A0: "TLS_DH_RSA_WITH_AES_128_GCM_SHA256",
    0x00A1: "TLS_DH_RSA_WITH_AES_256_GCM_SHA384",
    0x00A2: "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
    0x00A3: "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
    0x00A4: "TLS_DH_DSS_WITH_AES_128_GCM_SHA256",
    0x00A5: "TLS_DH_DSS_WITH_AES_256_GCM_SHA384",
    0x00A6: "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
    0x00A7: "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
    0x00A8: "TLS_PSK_WITH_AES_128_GCM_SHA256",
    0x00A9: "TLS_PSK_WITH_AES_256_GCM_SHA384",
    0x00AA: "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256",
    0x00AB: "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384",
    0x00AC: "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256",
    0x00AD: "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384",
    0x00AE: "TLS_PSK_WITH_AES_128_CBC_SHA256",
    0x00AF: "TLS_PSK_WITH_AES_256_CBC_SHA384",
    0x00B0: "TLS_PSK_WITH_NULL_SHA256",
    0x00B1: "TLS_PSK_WITH_NULL_SHA384",
    0x00B2: "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256",
    0x00B3: "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384",
    0x00B4: "TLS_DHE_PSK_WITH_NULL_SHA256",
    0x00B5: "TLS_DHE_PSK_WITH_NULL_SHA384",
    0x00B6: "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256",
    0x00B7: "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384",
    0x00B8: "TLS_RSA_PSK_WITH_NULL_SHA256",
    0x00B9: "TLS_RSA_PSK_WITH_NULL_SHA384",
    0x00BA: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BB: "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BC: "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BD: "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BE: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BF: "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256",
    0x00C0: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C1: "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C2: "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C3: "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C4: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C5: "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
    0x5600: "TLS_FALLBACK_SCSV",
    0xC001: "TLS_ECDH_ECDSA_WITH_NULL_SHA",
    0xC002: "TLS_ECDH_ECDSA_WITH_RC4_128_SHA",
    0xC003: "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC004: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    0xC005: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    0xC006: "TLS_ECDHE_ECDSA_WITH_NULL_SHA",
    0xC007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    0xC008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC00B: "TLS_ECDH_RSA_WITH_NULL_SHA",
    0xC00C: "TLS_ECDH_RSA_WITH_RC4_128_SHA",
    0xC00D: "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC00E: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
    0xC00F: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
    0xC010: "TLS_ECDHE_RSA_WITH_NULL_SHA",
    0xC011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC015: "TLS_ECDH_anon_WITH_NULL_SHA",
    0xC016: "TLS_ECDH_anon_WITH_RC4_128_SHA",
    0xC017: "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA",
    0xC018: "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
    0xC019: "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
    0xC01A: "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA",
    0xC01B: "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC01C: "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA",
    0xC01D: "TLS_SRP_SHA_WITH_AES_128_CBC_SHA",
    0xC01E: "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA",
    0xC01F: "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA",
    0xC020: "TLS_SRP_SHA_WITH_AES_256_CBC_SHA",
    0xC021: "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA",
    0xC022: "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC025: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC026: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC029: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    0xC02A: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02D: "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02E: "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xC031: "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
    0xC032: "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
    0xC033: "TLS_ECDHE_PSK_WITH_RC4_128_SHA",
    0xC034: "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA",
    0xC035: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA",
    0xC036: "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA",
    0xC037: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
    0xC038: "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384",
    0xC039: "TLS_ECDHE_PSK_WITH_NULL_SHA",
    0xC03A: "TLS_ECDHE_PSK_WITH_NULL_SHA256",
    0xC03B: "TLS_ECDHE_PSK_WITH_NULL_SHA384",
    0xC072: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256",
    0xC073: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384",
    0xC076: "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0xC077: "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384",
    0xC07A: "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC07B: "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC07C: "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC07D: "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC086: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC087: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC08A: "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC08B: "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC09C: "TLS_RSA_WITH_AES_128_CCM",
    0xC09D: "TLS_RSA_WITH_AES_256_CCM",
    0xC09E: "TLS_DHE_RSA_WITH_AES_128_CCM",
    0xC09F: "TLS_DHE_RSA_WITH_AES_256_CCM",
    0xC0A0: "TLS_RSA_WITH_AES_128_CCM_8",
    0xC0A1: "TLS_RSA_WITH_AES_256_CCM_8",
    0xC0A2: "TLS_DHE_RSA_WITH_AES_128_CCM_8",
    0xC0A3: "TLS_DHE_RSA_WITH_AES_256_CCM_8",
    0xC0AC: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
    0xC0AD: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    0xC0AE: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
    0xC0AF: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAB: "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAC: "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAD: "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAE: "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256",
}
"""IANA TLS Cipher Suites registry names of the suites met in practice."""

SIGNATURE_ALGORITHMS = {
    "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsa-with-sha1",
    "2.16.840.1.101.3.4.3.2": "dsa-with-sha256",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
}
"""Certificate signature algorithm OIDs (RFC 3279, RFC 4055, RFC 5758, RFC 8410)."""


CERTIFICATE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    InternalError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    x509.AttributeNotFound,
)
"""What ``cryptography`` raises on a malformed certificate; such a certificate is skipped."""


class CipherWeakness(StrEnum):
    """Why a cipher suite is weak, read from its IANA name."""

    NULL = "null"
    """No encryption (``WITH_NULL``)."""
    EXPORT = "export"
    """Export-grade keys (``EXPORT``)."""
    RC4 = "rc4"
    """RC4 stream cipher (RFC 7465 prohibits it)."""
    DES = "des"
    """Single DES (56-bit)."""
    TRIPLE_DES = "3des"
    """3DES with a 64-bit block (Sweet32)."""
    ANONYMOUS = "anon"
    """No server authentication (``anon``)."""


def cipher_suite_name(code: int) -> str | None:
    """The IANA name of a cipher suite, None when it is not in :data:`CIPHER_SUITES`."""
    return CIPHER_SUITES.get(code)


def suite_weaknesses(code: int) -> frozenset[CipherWeakness]:
    """The weaknesses of one cipher suite named in :data:`CIPHER_SUITES`."""
    name = CIPHER_SUITES.get(code, "")
    found: set[CipherWeakness] = set()
    if "_WITH_NULL_" in name:
        found.add(CipherWeakness.NULL)
    if "EXPORT" in name:
        found.add(CipherWeakness.EXPORT)
    if "_RC4_" in name:
        found.add(CipherWeakness.RC4)
    if "_3DES_" in name:
        found.add(CipherWeakness.TRIPLE_DES)
    elif "_DES_" in name or "_DES40_" in name:
        found.add(CipherWeakness.DES)
    if "_anon_" in name:
        found.add(CipherWeakness.ANONYMOUS)
    return frozenset(found)


def weak(suites: Iterable[int]) -> dict[int, frozenset[CipherWeakness]]:
    """The weak suites among ``suites`` and why (NULL, EXPORT, RC4, DES, 3DES, anon).

    Suites missing from the IANA table cannot be judged and are left out.
    """
    found = {code: suite_weaknesses(code) for code in suites}
    return {code: reasons for code, reasons in found.items() if reasons}


def is_grease(value: int) -> bool:
    """A GREASE value (RFC 8701 §2): 0x?A?A with equal bytes."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


def version_name(version: int) -> str:
    """``TLS 1.2`` … for a protocol version, ``0x7f1c`` style for unknown ones."""
    if version in VERSION_NAMES:
        return VERSION_NAMES[version]
    if version >> 8 == 0x7F:
        return f"TLS 1.3 draft {version & 0xFF}"
    return f"0x{version:04x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsClientHello(Observation):
    """A ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2) and its fingerprints."""

    kind: ClassVar[str] = "tls.client_hello"

    record_version: int
    legacy_version: int
    """ClientHello.client_version (legacy_version in TLS 1.3)."""
    supported_versions: tuple[int, ...] = ()
    """supported_versions extension (RFC 8446 §4.2.1), GREASE removed."""
    cipher_suites: tuple[int, ...] = ()
    """As offered, GREASE removed."""
    extensions: tuple[int, ...] = ()
    """Extension types in the order sent, GREASE removed."""
    server_name: str | None = None
    alpn: tuple[str, ...] = ()
    supported_groups: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    ec_point_formats: tuple[int, ...] = ()
    ja3: str | None = None
    """JA3 string; None for an SSL 2.0-format hello or a cut one."""
    ja3_md5: str | None = None
    ja4: str | None = None
    ja4_r: str | None = None
    """JA4 raw (sorted) form, which the JA4 hashes are made of."""
    sslv2_format: bool = False
    """Sent in the SSL 2.0-compatible format (RFC 5246 Appendix E.2)."""
    truncated: bool = False

    @property
    def highest_version(self) -> int:
        """The highest version offered: from supported_versions, else the legacy version."""
        return max(self.supported_versions, default=self.legacy_version)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsServerHello(Observation):
    """A ServerHello (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3)."""

    kind: ClassVar[str] = "tls.server_hello"

    record_version: int
    legacy_version: int
    selected_version: int
    """supported_versions extension when present (TLS 1.3), else the legacy version."""
    cipher_suite: int
    compression_method: int = 0
    extensions: tuple[int, ...] = ()
    alpn: str | None = None
    hello_retry_request: bool = False

    @property
    def version_name(self) -> str:
        """``TLS 1.2`` … for the selected version."""
        return version_name(self.selected_version)

    @property
    def cipher_suite_name(self) -> str | None:
        """The IANA name of the selected suite."""
        return cipher_suite_name(self.cipher_suite)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsCertificate(Observation):
    """One certificate of a Certificate message (RFC 5246 §7.4.2), decoded (RFC 5280)."""

    kind: ClassVar[str] = "tls.certificate"

    direction: Direction
    """SERVER_TO_CLIENT for the server's chain, CLIENT_TO_SERVER for a client certificate."""
    position: int
    """0 for the leaf (sender's own certificate), then up the chain."""
    subject: str
    """RFC 4514 string."""
    subject_cn: str | None
    subject_o: str | None
    issuer: str
    issuer_cn: str | None
    issuer_o: str | None
    serial: str
    """Serial number in lower-case hex."""
    not_before: str
    """ISO 8601 UTC."""
    not_after: str
    self_issued: bool
    """Issuer name equals subject name."""
    self_signed: bool
    """Self-issued and its signature verifies with its own key (or could not be checked)."""
    key_type: str
    """``RSA``, ``EC``, ``DSA``, ``Ed25519``, ``Ed448`` or ``unknown``."""
    key_size: int | None
    curve: str | None
    signature_algorithm: str
    signature_algorithm_oid: str
    san_dns: tuple[str, ...]
    sha256: str
    """Hex SHA-256 of the DER certificate."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsAlert(Observation):
    """An Alert record (RFC 5246 §7.2); encrypted alerts have no readable contents."""

    kind: ClassVar[str] = "tls.alert"

    direction: Direction
    encrypted: bool
    level: int | None = None
    description: int | None = None

    @property
    def level_name(self) -> str | None:
        """``warning`` or ``fatal``."""
        return None if self.level is None else ALERT_LEVELS.get(self.level, str(self.level))

    @property
    def description_name(self) -> str | None:
        """The AlertDescription in the words of the RFCs (``handshake_failure`` …)."""
        if self.description is None:
            return None
        return ALERT_DESCRIPTIONS.get(self.description, str(self.description))


def observation_base(payload: FlowPayload, direction: Direction) -> FlowContext:
    """Time and endpoints for observations read from one direction of the flow."""
    if direction == Direction.CLIENT_TO_SERVER:
        return client_context(payload)
    return server_context(payload)


def probe(head: bytes) -> bool:
    """A handshake record of SSL 3.0–TLS 1.3 (``0x16 0x03``, RFC 5246 §6.2.1) or an SSL
    2.0-format ClientHello (RFC 5246 Appendix E.2)."""
    if len(head) >= 3 and head[0] == ContentType.HANDSHAKE and head[1] == 3 and head[2] <= 4:
        return len(head) < 6 or head[5] == HandshakeType.CLIENT_HELLO
    return is_sslv2_client_hello(head)


def is_sslv2_client_hello(head: bytes) -> bool:
    """Two-byte header with the high bit set, msg_type 1, version 0x0002 or 0x03xx."""
    if len(head) < 5 or not head[0] & 0x80 or head[2] != HandshakeType.CLIENT_HELLO:
        return False
    return head[3:5] == b"\x00\x02" or (head[3] == 3 and head[4] <= 4)


SHORT_FIELD = "handshake message ends inside a field"
"""The one complaint of every short read inside a handshake message."""

GREASE_VALUES = frozenset(0x0A0A + 0x1010 * i for i in range(16))
"""Every 16-bit GREASE value (RFC 8701 §2), for set lookups in the hot paths."""


@dataclass(slots=True)
class Reader:
    """A cursor over handshake bytes; short reads raise :class:`DissectorError`."""

    data: bytes
    offset: int = 0

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes."""
        end = self.offset + size
        if end > len(self.data):
            raise DissectorError(SHORT_FIELD)
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def uint(self, size: int) -> int:
        """A big-endian unsigned integer of ``size`` bytes."""
        return int.from_bytes(self.take(size), "big")

    def vector(self, length_size: int) -> bytes:
        """A variable-length vector ``<0..2^(8*length_size)-1>`` (RFC 5246 §4.3)."""
        return self.take(self.uint(length_size))

    @property
    def remaining(self) -> int:
        """Bytes left."""
        return len(self.data) - self.offset


def uint16_list(data: bytes) -> tuple[int, ...]:
    """A list of 16-bit values (cipher suites, groups, signature schemes); an odd last byte
    is ignored."""
    return uint16s_at(data, 0, len(data) // 2)


def uint16s_at(data: bytes, offset: int, count: int) -> tuple[int, ...]:
    """``count`` big-endian 16-bit values from ``offset`` (the caller checked the bounds)."""
    if count <= 0:
        return ()
    values: tuple[int, ...] = struct.unpack_from(f">{count}H", data, offset)
    return values


def vector_end(data: bytes, offset: int, length_size: int, end: int) -> int:
    """Where the vector ``<..>`` whose length field starts at ``offset`` ends (RFC 5246
    §4.3); raises when the field or the vector passes ``end``."""
    start = offset + length_size
    if start > end:
        raise DissectorError(SHORT_FIELD)
    if length_size == 1:
        stop = start + data[offset]
    else:
        stop = start + (data[offset] << 8 | data[offset + 1])
    if stop > end:
        raise DissectorError(SHORT_FIELD)
    return stop


@dataclass(slots=True)
class Record:
    """A TLSPlaintext record (RFC 5246 §6.2.1)."""

    content_type: int
    version: int
    fragment: bytes
    complete: bool


def split_records(stream: bytes) -> Iterator[Record]:
    """Records one after another; the last may be cut by the end of the prefix."""
    offset = 0
    while offset + RECORD_HEADER_SIZE <= len(stream):
        content_type, version, length = record_header(stream, offset)
        start = offset + RECORD_HEADER_SIZE
        fragment = stream[start : start + length]
        yield Record(content_type, version, fragment, complete=len(fragment) == length)
        offset = start + length


def record_header(stream: bytes, offset: int) -> tuple[int, int, int]:
    """Content type, version and length of the record at ``offset`` (RFC 5246 §6.2.1);
    raises when they cannot be those of a TLS record."""
    content_type = stream[offset]
    major = stream[offset + 1]
    length = stream[offset + 3] << 8 | stream[offset + 4]
    if content_type not in CONTENT_TYPES or major != 3:
        raise DissectorError(f"not a TLS record at byte {offset}")
    if length > MAX_RECORD_LENGTH:
        raise DissectorError(f"record of {length} bytes at byte {offset}")
    return content_type, major << 8 | stream[offset + 2], length


CONTENT_TYPES = frozenset(ContentType)


@dataclass(slots=True)
class HandshakeMessage:
    """One handshake message (RFC 5246 §7.4); ``complete`` False when cut short."""

    msg_type: int
    body: bytes
    complete: bool


@dataclass(slots=True)
class CleartextPart:
    """What one direction shows before encryption starts."""

    record_version: int = 0
    handshake: bytearray = field(default_factory=bytearray)
    alerts: list[tuple[bytes, bool]] = field(default_factory=list)
    """Alert fragments and whether they came after encryption started."""


def read_cleartext(stream: bytes) -> CleartextPart:
    """Handshake bytes reassembled across records, until ChangeCipherSpec or encrypted data.

    RFC 5246 §6.2.1 allows a handshake message to span records; TLS 1.3 encrypts every
    handshake message after ServerHello inside application_data records (RFC 8446 §5.2).
    Bytes that stop looking like records end the reading (an error if no record came).
    """
    part = CleartextPart()
    encrypted = False
    view = memoryview(stream)
    size = len(stream)
    offset = 0
    while offset + RECORD_HEADER_SIZE <= size:
        try:
            content_type, version, length = record_header(stream, offset)
        except DissectorError:
            if not part.record_version:
                raise
            break
        if not part.record_version:
            part.record_version = version
        start = offset + RECORD_HEADER_SIZE
        offset = start + length
        if content_type == ContentType.HANDSHAKE:
            if not encrypted:
                part.handshake += view[start:offset]
        elif content_type == ContentType.ALERT:
            fragment = stream[start:offset]
            part.alerts.append((fragment, encrypted or len(fragment) != 2))
        elif content_type == ContentType.APPLICATION_DATA:
            # Past the handshake only ciphertext follows; an alert among it is opaque,
            # so the rest of the prefix is not worth walking record by record.
            break
        elif content_type == ContentType.CHANGE_CIPHER_SPEC:
            encrypted = True
    return part


def split_handshake(data: bytes) -> Iterator[HandshakeMessage]:
    """Handshake messages of the reassembled bytes (RFC 5246 §7.4); the last may be cut."""
    offset = 0
    while offset + 4 <= len(data):
        msg_type = data[offset]
        length = int.from_bytes(data[offset + 1 : offset + 4], "big")
        body = data[offset + 4 : offset + 4 + length]
        yield HandshakeMessage(msg_type, body, complete=len(body) == length)
        offset += 4 + length


@dataclass(slots=True)
class HelloFields:
    """ClientHello fields as read, before fingerprinting."""

    legacy_version: int
    cipher_suites: list[int]
    extensions: list[int] = field(default_factory=list)
    server_name: str | None = None
    alpn: list[bytes] = field(default_factory=list)
    supported_groups: list[int] = field(default_factory=list)
    ec_point_formats: list[int] = field(default_factory=list)
    signature_algorithms: list[int] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)
    complete: bool = True


def read_server_name(data: bytes) -> str | None:
    """The first host_name of a server_name extension (RFC 6066 §3)."""
    end = vector_end(data, 0, 2, len(data))
    offset = 2
    while offset < end:
        name_end = vector_end(data, offset + 1, 2, end)
        if data[offset] == 0:
            return data[offset + 3 : name_end].decode("ascii", errors="replace")
        offset = name_end
    return None


def read_alpn(data: bytes) -> list[bytes]:
    """ProtocolNameList of the ALPN extension (RFC 7301 §3.1)."""
    end = vector_end(data, 0, 2, len(data))
    offset = 2
    found: list[bytes] = []
    while offset < end:
        name_end = vector_end(data, offset, 1, end)
        found.append(data[offset + 1 : name_end])
        offset = name_end
    return found


def uint16_vector(data: bytes, length_size: int) -> list[int]:
    """The 16-bit values of the vector that makes up ``data`` (RFC 5246 §4.3)."""
    end = vector_end(data, 0, length_size, len(data))
    return list(uint16s_at(data, length_size, (end - length_size) // 2))


def read_client_extension(hello: HelloFields, ext_type: int, data: bytes) -> None:
    """Fill ``hello`` from one ClientHello extension (RFC 6066, RFC 8422, RFC 8446 §4.2)."""
    if ext_type == Extension.SERVER_NAME:
        hello.server_name = read_server_name(data)
    elif ext_type == Extension.ALPN:
        hello.alpn = read_alpn(data)
    elif ext_type == Extension.SUPPORTED_GROUPS:
        hello.supported_groups = uint16_vector(data, 2)
    elif ext_type == Extension.EC_POINT_FORMATS:
        hello.ec_point_formats = list(data[1 : vector_end(data, 0, 1, len(data))])
    elif ext_type == Extension.SIGNATURE_ALGORITHMS:
        hello.signature_algorithms = uint16_vector(data, 2)
    elif ext_type == Extension.SUPPORTED_VERSIONS:
        hello.supported_versions = uint16_vector(data, 1)


CLIENT_EXTENSIONS_READ = frozenset(
    {
        Extension.SERVER_NAME,
        Extension.ALPN,
        Extension.SUPPORTED_GROUPS,
        Extension.EC_POINT_FORMATS,
        Extension.SIGNATURE_ALGORITHMS,
        Extension.SUPPORTED_VERSIONS,
    }
)


def read_known_extension(hello: HelloFields, ext_type: int, data: bytes) -> None:
    """Like :func:`read_client_extension`, but a malformed extension body only leaves its
    field empty: the extension still counts in the fingerprints, as it does for JA3/JA4."""
    try:
        read_client_extension(hello, ext_type, data)
    except DissectorError:
        return


def read_client_hello(body: bytes, complete: bool) -> HelloFields:
    """ClientHello fields (RFC 5246 §7.4.1.2); a cut hello keeps what precedes the cut."""
    session_end = vector_end(body, 34, 1, len(body))  # after legacy_version and random
    hello = HelloFields(legacy_version=body[0] << 8 | body[1], cipher_suites=[])
    try:
        read_hello_tail(hello, body, session_end)
    except DissectorError:
        if complete:
            raise
        hello.complete = False
    hello.complete = hello.complete and complete
    return hello


def read_hello_tail(hello: HelloFields, body: bytes, offset: int) -> None:
    """Cipher suites, compression methods and extensions, from ``offset`` on."""
    size = len(body)
    suites_end = vector_end(body, offset, 2, size)
    hello.cipher_suites = list(uint16s_at(body, offset + 2, (suites_end - offset - 2) // 2))
    offset = vector_end(body, suites_end, 1, size)
    if offset >= size:
        return
    end = vector_end(body, offset, 2, size)
    offset += 2
    types = hello.extensions
    known = CLIENT_EXTENSIONS_READ
    while offset < end:
        data_end = vector_end(body, offset + 2, 2, end)
        ext_type = body[offset] << 8 | body[offset + 1]
        types.append(ext_type)
        if ext_type in known:
            read_known_extension(hello, ext_type, body[offset + 4 : data_end])
        offset = data_end


def read_sslv2_client_hello(stream: bytes) -> HelloFields:
    """An SSL 2.0-format ClientHello (RFC 5246 Appendix E.2); V2 cipher specs whose
    first byte is zero are TLS cipher suites."""
    length = ((stream[0] & 0x7F) << 8) | stream[1]
    body = Reader(stream[2 : 2 + length])
    body.uint(1)
    version = body.uint(2)
    spec_length, session_length, challenge_length = body.uint(2), body.uint(2), body.uint(2)
    specs = body.take(spec_length)
    body.take(session_length + challenge_length)
    suites = [
        int.from_bytes(specs[i + 1 : i + 3], "big")
        for i in range(0, len(specs) - 2, 3)
        if specs[i] == 0
    ]
    return HelloFields(legacy_version=version, cipher_suites=suites)


def without_grease(values: Iterable[int]) -> list[int]:
    """``values`` less GREASE (RFC 8701)."""
    return [v for v in values if not is_grease(v)]


def ungreased(values: Iterable[int]) -> tuple[int, ...]:
    """16-bit ``values`` less GREASE (RFC 8701), as a tuple."""
    grease = GREASE_VALUES
    return tuple([v for v in values if v not in grease])


def ja3(hello: HelloFields) -> str:
    """The JA3 string: version, ciphers, extensions, groups, point formats in decimal,
    GREASE removed (Salesforce JA3)."""
    return ja3_text(
        hello.legacy_version,
        ungreased(hello.cipher_suites),
        ungreased(hello.extensions),
        ungreased(hello.supported_groups),
        tuple(hello.ec_point_formats),
    )


def ja3_text(
    version: int,
    ciphers: tuple[int, ...],
    extensions: tuple[int, ...],
    groups: tuple[int, ...],
    point_formats: tuple[int, ...],
) -> str:
    """The JA3 string of fields already rid of GREASE (Salesforce JA3)."""
    parts = ((version,), ciphers, extensions, groups, point_formats)
    return ",".join(["-".join(map(str, values)) for values in parts])


def ja4_alpn(alpn: Sequence[bytes]) -> str:
    """First and last characters of the first ALPN value, or of its hex when they are not
    alphanumeric; ``00`` without ALPN (FoxIO JA4 spec, "ALPN Extension Value")."""
    if not alpn or not alpn[0]:
        return "00"
    first = alpn[0]
    edges = bytes([first[0], first[-1]])
    if edges.isascii() and edges.decode("ascii").isalnum():
        return edges.decode("ascii")
    hexed = first.hex()
    return hexed[0] + hexed[-1]


def ja4_hash(text: str) -> str:
    """First 12 hex characters of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def hex_list(values: Iterable[int]) -> str:
    """16-bit values as 4-digit lower-case hex joined by commas (JA4 raw form)."""
    ordered = tuple(values)
    return struct.pack(f">{len(ordered)}H", *ordered).hex(",", 2)


def ja4(hello: HelloFields, transport: str = "t") -> tuple[str, str]:
    """JA4 and its raw form (FoxIO JA4 spec): version, SNI, counts, ALPN, then hashes of
    the sorted ciphers and of the sorted extensions (less SNI and ALPN) + signature
    algorithms in order. GREASE is ignored everywhere."""
    versions = ungreased(hello.supported_versions)
    version = max(versions) if versions else hello.legacy_version
    return ja4_of(
        version,
        ungreased(hello.cipher_suites),
        ungreased(hello.extensions),
        ungreased(hello.signature_algorithms),
        tuple(hello.alpn),
        transport,
    )


def ja4_of(
    version: int,
    ciphers: tuple[int, ...],
    extensions: tuple[int, ...],
    signatures: tuple[int, ...],
    alpn: tuple[bytes, ...],
    transport: str = "t",
) -> tuple[str, str]:
    """JA4 and its raw form from the highest version and fields rid of GREASE."""
    prefix = (
        f"{transport}{JA4_VERSIONS.get(version, '00')}"
        f"{'d' if Extension.SERVER_NAME in extensions else 'i'}"
        f"{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}{ja4_alpn(alpn)}"
    )
    cipher_text = hex_list(sorted(ciphers))
    hashed = [e for e in extensions if e not in (Extension.SERVER_NAME, Extension.ALPN)]
    extension_text = hex_list(sorted(hashed))
    if signatures:
        extension_text += "_" + hex_list(signatures)
    cipher_hash = ja4_hash(cipher_text) if ciphers else JA4_EMPTY_HASH
    extension_hash = ja4_hash(extension_text) if hashed else JA4_EMPTY_HASH
    return (
        f"{prefix}_{cipher_hash}_{extension_hash}",
        f"{prefix}_{cipher_text}_{extension_text}",
    )


@dataclass(frozen=True, slots=True)
class HelloShape:
    """The ClientHello fields the fingerprints depend on, GREASE removed."""

    legacy_version: int
    supported_versions: tuple[int, ...]
    cipher_suites: tuple[int, ...]
    extensions: tuple[int, ...]
    supported_groups: tuple[int, ...]
    ec_point_formats: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    alpn: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """JA3 (with its MD5) and JA4 (with its raw form) of one hello shape."""

    ja3: str | None
    ja3_md5: str | None
    ja4: str
    ja4_r: str


@lru_cache(maxsize=4096)
def fingerprints(shape: HelloShape, with_ja3: bool) -> Fingerprints:
    """JA3/JA4 of a whole hello. Memoised: a device's TLS stack sends the same hello shape
    on every connection, and the hashes depend on the shape alone."""
    versions = shape.supported_versions
    version = max(versions) if versions else shape.legacy_version
    ja4_value, ja4_raw = ja4_of(
        version, shape.cipher_suites, shape.extensions, shape.signature_algorithms, shape.alpn
    )
    if not with_ja3:
        return Fingerprints(None, None, ja4_value, ja4_raw)
    text = ja3_text(
        shape.legacy_version,
        shape.cipher_suites,
        shape.extensions,
        shape.supported_groups,
        shape.ec_point_formats,
    )
    digest = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    return Fingerprints(text, digest, ja4_value, ja4_raw)


def client_hello_observation(
    hello: HelloFields, record_version: int, payload: FlowPayload, *, sslv2: bool
) -> TlsClientHello:
    """The observation of a ClientHello, with fingerprints when it was read whole."""
    shape = HelloShape(
        legacy_version=hello.legacy_version,
        supported_versions=ungreased(hello.supported_versions),
        cipher_suites=ungreased(hello.cipher_suites),
        extensions=ungreased(hello.extensions),
        supported_groups=ungreased(hello.supported_groups),
        ec_point_formats=tuple(hello.ec_point_formats),
        signature_algorithms=ungreased(hello.signature_algorithms),
        alpn=tuple(hello.alpn),
    )
    found = fingerprints(shape, not sslv2) if hello.complete else None
    return TlsClientHello(
        **observation_base(payload, Direction.CLIENT_TO_SERVER),
        record_version=record_version,
        legacy_version=hello.legacy_version,
        supported_versions=shape.supported_versions,
        cipher_suites=shape.cipher_suites,
        extensions=shape.extensions,
        server_name=hello.server_name,
        alpn=tuple([a.decode("ascii", errors="replace") for a in hello.alpn]),
        supported_groups=shape.supported_groups,
        signature_algorithms=shape.signature_algorithms,
        ec_point_formats=shape.ec_point_formats,
        ja3=found.ja3 if found else None,
        ja3_md5=found.ja3_md5 if found else None,
        ja4=found.ja4 if found else None,
        ja4_r=found.ja4_r if found else None,
        sslv2_format=sslv2,
        truncated=not hello.complete,
    )


def read_server_hello(body: bytes, record_version: int, payload: FlowPayload) -> TlsServerHello:
    """A ServerHello (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3 incl. supported_versions)."""
    size = len(body)
    offset = vector_end(body, 34, 1, size)  # legacy_version, random, session id
    if offset + 3 > size:
        raise DissectorError(SHORT_FIELD)
    legacy_version = body[0] << 8 | body[1]
    cipher_suite = body[offset] << 8 | body[offset + 1]
    compression = body[offset + 2]
    offset += 3
    selected = legacy_version
    extension_types: list[int] = []
    alpn: str | None = None
    if offset < size:
        end = vector_end(body, offset, 2, size)
        offset += 2
        while offset < end:
            data_end = vector_end(body, offset + 2, 2, end)
            ext_type = body[offset] << 8 | body[offset + 1]
            data = body[offset + 4 : data_end]
            extension_types.append(ext_type)
            if ext_type == Extension.SUPPORTED_VERSIONS and len(data) >= 2:
                selected = data[0] << 8 | data[1]
            elif ext_type == Extension.ALPN:
                names = read_alpn(data)
                alpn = names[0].decode("ascii", errors="replace") if names else None
            offset = data_end
    return TlsServerHello(
        **observation_base(payload, Direction.SERVER_TO_CLIENT),
        record_version=record_version,
        legacy_version=legacy_version,
        selected_version=selected,
        cipher_suite=cipher_suite,
        compression_method=compression,
        extensions=tuple(extension_types),
        alpn=alpn,
        hello_retry_request=body[2:34] == HELLO_RETRY_REQUEST_RANDOM,
    )


def certificate_list(body: bytes) -> list[bytes]:
    """DER certificates of a TLS ≤ 1.2 Certificate message (RFC 5246 §7.4.2), as far as
    they were captured whole."""
    reader = Reader(body)
    if reader.remaining < 3:
        return []
    declared = reader.uint(3)
    chain = Reader(reader.data[3 : 3 + declared])
    found: list[bytes] = []
    while chain.remaining >= 3:
        length = chain.uint(3)
        if length > chain.remaining:
            break
        found.append(chain.take(length))
    return found


def name_attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    """The first value of an attribute in a distinguished name."""
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class PublicKeyFacts:
    """Type, size and curve of a subject public key."""

    key_type: str
    key_size: int | None
    curve: str | None


def public_key_facts(certificate: x509.Certificate) -> PublicKeyFacts:
    """The subject public key's algorithm and size (RFC 5280 §4.1.2.7)."""
    try:
        key = certificate.public_key()
    except CERTIFICATE_ERRORS:
        return PublicKeyFacts("unknown", None, None)
    if isinstance(key, rsa.RSAPublicKey):
        return PublicKeyFacts("RSA", key.key_size, None)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return PublicKeyFacts("EC", key.curve.key_size, key.curve.name)
    if isinstance(key, dsa.DSAPublicKey):
        return PublicKeyFacts("DSA", key.key_size, None)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return PublicKeyFacts("Ed25519", 256, None)
    if isinstance(key, ed448.Ed448PublicKey):
        return PublicKeyFacts("Ed448", 456, None)
    return PublicKeyFacts("unknown", None, None)


def signature_verifies(certificate: x509.Certificate) -> bool | None:
    """Whether a self-issued certificate's signature verifies with its own key; None when
    its algorithm cannot be checked."""
    try:
        certificate.verify_directly_issued_by(certificate)
    except InvalidSignature:
        return False
    except CERTIFICATE_ERRORS:
        return None
    return True


def san_dns_names(certificate: x509.Certificate) -> tuple[str, ...]:
    """dNSName entries of subjectAltName (RFC 5280 §4.2.1.6)."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, *CERTIFICATE_ERRORS):
        return ()
    return tuple(extension.value.get_values_for_type(x509.DNSName))


@lru_cache(maxsize=1024)
def certificate_template(der: bytes) -> TlsCertificate | None:
    """The observation of one certificate with placeholder flow fields; None when it does
    not decode.

    Memoised because a server presents the same chain in every connection and decoding
    plus signature verification is the dissector's costliest step; the result depends on
    the bytes alone. Deprecation warnings for non-conforming certificates (negative serials
    …) are silenced: such certificates are evidence to report, not a fault of the caller.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return decode_certificate(der)
    except CERTIFICATE_ERRORS:
        return None


def decode_certificate(der: bytes) -> TlsCertificate:
    """Decode with ``cryptography``; raises what it raises on malformed DER."""
    certificate = x509.load_der_x509_certificate(der)
    subject, issuer = certificate.subject, certificate.issuer
    self_issued = subject == issuer
    verified = signature_verifies(certificate) if self_issued else False
    oid = certificate.signature_algorithm_oid.dotted_string
    key = public_key_facts(certificate)
    serial = certificate.serial_number
    return TlsCertificate(
        ts=0.0,
        direction=Direction.SERVER_TO_CLIENT,
        position=0,
        subject=subject.rfc4514_string(),
        subject_cn=name_attribute(subject, NameOID.COMMON_NAME),
        subject_o=name_attribute(subject, NameOID.ORGANIZATION_NAME),
        issuer=issuer.rfc4514_string(),
        issuer_cn=name_attribute(issuer, NameOID.COMMON_NAME),
        issuer_o=name_attribute(issuer, NameOID.ORGANIZATION_NAME),
        serial=f"{serial:x}" if serial >= 0 else f"-{-serial:x}",
        not_before=certificate.not_valid_before_utc.isoformat(),
        not_after=certificate.not_valid_after_utc.isoformat(),
        self_issued=self_issued,
        self_signed=self_issued and verified is not False,
        key_type=key.key_type,
        key_size=key.key_size,
        curve=key.curve,
        signature_algorithm=SIGNATURE_ALGORITHMS.get(oid, oid),
        signature_algorithm_oid=oid,
        san_dns=san_dns_names(certificate),
        sha256=hashlib.sha256(der).hexdigest(),
    )


def read_certificate(
    der: bytes, position: int, direction: Direction, payload: FlowPayload
) -> TlsCertificate | None:
    """One certificate of a chain, stamped with this flow; None when it does not decode."""
    values = certificate_values(der)
    if values is None:
        return None
    return TlsCertificate(
        **observation_base(payload, direction), direction=direction, position=position, **values
    )


FLOW_FIELDS = frozenset({"ts", "flow_id", "client", "server", "direction", "position"})
"""The fields of a certificate observation that come from the flow, not the certificate."""


@lru_cache(maxsize=1024)
def certificate_values(der: bytes) -> Mapping[str, Any] | None:
    """The certificate's own fields of its observation (see :func:`certificate_template`),
    read-only, ready to be stamped with a flow."""
    template = certificate_template(der)
    if template is None:
        return None
    return MappingProxyType(
        {
            item.name: getattr(template, item.name)
            for item in fields(template)
            if item.name not in FLOW_FIELDS
        }
    )


def read_alerts(part: CleartextPart, direction: Direction, payload: FlowPayload) -> list[TlsAlert]:
    """Alert records (RFC 5246 §7.2): level and description unless encrypted."""
    base = observation_base(payload, direction)
    alerts: list[TlsAlert] = []
    for fragment, encrypted in part.alerts:
        if encrypted:
            alerts.append(TlsAlert(**base, direction=direction, encrypted=True))
        else:
            alerts.append(
                TlsAlert(
                    **base,
                    direction=direction,
                    encrypted=False,
                    level=fragment[0],
                    description=fragment[1],
                )
            )
    return alerts


def read_direction(stream: bytes, direction: Direction, payload: FlowPayload) -> list[Observation]:
    """Hellos, certificates and alerts of one direction."""
    if direction == Direction.CLIENT_TO_SERVER and is_sslv2_client_hello(stream):
        hello = read_sslv2_client_hello(stream)
        return [client_hello_observation(hello, 0x0002, payload, sslv2=True)]
    part = read_cleartext(stream)
    observations: list[Observation] = []
    for message in split_handshake(bytes(part.handshake)):
        observations += read_handshake(message, part.record_version, direction, payload)
    return observations + read_alerts(part, direction, payload)


def read_handshake(
    message: HandshakeMessage, record_version: int, direction: Direction, payload: FlowPayload
) -> list[Observation]:
    """The observations one handshake message makes."""
    if message.msg_type == HandshakeType.CLIENT_HELLO and direction == Direction.CLIENT_TO_SERVER:
        hello = read_client_hello(message.body, message.complete)
        return [client_hello_observation(hello, record_version, payload, sslv2=False)]
    if message.msg_type == HandshakeType.SERVER_HELLO and direction == Direction.SERVER_TO_CLIENT:
        if not message.complete:
            return []
        return [read_server_hello(message.body, record_version, payload)]
    if message.msg_type == HandshakeType.CERTIFICATE:
        chain = certificate_list(message.body)
        found = (read_certificate(der, i, direction, payload) for i, der in enumerate(chain))
        return [c for c in found if c is not None]
    return []


def dissect(payload: FlowPayload) -> list[Observation]:
    """TLS handshakes and alerts of both directions of a TCP flow."""
    observations: list[Observation] = []
    errors: list[str] = []
    parsed_any = False
    streams = (
        (Direction.CLIENT_TO_SERVER, payload.client_bytes),
        (Direction.SERVER_TO_CLIENT, payload.server_bytes),
    )
    for direction, stream in streams:
        if not stream:
            continue
        try:
            observations += read_direction(stream, direction, payload)
            parsed_any = True
        except DissectorError as error:
            errors.append(f"{direction.name.lower()}: {error}")
    if not parsed_any and errors:
        raise DissectorError(f"tls flow {payload.flow.flow_id}: {'; '.join(errors)}")
    return observations


SIGNATURE = Signature(
    transport=Transport.TCP,
    ports=frozenset({443, 636, 2762, 5061, 6514, 8443, 8883}),
    probe=probe,
)
"""HTTPS 443, LDAPS 636, DICOM TLS 2762, SIP-TLS 5061, syslog-TLS 6514, 8443, MQTT-TLS 8883."""

DISSECTOR = FunctionDissector(name="tls", signature=SIGNATURE, function=dissect)
