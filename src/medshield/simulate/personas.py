"""Device personas: what each simulated device is, who made it and how its stack behaves.

Every MAC prefix below is an OUI that the IEEE registry shipped with netaddr assigns to the named
maker (``netaddr.EUI(mac).oui.registration().org``); the persona tests check each one. Models,
firmware versions, DHCP vendor classes and banners are plausible inventions for a simulated
hospital, not statements about real products' behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from medshield.core.enums import MEDICAL_CATEGORIES as CORE_MEDICAL_CATEGORIES
from medshield.core.enums import Criticality, DeviceCategory


class Role(StrEnum):
    """The job a device does in the simulated hospital (the truth file's ``persona``)."""

    ROUTER = "router"
    INFRASTRUCTURE_SERVER = "infrastructure-server"
    PUMP_SERVER = "pump-server"
    PACS = "pacs"
    HL7_ENGINE = "hl7-engine"
    ADT_SYSTEM = "adt-system"
    PATIENT_MONITOR = "patient-monitor"
    INFUSION_PUMP = "infusion-pump"
    CT_SCANNER = "ct-scanner"
    MR_SCANNER = "mr-scanner"
    LAB_ANALYSER = "lab-analyser"
    IOT_GATEWAY = "iot-gateway"
    BIOMED_WORKSTATION = "biomed-workstation"
    CLINICAL_WORKSTATION = "clinical-workstation"
    PRINTER = "printer"
    BUILDING_CONTROLLER = "building-controller"


@dataclass(frozen=True, slots=True)
class RoleClass:
    """How an inventory should classify a role: category and clinical criticality."""

    category: DeviceCategory
    criticality: Criticality


ROLE_CLASSES: dict[Role, RoleClass] = {
    Role.ROUTER: RoleClass(DeviceCategory.NETWORK_DEVICE, Criticality.MEDIUM),
    Role.INFRASTRUCTURE_SERVER: RoleClass(DeviceCategory.SERVER, Criticality.MEDIUM),
    Role.PUMP_SERVER: RoleClass(DeviceCategory.SERVER, Criticality.MEDIUM),
    Role.PACS: RoleClass(DeviceCategory.PACS, Criticality.HIGH),
    Role.HL7_ENGINE: RoleClass(DeviceCategory.HL7_INTERFACE_ENGINE, Criticality.HIGH),
    Role.ADT_SYSTEM: RoleClass(DeviceCategory.SERVER, Criticality.MEDIUM),
    Role.PATIENT_MONITOR: RoleClass(DeviceCategory.PATIENT_MONITOR, Criticality.HIGH),
    Role.INFUSION_PUMP: RoleClass(DeviceCategory.INFUSION_PUMP, Criticality.LIFE_SUSTAINING),
    Role.CT_SCANNER: RoleClass(DeviceCategory.IMAGING_MODALITY, Criticality.MEDIUM),
    Role.MR_SCANNER: RoleClass(DeviceCategory.IMAGING_MODALITY, Criticality.MEDIUM),
    Role.LAB_ANALYSER: RoleClass(DeviceCategory.LAB_ANALYSER, Criticality.MEDIUM),
    Role.IOT_GATEWAY: RoleClass(DeviceCategory.MEDICAL_IOT_GATEWAY, Criticality.HIGH),
    Role.BIOMED_WORKSTATION: RoleClass(DeviceCategory.WORKSTATION, Criticality.LOW),
    Role.CLINICAL_WORKSTATION: RoleClass(DeviceCategory.WORKSTATION, Criticality.LOW),
    Role.PRINTER: RoleClass(DeviceCategory.PRINTER, Criticality.LOW),
    Role.BUILDING_CONTROLLER: RoleClass(DeviceCategory.UNKNOWN, Criticality.LOW),
}
"""Category and criticality per role.

Infusion pumps deliver drugs (life-sustaining); monitors raise alarms and IoT gateways relay
them (high); PACS and the HL7 engine carry every image and result (high); modalities, lab
analysers and the servers that keep the clinical systems running are medium; workstations
(clinical or biomed) and printers low: criticality follows the category, as the inventory
can only tell a device's category from the wire. The building controller (a PLC
watching the pharmacy cold room) has no clinical category of its own: ``unknown``, low.
"""

MEDICAL_CATEGORIES = CORE_MEDICAL_CATEGORIES
"""Categories that count as medical devices for internet-exposure and flat-network rules."""


@dataclass(frozen=True, slots=True)
class Stack:
    """How a device's operating system behaves on the wire (TTL, TCP window, DHCP client)."""

    name: str
    ttl: int
    window: int
    dhcp_parameters: tuple[int, ...] = ()
    """DHCP option 55 parameter request list, in the client's order (RFC 2132 §9.8)."""
    dhcp_max_size: int | None = None
    """DHCP option 57 (RFC 2132 §9.10), sent by some clients."""
    dhcp_broadcast: bool = False
    """Whether the client sets the BOOTP broadcast flag (RFC 2131 §4.1)."""


WINDOWS = Stack(
    "windows",
    ttl=128,
    window=64240,
    dhcp_parameters=(1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252),
)
WINDOWS_SERVER = Stack("windows-server", ttl=128, window=65535)
LINUX_SERVER = Stack("linux-server", ttl=64, window=64240)
CISCO_IOS = Stack("cisco-ios", ttl=255, window=4128)
DHCPCD = Stack(
    "dhcpcd",
    ttl=64,
    window=29200,
    dhcp_parameters=(1, 121, 33, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119),
    dhcp_max_size=1472,
)
UDHCPC = Stack(
    "udhcpc",
    ttl=64,
    window=14600,
    dhcp_parameters=(1, 3, 6, 12, 15, 28, 42),
    dhcp_max_size=576,
    dhcp_broadcast=True,
)
VXWORKS = Stack(
    "vxworks",
    ttl=64,
    window=8192,
    dhcp_parameters=(1, 3, 6, 15, 28, 43),
    dhcp_broadcast=True,
)
EMBEDDED_PRINTER = Stack(
    "printer",
    ttl=64,
    window=32768,
    dhcp_parameters=(1, 3, 6, 12, 15, 44, 46, 47, 69, 81, 144),
)


@dataclass(frozen=True, slots=True)
class SoftwareItem:
    """A software component a device runs, and the protocol that reveals it on the wire."""

    name: str
    version: str
    source: str


@dataclass(frozen=True, slots=True)
class Product:
    """A device model: maker OUI, identity strings and the protocol details it sends."""

    oui: str
    """First three MAC bytes, ``aa:bb:cc``, registered to the maker in the IEEE registry."""
    manufacturer: str
    """The maker's name as the device itself writes it (DICOM Manufacturer, SFT-1 …)."""
    model: str
    firmware: str
    stack: Stack
    hostname_prefix: str
    serial_prefix: str
    dhcp_vendor_class: str | None = None
    sends_hostname: bool = True
    software: tuple[SoftwareItem, ...] = ()
    hl7_application: str = ""
    """MSH-3 sending application this model writes."""
    dicom_ae_prefix: str = ""
    dicom_modality: str = ""
    dicom_implementation_uid: str = ""
    dicom_implementation_version: str = ""
    dicom_port: int = 104
    mqtt_username: str = ""
    mqtt_password: str = ""
    snmp_sys_descr: str = ""
    snmp_sys_object_id: str = ""
    http_server: str = ""
    user_agent: str = ""
    banner: str = ""
    """Telnet or FTP greeting for models that offer those services."""
    login: tuple[str, str] | None = None
    """Credentials a technician uses on the model's telnet/FTP service."""
    login_is_default: bool = False
    """True when ``login`` is the maker's documented factory default."""
    extra: dict[str, str] = field(default_factory=dict)

    def software_from(self, source: str) -> tuple[SoftwareItem, ...]:
        """The software items a given protocol reveals."""
        return tuple(item for item in self.software if item.source == source)


CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.6261.112 Safari/537.36"
)
EDGE_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Safari/537.36 Edg/121.0.2277.128"
)

