"""HL7 v2 (v2.5 ch. 2 §2.14.9 MSH): sending application and facility, message types."""

from __future__ import annotations

from medshield.core.device import Software
from medshield.core.enums import Direction
from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.protocols.hl7 import Hl7Message


class Hl7Fingerprint(NoBindings):
    """MSH-3/4 name the sender; MSH-5/6 the receiver; OBX-18/PRT the equipment."""

    name = "hl7"
    kinds = frozenset({Hl7Message.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Annotate the sender and, with less confidence, the addressed receiver."""
        if not isinstance(observation, Hl7Message):
            return
        msg = observation
        from_client = msg.direction == Direction.CLIENT_TO_SERVER
        sender = devices.by_endpoint(msg.client if from_client else msg.server)
        receiver = devices.by_endpoint(msg.server if from_client else msg.client)
        application, facility = str(msg.sending_application), str(msg.sending_facility)
        note(sender, "hl7_application", application, 0.9, msg, f"MSH-3 {application!r}")
        note(sender, "hl7_facility", facility, 0.9, msg, f"MSH-4 {facility!r}")
        if msg.message_type and msg.acknowledgment_code is None:
            note(sender, "hl7_message_type", msg.message_type, 0.9, msg, "MSH-9 sent")
            receiving = str(msg.receiving_application)
            note(receiver, "hl7_application", receiving, 0.6, msg, f"MSH-5 {receiving!r}")
        for sft in msg.software:
            if sender is not None and sft.version:
                sender.add_software(Software(sft.product or sft.vendor, sft.version, "hl7-sft"))
            note(sender, "manufacturer", sft.vendor, 0.7, msg, "SFT-1 software vendor")
        for equipment in msg.equipment:
            detail = f"{equipment.source} equipment identifier"
            note(sender, "equipment_id", equipment.entity_identifier, 0.8, msg, detail)


FINGERPRINT = Hl7Fingerprint()
