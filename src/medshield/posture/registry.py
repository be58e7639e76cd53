"""The posture checks MedShield runs, listed once; and running them."""

from __future__ import annotations

from medshield.core.finding import Finding
from medshield.core.registry import Registry
from medshield.posture.base import Check, PostureContext


def default_checks() -> Registry[Check]:
    """Every posture check, in report order."""
    from medshield.posture import (
        cleartext_credentials,
        cleartext_phi,
        default_credentials,
        flat_network,
        insecure_protocol,
        internet_exposure,
        weak_authentication,
        weak_tls,
    )

    registry: Registry[Check] = Registry("posture check")
    modules = (
        cleartext_phi,
        cleartext_credentials,
        default_credentials,
        weak_authentication,
        insecure_protocol,
        weak_tls,
        internet_exposure,
        flat_network,
    )
    for module in modules:
        registry.register(module.CHECK.name, module.CHECK)
    return registry


def run_checks(context: PostureContext, checks: Registry[Check] | None = None) -> list[Finding]:
    """Findings of every check, worst first."""
    findings: list[Finding] = []
    for check in checks if checks is not None else default_checks():
        findings.extend(check.run(context))
    return sorted(findings, key=lambda f: (f.severity.rank, f.kind.value, f.device, f.detail_key))
