"""Login banners (telnet RFC 854, FTP RFC 959 §4.2 reply 220): server product and version."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.inventory.fingerprints.software import add_product
from medshield.protocols.ftp import FtpSession
from medshield.protocols.telnet import TelnetSession


class BannerFingerprint(NoBindings):
    """What a telnet or FTP server says before anyone logs in."""

    name = "banner"
    kinds = frozenset({TelnetSession.kind, FtpSession.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Banner text as an attribute, and the product it names as software."""
        if isinstance(observation, TelnetSession):
            server = devices.by_endpoint(observation.server)
            banner = observation.banner
            note(server, "telnet_banner", banner, 0.8, observation, "telnet banner")
            add_product(server, banner, "telnet-banner")
        elif isinstance(observation, FtpSession):
            server = devices.by_endpoint(observation.server)
            banner = observation.banner
            note(server, "ftp_banner", banner, 0.8, observation, "FTP 220 banner")
            note(server, "os", observation.system, 0.6, observation, "FTP SYST reply")
            add_product(server, banner, "ftp-banner")


FINGERPRINT = BannerFingerprint()