PRODUCTS: dict[Role, tuple[Product, ...]] = {
    Role.ROUTER: (
        Product(
            oui="00:1e:49",
            manufacturer="Cisco",
            model="ISR4331",
            firmware="17.3.4a",
            stack=CISCO_IOS,
            hostname_prefix="core-rtr",
            serial_prefix="FDO",
            software=(SoftwareItem("Cisco IOS XE", "17.3.4a", "snmp"),),
            snmp_sys_descr=(
                "Cisco IOS Software [Amsterdam], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
                "Version 17.3.4a, RELEASE SOFTWARE (fc3)"
            ),
            snmp_sys_object_id="1.3.6.1.4.1.9.1.1862",
        ),
    ),
    Role.INFRASTRUCTURE_SERVER: (
        Product(
            oui="00:50:56",
            manufacturer="VMware",
            model="Windows Server 2019 (VM)",
            firmware="10.0.17763",
            stack=WINDOWS_SERVER,
            hostname_prefix="dc",
            serial_prefix="VMware-42",
        ),
    ),
    Role.PUMP_SERVER: (
        Product(
            oui="f8:bc:12",
            manufacturer="Dell",
            model="PowerEdge R650",
            firmware="2.1.5",
            stack=WINDOWS_SERVER,
            hostname_prefix="pumpsrv",
            serial_prefix="7XK",
        ),
    ),
    Role.PACS: (
        Product(
            oui="18:66:da",
            manufacturer="Dell",
            model="PowerEdge R750",
            firmware="1.9.2",
            stack=LINUX_SERVER,
            hostname_prefix="pacs",
            serial_prefix="9QF",
            software=(
                SoftwareItem("dcm4chee-arc", "5.31.0", "dicom"),
                SoftwareItem("nginx", "1.24.0", "http"),
            ),
            dicom_ae_prefix="DCM4CHEE",
            dicom_implementation_uid="1.2.40.0.13.1.3",
            dicom_implementation_version="dcm4che-5.31.0",
            http_server="nginx/1.24.0",
        ),
    ),
    Role.HL7_ENGINE: (
        Product(
            oui="00:50:56",
            manufacturer="VMware",
            model="Mirth Connect appliance (VM)",
            firmware="4.4.1",
            stack=LINUX_SERVER,
            hostname_prefix="hl7eng",
            serial_prefix="VMware-42",
            hl7_application="MIRTH",
            software=(SoftwareItem("Mirth Connect", "4.4.1", "hl7"),),
        ),
    ),
    Role.ADT_SYSTEM: (
        Product(
            oui="00:50:56",
            manufacturer="VMware",
            model="Patient administration system (VM)",
            firmware="2023.2",
            stack=WINDOWS_SERVER,
            hostname_prefix="adt",
            serial_prefix="VMware-42",
            hl7_application="PAS_ADT",
            software=(SoftwareItem("CareFlow PAS", "2023.2", "hl7"),),
        ),
    ),
    Role.PATIENT_MONITOR: (
        Product(
            oui="00:09:fb",
            manufacturer="Philips Medical Systems",
            model="IntelliVue MX800",
            firmware="M.00.03",
            stack=VXWORKS,
            hostname_prefix="mx800",
            serial_prefix="DE",
            dhcp_vendor_class="PHILIPS IntelliVue",
            sends_hostname=False,
            hl7_application="IntelliVue_MX800",
            software=(SoftwareItem("IntelliVue", "M.00.03", "hl7"),),
        ),
        Product(
            oui="44:4b:5d",
            manufacturer="GE Healthcare",
            model="CARESCAPE B650",
            firmware="3.2",
            stack=DHCPCD,
            hostname_prefix="b650",
            serial_prefix="SBU",
            dhcp_vendor_class="dhcpcd-6.11.5:Linux-3.14.28:armv7l:GEHC CARESCAPE B650",
            hl7_application="CARESCAPE_B650",
            software=(
                SoftwareItem("CARESCAPE Monitor", "3.2", "hl7"),
                SoftwareItem("dhcpcd", "6.11.5", "dhcp"),
            ),
        ),
        Product(
            oui="00:0f:14",
            manufacturer="Mindray",
            model="BeneVision N15",
            firmware="04.05.00",
            stack=UDHCPC,
            hostname_prefix="n15",
            serial_prefix="FW-",
            dhcp_vendor_class="udhcp 1.24.2",
            hl7_application="BeneVision_N15",
            software=(
                SoftwareItem("BeneVision", "04.05.00", "hl7"),
                SoftwareItem("udhcp", "1.24.2", "dhcp"),
            ),
        ),
        Product(
            oui="00:30:e6",
            manufacturer="Draeger",
            model="Infinity Delta XL",
            firmware="VF10.2",
            stack=VXWORKS,
            hostname_prefix="delta",
            serial_prefix="ASL",
            dhcp_vendor_class="Draeger Infinity",
            sends_hostname=False,
            hl7_application="Infinity_Delta",
            software=(SoftwareItem("Infinity Delta", "VF10.2", "hl7"),),
        ),
    ),
    Role.INFUSION_PUMP: (
        Product(
            oui="00:03:b1",
            manufacturer="ICU Medical",
            model="Plum A+",
            firmware="13.41",
            stack=UDHCPC,
            hostname_prefix="plum",
            serial_prefix="1607",
            dhcp_vendor_class="udhcp 1.19.4",
            mqtt_username="pump-telemetry",
            mqtt_password="Plum#Telemetry22",
            software=(
                SoftwareItem("Digi Connect ME", "82000856_F6", "telnet"),
                SoftwareItem("udhcp", "1.19.4", "dhcp"),
            ),
            banner="Digi Connect ME Version 82000856_F6 07/21/2011",
            login=("root", "dbps"),
            login_is_default=True,
        ),
        Product(
            oui="00:d0:75",
            manufacturer="BD",
            model="Alaris 8015 PC Unit",
            firmware="12.1.2",
            stack=VXWORKS,
            hostname_prefix="pcu",
            serial_prefix="8015",
            dhcp_vendor_class="Alaris PCU",
            sends_hostname=False,
            mqtt_username="pump-telemetry",
            mqtt_password="Alaris!Fleet2021",
        ),
        Product(
            oui="58:42:e4",
            manufacturer="Baxter",
            model="Sigma Spectrum IQ",
            firmware="9.02.01",
            stack=DHCPCD,
            hostname_prefix="spectrum",
            serial_prefix="SIQ",
            dhcp_vendor_class="dhcpcd-8.1.2:Linux-4.14.98:armv7l:Baxter Spectrum IQ",
            mqtt_username="pump-telemetry",
            mqtt_password="SpectrumIQ-2020",
            software=(SoftwareItem("dhcpcd", "8.1.2", "dhcp"),),
        ),
        Product(
            oui="00:12:21",
            manufacturer="B. Braun",
            model="Space Infusomat",
            firmware="687Y",
            stack=VXWORKS,
            hostname_prefix="space",
            serial_prefix="BB",
            dhcp_vendor_class="BBraun SpaceStation",
            sends_hostname=False,
            mqtt_username="pump-telemetry",
            mqtt_password="SpaceCom#19",
        ),
    ),
    Role.CT_SCANNER: (
        Product(
            oui="88:4b:39",
            manufacturer="SIEMENS",
            model="SOMATOM go.Up",
            firmware="VA30A",
            stack=WINDOWS,
            hostname_prefix="ct-somatom",
            serial_prefix="1",
            dhcp_vendor_class="MSFT 5.0",
            software=(SoftwareItem("syngo CT", "VA30A", "dicom"),),
            dicom_ae_prefix="CT_SOMATOM",
            dicom_modality="CT",
            dicom_implementation_uid="1.3.12.2.1107.5.1.4",
            dicom_implementation_version="SIEMENS_CT_VA30",
        ),
        Product(
            oui="44:4b:5d",
            manufacturer="GE MEDICAL SYSTEMS",
            model="Revolution EVO",
            firmware="gmp_ct.21.3",
            stack=LINUX_SERVER,
            hostname_prefix="ct-revo",
            serial_prefix="CTR",
            dhcp_vendor_class="dhcpcd-7.0.8:Linux-3.10.0:x86_64:GEHC Revolution",
            software=(SoftwareItem("Revolution EVO", "gmp_ct.21.3", "dicom"),),
            dicom_ae_prefix="CT_REVO",
            dicom_modality="CT",
            dicom_implementation_uid="1.2.840.113619.6.374",
            dicom_implementation_version="GE_CT_21_3",
        ),
    ),
    Role.MR_SCANNER: (
        Product(
            oui="88:4b:39",
            manufacturer="SIEMENS",
            model="MAGNETOM Vida",
            firmware="XA50A",
            stack=WINDOWS,
            hostname_prefix="mr-vida",
            serial_prefix="17",
            dhcp_vendor_class="MSFT 5.0",
            software=(SoftwareItem("syngo MR", "XA50A", "dicom"),),
            dicom_ae_prefix="MR_VIDA",
            dicom_modality="MR",
            dicom_implementation_uid="1.3.12.2.1107.5.2",
            dicom_implementation_version="SIEMENS_MR_XA50",
            dicom_port=11112,
        ),
        Product(
            oui="00:05:4e",
            manufacturer="Philips Medical Systems",
            model="Ingenia 3.0T",
            firmware="5.7.1",
            stack=WINDOWS,
            hostname_prefix="mr-ingenia",
            serial_prefix="IG",
            dhcp_vendor_class="MSFT 5.0",
            software=(SoftwareItem("Ingenia", "5.7.1", "dicom"),),
            dicom_ae_prefix="MR_INGENIA",
            dicom_modality="MR",
            dicom_implementation_uid="1.3.46.670589.11.0.0.51.4.57.1",
            dicom_implementation_version="PHILIPS_MR_571",
            dicom_port=11112,
        ),
    ),
    Role.LAB_ANALYSER: (
        Product(
            oui="00:06:6b",
            manufacturer="Sysmex",
            model="XN-1000",
            firmware="2.1",
            stack=WINDOWS,
            hostname_prefix="xn1000",
            serial_prefix="XN",
            dhcp_vendor_class="MSFT 5.0",
            hl7_application="SYSMEX_XN",
            software=(
                SoftwareItem("XN IPU", "2.1", "hl7"),
                SoftwareItem("XN FTP server", "2.1", "ftp"),
            ),
            http_server="XN-IPU/2.1",
            banner="220 Sysmex XN-1000 IPU FTP server (Version 2.1) ready.",
            login=("qcexport", "Lab-QC-2022"),
        ),
        Product(
            oui="00:0e:2f",
            manufacturer="Roche",
            model="cobas pro c 503",
            firmware="1.3.2",
            stack=DHCPCD,
            hostname_prefix="cobas",
            serial_prefix="CP",
            dhcp_vendor_class="dhcpcd-9.4.1:Linux-5.10.72:x86_64:Roche cobas pro",
            hl7_application="COBAS_PRO",
            software=(
                SoftwareItem("cobas pro", "1.3.2", "hl7"),
                SoftwareItem("dhcpcd", "9.4.1", "dhcp"),
            ),
        ),
        Product(
            oui="00:13:dd",
            manufacturer="Abbott",
            model="Alinity ci",
            firmware="3.4",
            stack=WINDOWS,
            hostname_prefix="alinity",
            serial_prefix="AC",
            dhcp_vendor_class="MSFT 5.0",
            hl7_application="ALINITY_CI",
            software=(SoftwareItem("Alinity ci", "3.4", "hl7"),),
        ),
    ),
    Role.IOT_GATEWAY: (
        Product(
            oui="7c:94:b2",
            manufacturer="Philips",
            model="IntelliBridge EC40",
            firmware="B.01.02",
            stack=DHCPCD,
            hostname_prefix="ibridge",
            serial_prefix="US",
            dhcp_vendor_class="dhcpcd-7.2.3:Linux-4.9.88:armv7l:Philips IntelliBridge",
            mqtt_username="ibridge",
            mqtt_password="IBridge-Telemetry-1",
            software=(SoftwareItem("dhcpcd", "7.2.3", "dhcp"),),
        ),
        Product(
            oui="00:40:9d",
            manufacturer="Digi International",
            model="ConnectPort X4",
            firmware="2.18.2",
            stack=UDHCPC,
            hostname_prefix="connectport",
            serial_prefix="CPX",
            dhcp_vendor_class="udhcp 1.31.1",
            mqtt_username="bedside-gw",
            mqtt_password="Gw!Bedside2023",
            software=(SoftwareItem("udhcp", "1.31.1", "dhcp"),),
        ),
    ),
    Role.BIOMED_WORKSTATION: (
        Product(
            oui="d4:81:d7",
            manufacturer="Dell",
            model="Latitude 5420",
            firmware="Windows 10 Enterprise 22H2",
            stack=WINDOWS,
            hostname_prefix="biomed-ws",
            serial_prefix="5CG",
            dhcp_vendor_class="MSFT 5.0",
            user_agent=CHROME_UA,
            software=(SoftwareItem("Google Chrome", "122.0.6261.112", "http"),),
        ),
    ),
    Role.CLINICAL_WORKSTATION: (
        Product(
            oui="b8:ca:3a",
            manufacturer="Dell",
            model="OptiPlex 7090",
            firmware="Windows 10 Enterprise 22H2",
            stack=WINDOWS,
            hostname_prefix="ws",
            serial_prefix="JX",
            dhcp_vendor_class="MSFT 5.0",
            user_agent=CHROME_UA,
            software=(SoftwareItem("Google Chrome", "122.0.6261.112", "http"),),
        ),
        Product(
            oui="3c:52:82",
            manufacturer="HP",
            model="EliteDesk 800 G6",
            firmware="Windows 11 Enterprise 23H2",
            stack=WINDOWS,
            hostname_prefix="ws",
            serial_prefix="MXL",
            dhcp_vendor_class="MSFT 5.0",
            user_agent=EDGE_UA,
            software=(SoftwareItem("Microsoft Edge", "121.0.2277.128", "http"),),
        ),
    ),
    Role.PRINTER: (
        Product(
            oui="00:21:b7",
            manufacturer="Lexmark",
            model="MS821dn",
            firmware="MSNGM.230.037",
            stack=EMBEDDED_PRINTER,
            hostname_prefix="prn-lex",
            serial_prefix="50",
            dhcp_vendor_class="Lexmark MS821dn",
            software=(SoftwareItem("Lexmark firmware", "MSNGM.230.037", "snmp"),),
            snmp_sys_descr="Lexmark MS821dn version MSNGM.230.037 kernel 5.4.0 All-N-1",
            snmp_sys_object_id="1.3.6.1.4.1.641.1.5.7.1",
        ),
        Product(
            oui="70:5a:0f",
            manufacturer="HP",
            model="LaserJet Enterprise M607",
            firmware="2409048_052604",
            stack=EMBEDDED_PRINTER,
            hostname_prefix="prn-hp",
            serial_prefix="PHB",
            dhcp_vendor_class="Hewlett-Packard JetDirect",
            software=(SoftwareItem("HP FutureSmart", "2409048_052604", "snmp"),),
            snmp_sys_descr="HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM "
            "JSI24090048,CIDATE 07/12/2023",
            snmp_sys_object_id="1.3.6.1.4.1.11.2.3.9.1",
        ),
        Product(
            oui="00:07:4d",
            manufacturer="Zebra",
            model="ZD621 wristband printer",
            firmware="V93.21.15Z",
            stack=EMBEDDED_PRINTER,
            hostname_prefix="prn-zebra",
            serial_prefix="D4J",
            dhcp_vendor_class="Zebra ZD621",
            software=(SoftwareItem("Link-OS", "V93.21.15Z", "snmp"),),
            snmp_sys_descr="ZTC ZD621-203dpi ZPL V93.21.15Z",
            snmp_sys_object_id="1.3.6.1.4.1.10642.1.1",
        ),
    ),
    Role.BUILDING_CONTROLLER: (
        Product(
            oui="00:00:54",
            manufacturer="Schneider Electric",
            model="Modicon M251 (pharmacy cold room)",
            firmware="5.1.9.34",
            stack=Stack("plc", ttl=64, window=2920),
            hostname_prefix="bms-plc",
            serial_prefix="M251",
        ),
    ),
}
"""Models per role. The first model of a role is the one its first device always gets, so the
planted risks that depend on a model (telnet on the Plum A+, FTP on the XN-1000) always exist."""
