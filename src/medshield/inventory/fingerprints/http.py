"""HTTP (RFC 9110): User-Agent of clients, Server product of servers, page titles."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.inventory.fingerprints.software import add_browser, add_product
from medshield.protocols.http import HttpRequest, HttpResponse


class HttpFingerprint(NoBindings):
    """A request names the client's software; a response the server's."""

    name = "http"
    kinds = frozenset({HttpRequest.kind, HttpResponse.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """User-Agent (RFC 9110 §10.1.5) and Server (§10.2.4) product tokens."""
        if isinstance(observation, HttpRequest):
            client = devices.by_endpoint(observation.client)
            agent = observation.user_agent
            note(client, "user_agent", agent, 0.8, observation, f"User-Agent {agent!r}")
            add_browser(client, agent)
        elif isinstance(observation, HttpResponse):
            server = devices.by_endpoint(observation.server)
            header = observation.server_header
            note(server, "http_server", header, 0.85, observation, f"Server {header!r}")
            add_product(server, header, "http-server")
            title = observation.title
            note(server, "http_title", title, 0.6, observation, f"page title {title!r}")


FINGERPRINT = HttpFingerprint()
