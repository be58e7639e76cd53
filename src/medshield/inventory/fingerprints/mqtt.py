"""MQTT (OASIS MQTT 3.1.1 §3.1.3): the CONNECT client identifier and user name."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.protocols.mqtt import MqttConnect


class MqttFingerprint(NoBindings):
    """A CONNECT identifies the client to the broker."""

    name = "mqtt"
    kinds = frozenset({MqttConnect.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Client id and user name of the connecting device."""
        if not isinstance(observation, MqttConnect):
            return
        client = devices.by_endpoint(observation.client)
        client_id, user = observation.client_id, observation.username
        note(client, "mqtt_client_id", client_id, 0.9, observation, f"client id {client_id!r}")
        note(client, "mqtt_username", user, 0.8, observation, f"user name {user!r}")


FINGERPRINT = MqttFingerprint()
