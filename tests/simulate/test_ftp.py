"""FTP login to the lab analyser (simulate/ftp.py)."""

from __future__ import annotations

from medshield.core.enums import FindingKind
from medshield.simulate import ftp
from medshield.simulate.facts import Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode, facts_of


def test_login_dialogue_in_rfc959_order(simulation: Simulation) -> None:
    hospital = simulation.hospital
    biomed, lab = hospital.one(Role.BIOMED_WORKSTATION), hospital.one(Role.LAB_ANALYSER)
    assert lab.product.login is not None
    user, password = lab.product.login
    items = list(ftp.login_session(simulation.context, biomed, lab))
    lines = []
    for item in items:
        eth = decode(item)
        if eth.type == 0x0800 and eth.data.data.data:
            lines.append(bytes(eth.data.data.data).decode())
    assert lines[0].startswith("220 ")
    commands = [line.split()[0] for line in lines if line[:1].isalpha()]
    assert commands[:5] == ["USER", "PASS", "SYST", "PWD", "QUIT"]
    assert f"USER {user}\r\n" in lines and f"PASS {password}\r\n" in lines
    assert lines[lines.index(f"PASS {password}\r\n") + 1].startswith("230 ")
    risks = {(f.kind, f.device) for f in facts_of(items) if isinstance(f, Risk)}
    assert risks == {
        (FindingKind.INSECURE_PROTOCOL, lab.id),
        (FindingKind.CLEARTEXT_CREDENTIALS, lab.id),
    }
