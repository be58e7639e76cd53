"""TLS (RFC 8446 §4.1.2, RFC 5246 §7.4.2): client fingerprints, server names."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.protocols.tls import TlsCertificate, TlsClientHello


class TlsFingerprint(NoBindings):
    """The ClientHello fingerprints the client's TLS stack; the leaf names the server."""

    name = "tls"
    kinds = frozenset({TlsClientHello.kind, TlsCertificate.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """JA4 and SNI of clients; certificate subject of servers."""
        if isinstance(observation, TlsClientHello):
            client = devices.by_endpoint(observation.client)
            note(client, "ja4", observation.ja4, 0.9, observation, "ClientHello JA4")
            sni = observation.server_name
            note(client, "tls_sni", sni, 0.7, observation, f"SNI {sni!r}")
            server = devices.by_endpoint(observation.server)
            note(server, "tls_server_name", sni, 0.7, observation, f"named by client SNI {sni!r}")
        elif isinstance(observation, TlsCertificate) and observation.position == 0:
            server = devices.by_endpoint(observation.server)
            subject = observation.subject_cn or observation.subject
            note(server, "tls_certificate", subject, 0.8, observation, f"leaf {subject!r}")


FINGERPRINT = TlsFingerprint()
