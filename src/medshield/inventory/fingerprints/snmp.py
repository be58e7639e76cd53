"""SNMP (RFC 3418 system group): sysDescr, sysObjectID and sysName of agents."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.inventory.fingerprints.software import add_product
from medshield.protocols.snmp import SnmpMessage

AGENT_SENT = frozenset({"response", "trap", "snmpV2-trap", "trapv2", "inform-request"})


class SnmpFingerprint(NoBindings):
    """A response (or trap) describes the agent that sent it."""

    name = "snmp"
    kinds = frozenset({SnmpMessage.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """System group values of the agent."""
        if not isinstance(observation, SnmpMessage) or observation.pdu_type not in AGENT_SENT:
            return
        is_trap = observation.pdu_type != "response"
        agent = devices.by_endpoint(observation.client if is_trap else observation.server)
        msg = observation
        note(agent, "snmp_sysdescr", msg.sys_descr, 0.9, msg, "sysDescr.0")
        note(agent, "snmp_sysobjectid", msg.sys_object_id, 0.9, msg, "sysObjectID.0")
        note(agent, "hostname", msg.sys_name, 0.7, msg, f"sysName.0 {msg.sys_name!r}")
        add_product(agent, msg.sys_descr, "snmp-sysdescr")


FINGERPRINT = SnmpFingerprint()
