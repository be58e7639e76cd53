"""Firmware version order and affected-range texts (vers and CISA free text)."""

from __future__ import annotations

import pytest

from medshield.vulns.versions import (
    Constraint,
    FirmwareVersion,
    InRange,
    RangeKind,
    from_constraints,
    parse_range,
    parse_version,
)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("4.2", "4.10"),
        ("9.5", "9.33"),
        ("1.0alpha1", "1.0"),
        ("1.0-beta", "1.0-rc1"),
        ("1.0", "1.0a"),
        ("1.0a", "1.0.1"),
        ("2.6A", "2.7"),
        ("1.3.1", "1.3.1 Build 13"),
        ("8.0 Update 4", "8.0 Update 5"),
        ("V3.1 SP2", "V3.1 SP2 HF1"),
        ("B.06.17", "B.06.18"),
        ("B.06.18", "C.00.01"),
        ("12.2.8.400", "12.2.8.410"),
    ],
)
def test_order(lower: str, higher: str) -> None:
    low, high = FirmwareVersion(lower), FirmwareVersion(higher)
    assert low < high and high > low and low != high


@pytest.mark.parametrize(("left", "right"), [("4.2", "4.2.0"), ("V4.2", "4.2"), ("04.02", "4.2")])
def test_equal_spellings(left: str, right: str) -> None:
    assert FirmwareVersion(left) == FirmwareVersion(right)
    assert hash(FirmwareVersion(left)) == hash(FirmwareVersion(right))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("V4.2.1", "4.2.1"),
        ("4.2.1 (build 33)", "4.2.1 build 33"),
        ("PCU 9.33.1 rel", "9.33.1"),
        ("FW 2.4", "2.4"),
        ("", None),
        ("unknown", None),
    ],
)
def test_parse_version(text: str, found: str | None) -> None:
    version = parse_version(text)
    assert (version.normalized_string if version else None) == found


# (text, version, expected) — the brief's and CISA's range spellings.
RANGES = [
    ("<= 4.2.1", "4.2.1", InRange.YES),
    ("<= 4.2.1", "4.2.2", InRange.NO),
    ("< 3.0", "2.9.9", InRange.YES),
    ("< 3.0", "3.0", InRange.NO),
    ("All versions", "99", InRange.YES),
    ("vers:all/*", None, InRange.YES),
    ("vers:intdot/<6.1.0|>=5.0", "5.0", InRange.YES),
    ("vers:intdot/<6.1.0|>=5.0", "6.0.9", InRange.YES),
    ("vers:intdot/<6.1.0|>=5.0", "6.1.0", InRange.NO),
    ("vers:intdot/<6.1.0|>=5.0", "4.9", InRange.NO),
    ("vers:generic/>=1.0|<1.5|>=2.0|<2.2", "2.1", InRange.YES),
    ("vers:generic/>=1.0|<1.5|>=2.0|<2.2", "1.7", InRange.NO),
    ("vers:all/<V2.4", "2.3", InRange.YES),
    ("4.1.0 and prior", "4.1.0", InRange.YES),
    ("4.1.0 and prior", "4.1.1", InRange.NO),
    ("prior to 2.3", "2.3", InRange.NO),
    ("prior to 2.3", "2.2", InRange.YES),
    ("versions 2.1 through 2.5", "2.1", InRange.YES),
    ("versions 2.1 through 2.5", "2.5", InRange.YES),
    ("versions 2.1 through 2.5", "2.6", InRange.NO),
    ("versions 2.1 through 2.5", "2.0", InRange.NO),
    ("2.3.6 and  below", "2.3.5", InRange.YES),
    ("All versions < V3.1 SP2 HF1", "3.1 SP2", InRange.YES),
    ("All versions between V2.0 (including) and V2.5.1 (excluding)", "2.5.1", InRange.NO),
    ("All versions between V2.0 (including) and V2.5.1 (excluding)", "2.0", InRange.YES),
    ("All Versions >= V1.0 and < V1.3", "1.2", InRange.YES),
    (">= 4.01 | <= 4.34", "4.34", InRange.YES),
    ("1.1.7.333 | 2.1.1.3069", "2.1.1.3069", InRange.YES),
    ("1.1.7.333 | 2.1.1.3069", "1.1.7.334", InRange.NO),
    ("V4.4, V4.5, V5.0, and V5.1", "5.0", InRange.YES),
    ("V4.4, V4.5, V5.0, and V5.1", "4.6", InRange.NO),
    ("14.x", "14.9.1", InRange.YES),
    ("14.x", "15.0", InRange.NO),
    ("<= 12.2.x.x", "12.2.99", InRange.YES),
    ("< 3.x", "3.0", InRange.NO),
    ("A10 < A11", "A10", InRange.YES),
    ("<= U61 |<= L81", "U60", InRange.YES),
    ("<= U61 |<= L81", "L82", InRange.NO),
    ("<= U61 |<= L81", "7.0", InRange.UNKNOWN),
    ("<  july 1 2017", "1.0", InRange.UNKNOWN),
    ("Rev B-M", "B", InRange.UNKNOWN),
    ("Accu-Chek Inform II", "1.0", InRange.UNKNOWN),
    ("<= 4.2.1", None, InRange.UNKNOWN),
]


