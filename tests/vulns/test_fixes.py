"""Fixed versions stated in remediation text.

Each sentence below is taken from a CISA advisory (ICSMA-20-170-01, ICSMA-19-120-01,
ICSA-18-256-01, ICSA-18-165-01, ICSMA-21-152-01, ICSA-21-189-02, ICSMA-21-047-01,
ICSA-24-289-02); the expected versions are what a person reading the sentence would tell each
product's owner to install, not what the parser printed.
"""

from __future__ import annotations

from medshield.vulns.fixes import AdvisoryFixes, fix_statements
from medshield.vulns.model import (
    Advisory,
    FeedKind,
    Product,
    ProductStatus,
    Remediation,
    RemediationCategory,
    Vulnerability,
)
from medshield.vulns.versions import parse_range

EXACTAMIX = (
    "Baxter recommends that users of the ExactaMix EM 2400 Versions 1.10 and 1.11, and "
    "ExactaMix EM1200 Versions 1.1 and 1.2, should contact the service support team or regional "
    "product service support to upgrade to the ExactaMix Version 1.4 (EM1200) and ExactaMix "
    "Version 1.13 (EM2400) compounders.\nFor all users, Baxter recommends the following "
    "compensating controls including, but not limited to:"
)


def advisory(
    vendor: str,
    products: list[tuple[str, str, str]],
    remediations: list[tuple[str, tuple[str, ...]]],
) -> Advisory:
    """An advisory whose products (id, name, affected versions) share ``remediations``
    (vendor-fix text, product ids)."""
    built = tuple(
        Product(pid, vendor, name, f"{name} {text}", text, parse_range(text))
        for pid, name, text in products
    )
    vulnerability = Vulnerability(
        "CVE-2099-0001",
        product_status=((ProductStatus.KNOWN_AFFECTED, tuple(p.product_id for p in built)),),
        remediations=tuple(
            Remediation(RemediationCategory.VENDOR_FIX, details, ids)
            for details, ids in remediations
        ),
    )
    return Advisory(
        "TEST-1", FeedKind.CSAF, "test", "test", products=built, vulnerabilities=(vulnerability,)
    )


def fixes(built: Advisory) -> dict[str, list[str]]:
    """Product name → the versions the advisory states as its fix, in order."""
    stated = AdvisoryFixes(built)
    return {p.name: list(stated.stated(p)) for p in built.products}


def test_versions_users_run_are_not_fixes() -> None:
    # 1.10, 1.11, 1.1 and 1.2 are what users run; only the "upgrade to" versions are fixes.
    assert [s.version for s in fix_statements(EXACTAMIX)] == ["1.4", "1.13"]


def test_each_model_gets_the_version_its_parenthesis_names() -> None:
    # Were the upgrade targets outside the affected versions, EM2400 would be fixed in 1.13
    # and EM1200 in 1.4, never the other model's version.
    built = advisory(
        "Baxter",
        [("p1", "ExactaMix EM2400", "1.10 | 1.11"), ("p2", "ExactaMix EM1200", "1.1 | 1.2")],
        [(EXACTAMIX, ("p1", "p2"))],
    )
    assert fixes(built) == {"ExactaMix EM2400": ["1.13"], "ExactaMix EM1200": ["1.4"]}


def test_upgrade_target_listed_as_affected_is_no_fix() -> None:
    # ICSMA-20-170-01 lists 1.13/1.14 and 1.4/1.5 as affected too: no fixed version.
    built = advisory(
        "Baxter",
        [
            ("p1", "ExactaMix EM2400", "1.10 | 1.11 | 1.13 | 1.14"),
            ("p2", "ExactaMix EM1200", "1.1 | 1.2 | 1.4 | 1.5"),
        ],
        [(EXACTAMIX, ("p1", "p2"))],
    )
    assert fixes(built) == {"ExactaMix EM2400": [], "ExactaMix EM1200": []}


def test_each_clause_names_its_own_product() -> None:
    built = advisory(
        "Philips",
        [("p1", "Tasy EMR", "<= 3.01.1744"), ("p2", "Tasy WebPortal", "<= 3.02.1757")],
        [
            (
                "Philips advises users to update to the most recently released versions of the "
                "product, following the Tasy EMR release schedule. Update Tasy EMR, to version "
                "3.03.1745 or higher and update Tasy WebPortal, to version 3.03.1758 or higher.",
                ("p1", "p2"),
            )
        ],
    )
    assert fixes(built) == {"Tasy EMR": ["3.03.1745"], "Tasy WebPortal": ["3.03.1758"]}


