"""Product and version extraction from banners, headers, sysDescr and User-Agents."""

from __future__ import annotations

import pytest

from medshield.inventory.fingerprints.software import browser, split_product


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apache/2.4.41 (Ubuntu)", ("Apache", "2.4.41")),
        ("Microsoft-IIS/10.0", ("Microsoft-IIS", "10.0")),
        ("OFFIS_DCMTK_367", ("OFFIS_DCMTK", "367")),
        ("dhcpcd-9.4.1:Linux-5.10.72:x86_64:Roche cobas pro", ("dhcpcd", "9.4.1")),
        ("udhcp 1.24.2", ("udhcp", "1.24.2")),
        ("Digi Connect ME Version 82000856_F6", ("Digi Connect ME", "82000856_F6")),
        (
            "Cisco IOS Software [Amsterdam], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
            "Version 17.3.4a, RELEASE SOFTWARE (fc3)",
            ("Cisco IOS Software", "17.3.4a"),
        ),
        (
            "Lexmark MS821dn version MSNGM.230.037 kernel 5.4.0",
            ("Lexmark MS821dn", "MSNGM.230.037"),
        ),
        ("ProFTPD 1.3.5 Server (Debian)", ("ProFTPD", "1.3.5")),
    ],
)
def test_split_product(text: str, expected: tuple[str, str]) -> None:
    assert split_product(text) == expected


def test_text_without_version_is_none() -> None:
    assert split_product("Welcome to the server") is None


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/121.0.0.0 Safari/537.36 Edg/121.0.2277.128",
            ("Microsoft Edge", "121.0.2277.128"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/122.0.6261.112 Safari/537.36",
            ("Google Chrome", "122.0.6261.112"),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; rv:115.0) Gecko/20100101 Firefox/115.0",
            ("Mozilla Firefox", "115.0"),
        ),
        ("curl/8.5.0", None),
    ],
)
def test_browser(agent: str, expected: tuple[str, str] | None) -> None:
    assert browser(agent) == expected
