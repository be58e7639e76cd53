"""The simulated hospital: which devices exist for ``--devices N``, their addresses and names.

Addressing plan (one Ethernet segment, 10.20.0.0/16, default gateway 10.20.0.1; each role
lives in its own /24 block so that a /24 is the unit the flat-network rule looks at):

==========================  =====================
10.20.0.0/24                network gear (router)
10.20.1.0/24                servers (static addresses)
10.20.10.0/24 – .19.0/24    patient monitors
10.20.20.0/24 – .29.0/24    infusion pumps
10.20.30.0/24 – .31.0/24    imaging modalities
10.20.40.0/24               lab analysers
10.20.50.0/24               medical IoT gateways
10.20.60.0/24               legacy ward: two monitors and a nurse-station PC (planted flat network)
10.20.70.0/24               biomed workstations
10.20.100.0/24 – .109.0/24  clinical workstations
10.20.110.0/24              printers
10.20.120.0/24              building controller (static)
==========================  =====================
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from medshield.core.device import device_id_for_mac
from medshield.core.errors import BadInputError
from medshield.simulate.personas import PRODUCTS, ROLE_CLASSES, Product, Role, RoleClass
from medshield.simulate.wire import Nic

MIN_DEVICES = 10
MAX_DEVICES = 5000
SITE_NETWORK = IPv4Network("10.20.0.0/16")
GATEWAY_IP = "10.20.0.1"
DOMAIN = "hospital.example"
FACILITY = "SIMHOSP"

FIRST_ROLES: tuple[Role, ...] = (
    Role.ROUTER,
    Role.INFRASTRUCTURE_SERVER,
    Role.PUMP_SERVER,
    Role.PACS,
    Role.HL7_ENGINE,
    Role.PATIENT_MONITOR,
    Role.INFUSION_PUMP,
    Role.CT_SCANNER,
    Role.LAB_ANALYSER,
    Role.BIOMED_WORKSTATION,
    Role.CLINICAL_WORKSTATION,
    Role.MR_SCANNER,
    Role.IOT_GATEWAY,
    Role.PRINTER,
    Role.ADT_SYSTEM,
    Role.BUILDING_CONTROLLER,
)
"""One device of each role, in this order, before any role gets a second device.

The first ten are the core every hospital has (N ≥ 10); the next six arrive by N = 16.
"""

SCALED_SHARES: dict[Role, float] = {
    Role.PATIENT_MONITOR: 28.0,
    Role.INFUSION_PUMP: 32.0,
    Role.CLINICAL_WORKSTATION: 17.0,
    Role.PRINTER: 4.0,
    Role.CT_SCANNER: 2.0,
    Role.MR_SCANNER: 1.5,
    Role.LAB_ANALYSER: 3.5,
    Role.IOT_GATEWAY: 2.0,
    Role.BIOMED_WORKSTATION: 1.0,
}
"""Shares of the devices beyond the first sixteen (servers and the controller stay single)."""

ROLE_BLOCKS: dict[Role, tuple[int, int]] = {
    Role.ROUTER: (0, 1),
    Role.INFRASTRUCTURE_SERVER: (1, 1),
    Role.PUMP_SERVER: (1, 1),
    Role.PACS: (1, 1),
    Role.HL7_ENGINE: (1, 1),
    Role.ADT_SYSTEM: (1, 1),
    Role.PATIENT_MONITOR: (10, 10),
    Role.INFUSION_PUMP: (20, 10),
    Role.CT_SCANNER: (30, 2),
    Role.MR_SCANNER: (30, 2),
    Role.LAB_ANALYSER: (40, 1),
    Role.IOT_GATEWAY: (50, 1),
    Role.BIOMED_WORKSTATION: (70, 1),
    Role.CLINICAL_WORKSTATION: (100, 10),
    Role.PRINTER: (110, 1),
    Role.BUILDING_CONTROLLER: (120, 1),
}
"""First third octet and number of /24 blocks each role may fill."""

STATIC_HOSTS: dict[Role, int] = {
    Role.ROUTER: 1,
    Role.INFRASTRUCTURE_SERVER: 10,
    Role.PUMP_SERVER: 20,
    Role.PACS: 30,
    Role.HL7_ENGINE: 40,
    Role.ADT_SYSTEM: 50,
    Role.BUILDING_CONTROLLER: 10,
}
"""Host number of the statically addressed devices (servers, router, building controller)."""

LEGACY_WARD_OCTET = 60
FIRST_HOST, LAST_HOST = 11, 250


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One simulated device: persona, identity and addresses."""

    index: int
    role: Role
    product: Product
    mac: bytes
    ip: bytes
    hostname: str
    serial: str
    static: bool

    @property
    def nic(self) -> Nic:
        """The device's interface as frames carry it."""
        return Nic(self.mac, self.ip, self.product.stack.ttl)

    @property
    def mac_text(self) -> str:
        """Colon-separated lower-case MAC."""
        return self.mac.hex(":")

    @property
    def ip_text(self) -> str:
        """Dotted-quad IPv4 address."""
        return str(IPv4Address(self.ip))

    @property
    def id(self) -> str:
        """The device id an inventory gives this MAC."""
        return device_id_for_mac(self.mac_text)

    @property
    def role_class(self) -> RoleClass:
        """Category and criticality of the device's role."""
        return ROLE_CLASSES[self.role]

    @property
    def fqdn(self) -> str:
        """Host name within the hospital's DNS domain."""
        return f"{self.hostname}.{DOMAIN}"


