"""Device category and clinical criticality from rules kept as data (YAML).

A rule names a category, a confidence and conditions over a device's *facts*: its attributes
(vendor, model, hostname, DHCP vendor class, DICOM modality, HL7 message types …) and its
roles (application protocols it serves and uses). All conditions of a rule must hold; the
matching rule with the highest confidence decides, and the device keeps the rule id and the
facts that matched as evidence. A hospital adds rules by passing its own YAML file; its
rules are read after the shipped ones and win ties.

Criticality follows the category (a table in the same data), as the medical-device CVSS
rubric (MITRE, 2020) adjusts impact by clinical function: what harm follows when the device
stops or lies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from medshield.core.device import Device, Evidence
from medshield.core.enums import Criticality, DeviceCategory
from medshield.core.errors import BadInputError

ROLE_KEYS = ("serves", "uses")

IDENTITY_ATTRIBUTES = (
    "model",
    "hostname",
    "dhcp_vendor_class",
    "mqtt_client_id",
    "ssdp_server",
    "mdns_service",
    "http_title",
    "station_name",
)
"""Attributes whose values may name the product; the ``identity`` fact joins them."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One fact test: a regex on attribute values, or required role protocols."""

    fact: str
    pattern: re.Pattern[str] | None = None
    protocols: frozenset[str] = frozenset()
    negate: bool = False

    def holds(self, facts: Facts) -> str | None:
        """The matching value (as evidence text) when the condition holds, else None."""
        result = self._test(facts)
        if self.negate:
            return None if result is not None else f"no {self.fact}"
        return result

    def _test(self, facts: Facts) -> str | None:
        if self.fact in ROLE_KEYS:
            have = facts.roles.get(self.fact, set())
            hit = sorted(have & self.protocols)
            return f"{self.fact} {', '.join(hit)}" if hit else None
        if self.fact == "gateway":
            return "forwards traffic for other hosts" if facts.gateway else None
        for value in facts.attributes.get(self.fact, ()):
            if self.pattern is not None and self.pattern.search(value):
                return f"{self.fact} {value!r}"
        return None


@dataclass(frozen=True, slots=True)
class Rule:
    """Conditions that, all holding, make a device of ``category``."""

    id: str
    category: DeviceCategory
    confidence: float
    conditions: tuple[Condition, ...]

    def match(self, facts: Facts) -> list[str] | None:
        """Evidence strings of every condition, or None when one fails."""
        reasons: list[str] = []
        for condition in self.conditions:
            reason = condition.holds(facts)
            if reason is None:
                return None
            reasons.append(reason)
        return reasons


@dataclass(slots=True)
class Facts:
    """What classification rules can test about a device."""

    attributes: dict[str, list[str]] = field(default_factory=dict)
    roles: dict[str, set[str]] = field(default_factory=dict)
    gateway: bool = False

    @classmethod
    def of(cls, device: Device, roles: Mapping[str, set[str]], gateway: bool) -> Facts:
        """Facts of ``device`` given its roles (``serves``/``uses`` → protocols).

        ``maker`` joins the IEEE registry vendor and the manufacturer the device states
        (DICOM, HL7 SFT, Modbus): either may name who made it.
        """
        attributes = {name: device.values(name) for name in device.attributes}
        attributes["maker"] = device.values("manufacturer") + device.values("vendor")
        attributes["identity"] = [v for name in IDENTITY_ATTRIBUTES for v in device.values(name)]
        return cls(attributes, dict(roles), gateway)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Classification rules and the category → criticality table."""

    rules: tuple[Rule, ...]
    criticality: Mapping[DeviceCategory, Criticality]

    def classify(self, device: Device, facts: Facts) -> None:
        """Set the device's category, confidence, criticality and their evidence."""
        best: tuple[float, int, Rule, list[str]] | None = None
        for order, rule in enumerate(self.rules):
            reasons = rule.match(facts)
            if reasons is None:
                continue
            if best is None or (rule.confidence, order) >= (best[0], best[1]):
                best = (rule.confidence, order, rule, reasons)
        if best is None:
            device.category, device.category_confidence = DeviceCategory.UNKNOWN, 0.0
        else:
            _, _, rule, reasons = best
            device.category, device.category_confidence = rule.category, rule.confidence
            detail = f"rule {rule.id}: " + "; ".join(reasons)
            evidence = Evidence("classification", device.first_seen, detail)
            device.add_attribute("category", rule.category.value, rule.confidence, evidence)
        device.criticality = self.criticality.get(device.category, Criticality.LOW)
        evidence = Evidence(
            "classification", device.first_seen, f"criticality of category {device.category}"
        )
        device.add_attribute("criticality", device.criticality.value, 0.9, evidence)


def load_rules(extra: Iterable[Path] = ()) -> RuleSet:
    """The shipped rules plus a hospital's own rule files."""
    shipped = resources.files("medshield.inventory.rules").joinpath("classification.yaml")
    documents = [("classification.yaml", shipped.read_text(encoding="utf-8"))]
    for path in extra:
        try:
            documents.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as error:
            raise BadInputError(str(path), error.strerror or str(error)) from None
    rules: list[Rule] = []
    criticality: dict[DeviceCategory, Criticality] = {}
    for source, text in documents:
        data = _parse(source, text)
        rules.extend(_rule(source, item) for item in data.get("rules", []))
        for category, level in (data.get("criticality") or {}).items():
            criticality[_category(source, category)] = _criticality(source, level)
    return RuleSet(tuple(rules), criticality)


def _parse(source: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BadInputError(source, f"not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise BadInputError(source, "expected a mapping with 'rules' and 'criticality'")
    return data


def _rule(source: str, item: Any) -> Rule:
    if not isinstance(item, dict) or not {"id", "category", "when"} <= item.keys():
        raise BadInputError(source, f"rule needs id, category and when: {item!r}")
    conditions = tuple(_condition(source, fact, test) for fact, test in item["when"].items())
    return Rule(
        str(item["id"]),
        _category(source, item["category"]),
        float(item.get("confidence", 0.5)),
        conditions,
    )


def _condition(source: str, fact: str, test: Any) -> Condition:
    negate = fact.startswith("not ")
    fact = fact.removeprefix("not ")
    if fact in ROLE_KEYS:
        names = [test] if isinstance(test, str) else list(test)
        return Condition(fact, protocols=frozenset(names), negate=negate)
    if fact == "gateway":
        return Condition(fact, negate=negate or not test)
    try:
        return Condition(fact, pattern=re.compile(str(test), re.IGNORECASE), negate=negate)
    except re.error as error:
        raise BadInputError(source, f"bad pattern for {fact}: {error}") from None


def _category(source: str, value: Any) -> DeviceCategory:
    try:
        return DeviceCategory(value)
    except ValueError:
        raise BadInputError(source, f"unknown category {value!r}") from None


def _criticality(source: str, value: Any) -> Criticality:
    try:
        return Criticality(value)
    except ValueError:
        raise BadInputError(source, f"unknown criticality {value!r}") from None
