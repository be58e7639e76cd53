"""Weak TLS offered by a server: protocol versions up to TLS 1.1 (deprecated by RFC 8996),
NULL/EXPORT/RC4/DES/3DES/anonymous cipher suites (RFC 7465, RFC 9325 §4.1), and expired or
self-signed leaf certificates (visible in TLS ≤ 1.2 handshakes, RFC 5246 §7.4.2).

The finding is on the server that negotiated or presented it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from medshield.core.enums import FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.posture.base import CheckBase, PostureContext, first_per_key
from medshield.protocols.tls import (
    TlsCertificate,
    TlsServerHello,
    cipher_suite_name,
    suite_weaknesses,
    version_name,
)

TLS_1_2 = 0x0303


class WeakTls(CheckBase):
    """Encryption that no longer protects."""

    name = "weak-tls"
    kind = FindingKind.WEAK_TLS
    title = "Weak TLS configuration"
    severity = Severity.MEDIUM
    remediation = (
        "Allow only TLS 1.2 and 1.3 with AEAD suites (RFC 9325), and install a certificate "
        "from the hospital's CA with a current validity period; ask the maker for a firmware "
        "that supports them where the device cannot."
    )
    practice = Practice.ENCRYPT_IN_TRANSIT

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """Versions, suites and certificates, one finding per server and reason."""
        return first_per_key([*self._hellos(context), *self._certificates(context)])

    def _hellos(self, context: PostureContext) -> Iterator[Finding]:
        for hello in context.of(TlsServerHello):
            server = context.name(hello.server)
            if hello.selected_version < TLS_1_2 and not hello.hello_retry_request:
                name = version_name(hello.selected_version)
                yield self.finding(server, f"server negotiated {name}", f"version:{name}",
                                   hello.ts)  # fmt: skip
            weaknesses = suite_weaknesses(hello.cipher_suite)
            if weaknesses:
                suite = cipher_suite_name(hello.cipher_suite) or f"0x{hello.cipher_suite:04x}"
                why = ", ".join(sorted(weaknesses))
                yield self.finding(server, f"server selected {suite} ({why})", f"suite:{suite}",
                                   hello.ts, Severity.HIGH)  # fmt: skip

    def _certificates(self, context: PostureContext) -> Iterator[Finding]:
        for cert in context.of(TlsCertificate):
            if cert.position != 0:
                continue
            server = context.name(cert.server)
            subject = cert.subject_cn or cert.subject
            if _expired(cert):
                yield self.finding(server,
                                   f"certificate {subject!r} expired {cert.not_after}",
                                   "certificate:expired", cert.ts)  # fmt: skip
            if cert.self_signed:
                yield self.finding(server, f"certificate {subject!r} is self-signed",
                                   "certificate:self-signed", cert.ts, Severity.LOW)  # fmt: skip


def _expired(cert: TlsCertificate) -> bool:
    """True when the leaf was already expired at the time it was presented."""
    try:
        not_after = datetime.fromisoformat(cert.not_after)
    except ValueError:
        return False
    return not_after.timestamp() < cert.ts


CHECK = WeakTls()
