"""CPE 2.3 names (NISTIR 7695) and matching (NISTIR 7696)."""

from __future__ import annotations

from medshield.vulns.cpe import parse_cpe


def test_formatted_string_with_escapes() -> None:
    cpe = parse_cpe(r"cpe:2.3:a:example:pump\:manager:1.0:*:*:*:*:*:*:*")
    assert cpe is not None
    assert (cpe.part, cpe.vendor, cpe.product, cpe.version) == (
        "a",
        "example",
        "pump:manager",
        "1.0",
    )
    assert str(cpe) == r"cpe:2.3:a:example:pump\:manager:1.0:*:*:*:*:*:*:*"


def test_uri_binding() -> None:
    cpe = parse_cpe("cpe:/o:bd:alaris_pc_unit_firmware:9.33")
    assert cpe is not None and (cpe.vendor, cpe.version, cpe.update) == ("bd", "9.33", "*")


def test_not_a_cpe() -> None:
    assert parse_cpe("cpe:2.3:a:too:few") is None
    assert parse_cpe("pkg:pypi/x@1") is None
    assert parse_cpe("cpe:2.3:x:a:b:*:*:*:*:*:*:*:*") is None


def test_matching() -> None:
    source = parse_cpe("cpe:2.3:o:bd:alaris*:*:*:*:*:*:*:*:*")
    target = parse_cpe("cpe:2.3:o:BD:alaris_pc_unit_firmware:9.19:*:*:*:*:*:*:*")
    other = parse_cpe("cpe:2.3:o:philips:alaris:9.19:*:*:*:*:*:*:*")
    not_applicable = parse_cpe("cpe:2.3:h:bd:alaris_8015:-:*:*:*:*:*:*:*")
    assert source and target and other and not_applicable
    assert source.matches(target)
    assert not source.matches(other)
    assert not target.matches(source)
    exact_na = parse_cpe("cpe:2.3:h:bd:alaris_8015:-:*:*:*:*:*:*:*")
    assert exact_na and exact_na.matches(not_applicable)
    assert not exact_na.matches(parse_cpe("cpe:2.3:h:bd:alaris_8015:1:*:*:*:*:*:*:*") or exact_na)
