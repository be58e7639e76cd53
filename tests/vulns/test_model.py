"""Domain records: status lookups, best scores, combining results."""

from __future__ import annotations

from medshield.vulns.model import (
    FeedProblem,
    FeedResult,
    KevEntry,
    ProductScore,
    ProductStatus,
    Remediation,
    RemediationCategory,
    Score,
    Vulnerability,
)

VULNERABILITY = Vulnerability(
    "CVE-2099-1",
    product_status=(
        (ProductStatus.KNOWN_AFFECTED, ("P1", "P2")),
        (ProductStatus.FIXED, ("P3",)),
    ),
    remediations=(
        Remediation(RemediationCategory.VENDOR_FIX, "update P1", ("P1",)),
        Remediation(RemediationCategory.MITIGATION, "segment the network"),
    ),
    scores=(
        ProductScore(Score("3.1", 7.5, "CVSS:3.1/AV:N"), ("P1",)),
        ProductScore(Score("4.0", 9.3, "CVSS:4.0/AV:N"), ("P1",)),
        ProductScore(Score("3.1", 5.0, "CVSS:3.1/AV:L"), ("P2",)),
    ),
)


def test_status_lookups() -> None:
    assert VULNERABILITY.statuses("P1") == {ProductStatus.KNOWN_AFFECTED}
    assert VULNERABILITY.products_with(ProductStatus.FIXED) == {"P3"}
    assert ProductStatus.UNDER_INVESTIGATION.affected and ProductStatus.FIRST_FIXED.resolved


def test_best_score_prefers_cvss3() -> None:
    assert VULNERABILITY.best_score("P1") == Score("3.1", 7.5, "CVSS:3.1/AV:N")
    assert VULNERABILITY.best_score("P9") is None
    assert VULNERABILITY.best_score() == Score("3.1", 7.5, "CVSS:3.1/AV:N")


def test_remediations_for_a_product() -> None:
    assert [r.details for r in VULNERABILITY.remediations_for("P1")] == [
        "update P1",
        "segment the network",
    ]
    assert [r.details for r in VULNERABILITY.remediations_for("P2")] == ["segment the network"]


def test_combine_keeps_order() -> None:
    one = FeedResult(kev=(KevEntry("CVE-1", "a", "b"),), problems=(FeedProblem("x", "bad"),))
    two = FeedResult(kev=(KevEntry("CVE-2", "a", "b"),))
    combined = FeedResult.combine([one, two])
    assert [k.cve for k in combined.kev] == ["CVE-1", "CVE-2"]
    assert combined.records == 2 and str(combined.problems[0]) == "x: bad"