@dataclass(frozen=True, slots=True)
class Hospital:
    """Every device of the simulated site and the roles conversations look up."""

    devices: tuple[SimDevice, ...]
    legacy_ward: IPv4Network | None
    """The /24 where monitors share a segment with a workstation (planted), if any."""
    _by_role: dict[Role, tuple[SimDevice, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_role: dict[Role, list[SimDevice]] = {}
        for device in self.devices:
            by_role.setdefault(device.role, []).append(device)
        # Frozen dataclass: the index is derived once from ``devices``.
        object.__setattr__(self, "_by_role", {r: tuple(ds) for r, ds in by_role.items()})

    def of(self, role: Role) -> tuple[SimDevice, ...]:
        """Devices of a role, in index order."""
        return self._by_role.get(role, ())

    def one(self, role: Role) -> SimDevice:
        """The first device of a role (each server role has exactly one)."""
        return self.of(role)[0]

    def optional(self, role: Role) -> SimDevice | None:
        """The first device of a role, or None when the site is too small to have one."""
        found = self.of(role)
        return found[0] if found else None

    @property
    def router(self) -> SimDevice:
        """The default gateway."""
        return self.one(Role.ROUTER)


def plan_roles(count: int) -> list[Role]:
    """Roles of ``count`` devices: one of each role first, then shares by largest remainder."""
    if not MIN_DEVICES <= count <= MAX_DEVICES:
        raise BadInputError(
            "--devices", f"must be between {MIN_DEVICES} and {MAX_DEVICES}, got {count}"
        )
    roles = list(FIRST_ROLES[:count])
    extra = count - len(roles)
    if extra <= 0:
        return roles
    total = sum(SCALED_SHARES.values())
    exact = {role: extra * share / total for role, share in SCALED_SHARES.items()}
    counts = {role: int(value) for role, value in exact.items()}
    by_remainder = sorted(exact, key=lambda role: (-(exact[role] - counts[role]), role.value))
    for role in by_remainder[: extra - sum(counts.values())]:
        counts[role] += 1
    for role in SCALED_SHARES:
        roles.extend([role] * counts[role])
    return roles


def _pick_product(role: Role, ordinal: int, rng: random.Random) -> Product:
    """The first device of a role gets the role's first model; later ones are drawn."""
    models = PRODUCTS[role]
    return models[0] if ordinal == 0 else rng.choice(models)


def _unique_mac(oui: str, rng: random.Random, taken: set[bytes]) -> bytes:
    prefix = bytes.fromhex(oui.replace(":", ""))
    while True:
        mac = prefix + rng.randbytes(3)
        if mac not in taken:
            taken.add(mac)
            return mac


def _serial(product: Product, rng: random.Random) -> str:
    return f"{product.serial_prefix}{rng.randrange(10**7, 10**8)}"


class _AddressBook:
    """Hands out host addresses block by block within each role's /24 blocks."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def take(self, first_octet: int, blocks: int, role: Role) -> bytes:
        for octet in range(first_octet, first_octet + blocks):
            host = self._next.get(octet, FIRST_HOST)
            if host <= LAST_HOST:
                self._next[octet] = host + 1
                return bytes((10, 20, octet, host))
        raise BadInputError("--devices", f"too many {role.value} devices for the address plan")


def build_hospital(count: int, seed: int) -> Hospital:
    """The devices of a hospital with ``count`` devices, fully determined by ``seed``."""
    rng = random.Random(f"{seed}/population")
    roles = plan_roles(count)
    ward = _ward_members(roles)
    book = _AddressBook()
    taken: set[bytes] = set()
    ordinals: dict[Role, int] = {}
    devices: list[SimDevice] = []
    for index, role in enumerate(roles):
        ordinal = ordinals.get(role, 0)
        ordinals[role] = ordinal + 1
        product = _pick_product(role, ordinal, rng)
        static = role in STATIC_HOSTS
        if static:
            ip = bytes((10, 20, ROLE_BLOCKS[role][0], STATIC_HOSTS[role]))
        elif index in ward:
            ip = book.take(LEGACY_WARD_OCTET, 1, role)
        else:
            ip = book.take(*ROLE_BLOCKS[role], role)
        devices.append(
            SimDevice(
                index=index,
                role=role,
                product=product,
                mac=_unique_mac(product.oui, rng, taken),
                ip=ip,
                hostname=f"{product.hostname_prefix}-{ordinal + 1:02d}",
                serial=_serial(product, rng),
                static=static,
            )
        )
    legacy = IPv4Network(f"10.20.{LEGACY_WARD_OCTET}.0/24") if ward else None
    return Hospital(devices=tuple(devices), legacy_ward=legacy)


def _ward_members(roles: Sequence[Role]) -> set[int]:
    """Indexes of the devices placed in the legacy ward (planted flat network).

    Planted once the site has at least four monitors and two clinical workstations: the last
    two monitors and the last clinical workstation share 10.20.60.0/24.
    """
    monitors = [i for i, role in enumerate(roles) if role is Role.PATIENT_MONITOR]
    workstations = [i for i, role in enumerate(roles) if role is Role.CLINICAL_WORKSTATION]
    if len(monitors) < 4 or len(workstations) < 2:
        return set()
    return {*monitors[-2:], workstations[-1]}