@pytest.mark.parametrize(("text", "version", "expected"), RANGES)
def test_range(text: str, version: str | None, expected: InRange) -> None:
    assert parse_range(text).contains(version) is expected


def test_unparsed_keeps_raw_text_and_never_decides() -> None:
    spec = parse_range("MLFB 6SR32..-…..-…. with option A30")
    assert spec.kind is RangeKind.UNPARSED
    assert spec.raw == "MLFB 6SR32..-…..-…. with option A30"
    assert spec.vers == ()
    for version in ("1.0", "6", "A30", None):
        assert spec.contains(version) is InRange.UNKNOWN


def test_qualifier_is_kept() -> None:
    spec = parse_range("<V2.0_only_if_the_basic_authentication_mechanism_is_used")
    assert spec.kind is RangeKind.RANGE
    assert spec.qualifier == "only if the basic authentication mechanism is used"
    star = parse_range("* (with option G28)")
    assert (star.kind, star.qualifier) == (RangeKind.ALL, "with option G28")


def test_vers_strings() -> None:
    assert parse_range("<= 4.2.1").vers == ("vers:intdot/<=4.2.1",)
    assert parse_range("vers:intdot/<6.1.0|>=5.0").vers == ("vers:intdot/>=5.0|<6.1.0",)
    assert parse_range("< V3.1 SP2").vers == ("vers:generic/<3.1%20sp2",)
    assert parse_range("<= U61 |<= L81").vers == ("vers:generic/<=u61", "vers:generic/<=l81")
    assert parse_range("All versions").vers == ("vers:all/*",)


def test_exclusive_upper_bound_keeps_the_advisory_spelling() -> None:
    assert parse_range("< B.06.18").exclusive_upper_bound() == "B.06.18"
    assert parse_range("<= 4.2").exclusive_upper_bound() is None


def test_invalid_vers_sequence_is_unparsed() -> None:
    assert parse_range("<= 1.0 | <= 2.0").kind is RangeKind.UNPARSED
    assert parse_range("vers:intdot/>=1.0|>=2.0").kind is RangeKind.UNPARSED


def test_from_constraints() -> None:
    spec = from_constraints(
        "from 9.0 before 9.33.1", [Constraint(">=", "9.0"), Constraint("<", "9.33.1")]
    )
    assert spec.contains("9.19") is InRange.YES
    assert from_constraints("nothing", []).kind is RangeKind.ALL
    bad = from_constraints("bad", [Constraint("<", "x y z")])
    assert bad.kind is RangeKind.UNPARSED and bad.raw == "bad"
