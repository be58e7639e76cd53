"""Who talks to whom: the conversations each role runs in the simulated hospital.

=====================  ================================================================
role                   conversations (as client unless noted)
=====================  ================================================================
every DHCP client      DORA at boot, ARP probe/announcement, renewal at T1
patient monitor        HL7 ORU^R01 vitals to the engine every ~5 s (persistent MLLP)
infusion pump          MQTT QoS 1 telemetry every ~10 s; TLS check-in with the pump server
CT / MR                DICOM C-ECHO and studies (C-STORE) to the PACS; the first CT also
                       reaches its vendor's remote service on the internet (planted)
lab analyser           HL7 ORU^R01 results; serves FTP and a legacy HTTPS UI (first one)
IoT gateway            MQTT QoS 0 telemetry with PINGREQ; SSDP announcements
biomed workstation     telnet into the first pump, FTP and HTTPS to the first lab analyser,
                       PACS admin page with HTTP Basic (the first one)
clinical workstation   PACS web viewer over HTTP; HTTPS to internet services
printer                mDNS announcements; polled over SNMPv2c
router                 default gateway; polled over SNMPv2c
infrastructure server  DHCP and DNS server; SNMP manager; forwards DNS upstream;
                       building-management collector (Modbus/TCP)
ADT system             HL7 ADT^A01 admissions to the engine
building controller    answers Modbus/TCP register reads
=====================  ================================================================
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from medshield.simulate import (
    dhcp,
    dicom,
    discovery,
    dns,
    ftp,
    hl7,
    http,
    modbus,
    mqtt,
    snmp,
    telnet,
    tls,
)
from medshield.simulate.context import INTERNET, REMOTE_SERVICE, Context
from medshield.simulate.personas import Role
from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.wire import US, Item

READY_AFTER_BOOT_US = 2_500_000
"""Time from a device's DHCP DISCOVER until it has checked and announced its address."""


def boot_times(hospital: Hospital, seed: int, start_us: int, duration: float) -> dict[int, int]:
    """When each DHCP client sends its DISCOVER: spread over the first moments of the capture."""
    rng = random.Random(f"{seed}/boot")
    window = max(0.5, min(20.0, duration * 0.1))
    return {
        d.index: start_us + int(rng.uniform(0.05, window) * US)
        for d in hospital.devices
        if not d.static
    }


def ready_times(hospital: Hospital, boots: dict[int, int], start_us: int) -> dict[int, int]:
    """When each device may start its applications (static devices: from the start)."""
    return {
        d.index: boots[d.index] + READY_AFTER_BOOT_US if d.index in boots else start_us
        for d in hospital.devices
    }


def conversations(ctx: Context, boots: dict[int, int]) -> list[Iterator[Item]]:
    """Every conversation of the run, as lazy generators of frames."""
    hospital = ctx.hospital
    infra = hospital.one(Role.INFRASTRUCTURE_SERVER)
    out: list[Iterator[Item]] = [dns.resolver_forwarding(ctx, infra)]
    for device in hospital.devices:
        if device.index in boots:
            out.append(dhcp.client_lifecycle(ctx, device, infra, boots[device.index]))
        out.extend(_role_conversations(ctx, device, infra))
    out.extend(_planted(ctx, infra))
    return out


def _role_conversations(ctx: Context, device: SimDevice, infra: SimDevice) -> list[Iterator[Item]]:
    hospital = ctx.hospital
    role = device.role
    if role is Role.PATIENT_MONITOR:
        return [hl7.monitor_feed(ctx, device, hospital.one(Role.HL7_ENGINE))]
    if role is Role.LAB_ANALYSER:
        return [hl7.lab_feed(ctx, device, hospital.one(Role.HL7_ENGINE))]
    if role is Role.ADT_SYSTEM:
        return [hl7.adt_feed(ctx, device, hospital.one(Role.HL7_ENGINE))]
    if role is Role.INFUSION_PUMP:
        server = hospital.one(Role.PUMP_SERVER)
        return [
            mqtt.telemetry(ctx, device, server, gateway=False),
            tls.pump_sessions(ctx, device, server, infra),
        ]
    if role is Role.IOT_GATEWAY:
        server = hospital.one(Role.PUMP_SERVER)
        return [
            mqtt.telemetry(ctx, device, server, gateway=True),
            discovery.ssdp_announcer(ctx, device),
        ]
    if role in (Role.CT_SCANNER, Role.MR_SCANNER):
        early = device is hospital.one(role)
        return [dicom.modality_traffic(ctx, device, hospital.one(Role.PACS), early=early)]
    if role in (Role.CLINICAL_WORKSTATION, Role.BIOMED_WORKSTATION):
        return [
            http.browse_viewer(ctx, device, hospital.one(Role.PACS), infra),
            tls.internet_sessions(
                ctx,
                device,
                infra,
                INTERNET,
                profile=tls.ClientProfile.CHROME,
                interval=(20.0, 90.0),
            ),
        ]
    if role is Role.BUILDING_CONTROLLER:
        return [modbus.poll(ctx, infra, device)]
    if role in (Role.PRINTER, Role.ROUTER):
        talk = [snmp.poll(ctx, infra, device)]
        if role is Role.PRINTER:
            talk.append(discovery.mdns_announcer(ctx, device))
        return talk
    return []


def _planted(ctx: Context, infra: SimDevice) -> list[Iterator[Item]]:
    """The conversations that carry the planted risks (one device each)."""
    hospital = ctx.hospital
    biomed = hospital.one(Role.BIOMED_WORKSTATION)
    pump = hospital.one(Role.INFUSION_PUMP)
    lab = hospital.one(Role.LAB_ANALYSER)
    ct = hospital.one(Role.CT_SCANNER)
    return [
        telnet.login_session(ctx, biomed, pump),
        ftp.login_session(ctx, biomed, lab),
        tls.legacy_web_sessions(ctx, biomed, lab, infra),
        http.browse_viewer(ctx, biomed, hospital.one(Role.PACS), infra, admin=True),
        tls.internet_sessions(
            ctx,
            ct,
            infra,
            (REMOTE_SERVICE,),
            profile=tls.ClientProfile.EMBEDDED,
            interval=(240.0, 600.0),
            exposure=True,
        ),
    ]
