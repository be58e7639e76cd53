"""Telnet login with the pump module's default credentials (simulate/telnet.py)."""

from __future__ import annotations

from medshield.core.enums import FindingKind
from medshield.simulate import telnet
from medshield.simulate.facts import Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode, facts_of


def session(simulation: Simulation) -> tuple[list[object], list[tuple[int, bytes]]]:
    hospital = simulation.hospital
    biomed, pump = hospital.one(Role.BIOMED_WORKSTATION), hospital.one(Role.INFUSION_PUMP)
    items = list(telnet.login_session(simulation.context, biomed, pump))
    data = []
    for item in items:
        eth = decode(item)
        if eth.type == 0x0800 and eth.data.data.data:
            data.append((eth.data.data.dport, bytes(eth.data.data.data)))
    return items, data


def test_server_opens_option_negotiation(simulation: Simulation) -> None:
    _, data = session(simulation)
    server_first = data[0]
    assert server_first[0] != telnet.TELNET_PORT
    assert server_first[1] == telnet.SERVER_OPENING
    assert bytes((telnet.IAC, telnet.WILL, telnet.ECHO)) in server_first[1]
    assert data[1] == (telnet.TELNET_PORT, telnet.CLIENT_ANSWER)


def test_keystrokes_one_per_segment_user_echoed_password_not(simulation: Simulation) -> None:
    pump = simulation.hospital.one(Role.INFUSION_PUMP)
    assert pump.product.login is not None
    user, password = pump.product.login
    _, data = session(simulation)
    typed = [payload for port, payload in data if port == telnet.TELNET_PORT]
    start = typed.index(user[0].encode())
    assert typed[start : start + len(user) + 1] == [c.encode() for c in user] + [b"\r\n"]
    after_user = typed[start + len(user) + 1 :]
    assert after_user[: len(password) + 1] == [c.encode() for c in password] + [b"\r\n"]
    prompt = next(i for i, (_, payload) in enumerate(data) if payload.endswith(b"Password: "))
    while_typing = data[prompt + 1 : prompt + 2 + len(password)]
    assert all(port == telnet.TELNET_PORT for port, _ in while_typing)  # nothing echoed
    assert data[prompt + 2 + len(password)][1].endswith(b"#> ")


def test_risks_fall_on_the_pump(simulation: Simulation) -> None:
    items, _ = session(simulation)
    pump = simulation.hospital.one(Role.INFUSION_PUMP)
    risks = {(f.kind, f.device) for f in facts_of(items) if isinstance(f, Risk)}
    assert risks == {
        (FindingKind.INSECURE_PROTOCOL, pump.id),
        (FindingKind.CLEARTEXT_CREDENTIALS, pump.id),
        (FindingKind.DEFAULT_CREDENTIALS, pump.id),
    }