def test_update_of_another_component_is_not_the_products_fix() -> None:
    built = advisory(
        "Honeywell",
        [("p1", "CT50 running Android OS", "6.0"), ("p2", "CT60 running Android OS", "7.1")],
        [
            (
                "CT50 running Android OS 6.0 - Update to CommonES 4.01.00.4134 or later; "
                "Update ECP to Version 2.30.00.0167 or later (if applicable)",
                ("p1", "p2"),
            )
        ],
    )
    assert fixes(built) == {"CT50 running Android OS": [], "CT60 running Android OS": []}


def test_label_naming_other_products() -> None:
    built = advisory(
        "Siemens",
        [
            ("p1", "RFID 181EIP", "All versions"),
            ("p2", "RUGGEDCOM Win", "V4.4, V4.5, V5.0, and V5.1"),
            ("p3", "SIMATIC RF182C", "All versions"),
        ],
        [
            (
                "For SIMATIC RF182C and RFID 181EIP: migrate to a successor product within the "
                "SIMATIC RF18xC/CI family, V1.3 or later version. For details refer to the "
                "phase-out announcement.",
                ("p1", "p2", "p3"),
            ),
            ("Update to V5.2 - Download: https://support.industry.siemens.com/", ("p2",)),
        ],
    )
    assert fixes(built)["RUGGEDCOM Win"] == ["5.2"]


def test_product_lines_of_one_remediation() -> None:
    built = advisory(
        "Hillrom",
        [
            ("p1", "Welch Allyn Service Tool", "< 1.10"),
            ("p2", "Welch Allyn Software Development Kit (SDK)", "< 3.2"),
        ],
        [
            ("Welch Allyn Service Tool: v1.10", ("p1", "p2")),
            ("Welch Allyn Software Development Kit (SDK): v3.2", ("p1", "p2")),
        ],
    )
    assert fixes(built) == {
        "Welch Allyn Service Tool": ["1.10"],
        "Welch Allyn Software Development Kit (SDK)": ["3.2"],
    }


def test_label_of_another_version_branch() -> None:
    built = advisory(
        "MDT Software",
        [("p1", "MDT AutoSave", ">= 7.00 | <= 7.04"), ("p2", "MDT AutoSave", "6.01")],
        [
            ("MDT AutoSave 6.x version: Version 6.02.06 (Released January 2021)", ("p1", "p2")),
            ("MDT AutoSave 7.x version: Version 7.05 (Released December 2020)", ("p1", "p2")),
        ],
    )
    stated = AdvisoryFixes(built)
    seven, six = built.products
    assert list(stated.stated(seven)) == ["7.05"]
    assert list(stated.stated(six)) == ["6.02.06"]


def test_a_version_later_than_is_not_named() -> None:
    # "a version later than 2.2.3": 2.2.3 is the last affected one, not the fix.
    built = advisory(
        "Hamilton Medical",
        [("p1", "T1 Ventilator", "2.2.1")],
        [
            (
                "Hamilton Medical recommends users of affected versions update to a version "
                "later than T1 Ventilator Version 2.2.3 where possible.",
                ("p1",),
            )
        ],
    )
    assert fixes(built) == {"T1 Ventilator": []}


def test_version_that_says_it_fixes() -> None:
    built = advisory(
        "Schneider Electric",
        [("p1", "Data Center Expert", "<= 8.1.1.3")],
        [
            (
                "Version 8.2 of EcoStruxure IT Data Center Expert includes fixes for these "
                "vulnerabilities and is available upon request.",
                ("p1",),
            )
        ],
    )
    assert fixes(built) == {"Data Center Expert": ["8.2"]}


def test_remediation_of_other_products_is_ignored() -> None:
    built = advisory(
        "Delta Electronics",
        [("p1", "COMMGR", "<= 1.12"), ("p2", "DIAScreen", "<= 1.4.1")],
        [("Delta Electronics has released COMMGR v1.13 and recommends users to upgrade.", ("p1",))],
    )
    assert fixes(built) == {"COMMGR": ["1.13"], "DIAScreen": []}
