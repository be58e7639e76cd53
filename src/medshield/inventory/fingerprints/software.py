"""Product/version strings: HTTP product tokens (``Apache/2.4.41``, RFC 9110 §10.2.4),
banner forms (``ProFTPD 1.3.5``, ``Digi Connect ME Version 82000856_F6``), toolkit names
(``OFFIS_DCMTK_367``) and browser User-Agents.
"""

from __future__ import annotations

import re

from medshield.core.device import Device, Software

_WORDED_VERSION = re.compile(
    r"(?P<name>[A-Za-z][^\r\n]*?)[\s,;]+(?:version|ver\.?|release|rel\.?)\s*:?\s*"
    r"v?(?P<version>\d[\w.-]*|[A-Z]{1,6}[\w]*\.\d[\w.]*)",
    re.IGNORECASE,
)
"""``<product> Version <version>`` as banners and SNMP sysDescr values write it."""

_PRODUCT_TOKEN = re.compile(r"(?P<name>[A-Za-z][\w.+ -]*?)[/ _-]v?(?P<version>\d+(?:[._]\w+)*)")
"""``name/version`` product tokens and the looser ``name-1.2``/``name 1.2`` forms."""

_BROWSERS = (
    ("Edg/", "Microsoft Edge"),
    ("Firefox/", "Mozilla Firefox"),
    ("Chrome/", "Google Chrome"),
    ("Version/", "Apple Safari"),
)
"""User-Agent tokens in the order that disambiguates them (Edge also says Chrome …)."""


def split_product(text: str) -> tuple[str, str] | None:
    """The first ``(product, version)`` pair in ``text``, or None."""
    worded = _WORDED_VERSION.search(text)
    if worded is not None:
        name = worded.group("name").split(",")[0].split("[")[0].strip()
        return name, worded.group("version").rstrip(".,")
    match = _PRODUCT_TOKEN.search(text)
    if match is None:
        return None
    return match.group("name").rstrip("_-"), match.group("version")


def add_product(device: Device | None, text: str | None, source: str) -> None:
    """Add the product named in ``text`` (a header or banner) to the device's software."""
    if device is None or not text:
        return
    found = split_product(text)
    if found is not None:
        device.add_software(Software(found[0], found[1], source))


def browser(user_agent: str) -> tuple[str, str] | None:
    """The browser and its version a User-Agent names (RFC 9110 §10.1.5), or None."""
    for token, name in _BROWSERS:
        start = user_agent.find(token)
        if start >= 0:
            version = re.match(r"[\d.]+", user_agent[start + len(token) :])
            if version:
                return name, version.group(0)
    return None


def add_browser(device: Device | None, user_agent: str | None) -> None:
    """Add the browser a User-Agent names, else its first product token."""
    if device is None or not user_agent:
        return
    found = browser(user_agent)
    if found is not None:
        device.add_software(Software(found[0], found[1], "http-user-agent"))
    else:
        add_product(device, user_agent, "http-user-agent")
