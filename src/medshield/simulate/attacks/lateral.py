"""Lateral movement: the compromised workstation logs into other hosts' admin shares over SMB2.

With a stolen service account (``HOSPITAL\\svc_backup``) the attacker does what PsExec-style
tools do first, on :data:`MIN_HOSTS`–:data:`MAX_HOSTS` internal hosts it has no business with
(other workstations, the HL7 engine, the PACS), one every few seconds:

* ARP for the host (RFC 826), TCP handshake to port 445 (SMB2 over direct TCP, MS-SMB2 §2.1);
* SMB2 NEGOTIATE offering dialects 2.0.2 to 3.1.1 with the 3.1.1 negotiate contexts, answered
  with dialect 3.1.1 (MS-SMB2 §2.2.3, §2.2.4);
* SESSION_SETUP carrying NTLMSSP NEGOTIATE in a SPNEGO token, answered by the CHALLENGE with
  STATUS_MORE_PROCESSING_REQUIRED, then the AUTHENTICATE with an NTLMv2 response, answered
  STATUS_SUCCESS (MS-SMB2 §2.2.5, §2.2.6; MS-NLMP §2.2.1.1–§2.2.1.3; RFC 4178 §4.2). The
  attacker connects by IP address, so Windows cannot use Kerberos and falls back to NTLM;
* TREE_CONNECT to ``\\\\<ip>\\ADMIN$`` and its response (MS-SMB2 §2.2.9, §2.2.10), then the
  attacker closes the connection;

and finally one RDP probe of a workstation among them: TPKT (RFC 1006 §6) with an X.224
Connection Request carrying a ``Cookie: mstshash=`` routing token and an RDP Negotiation
Request, the server's Connection Confirm with an RDP Negotiation Response selecting CredSSP
(MS-RDPBCGR §2.2.1.1, §2.2.1.2), then the attacker's FIN.

Cryptographic values (challenges, NTProofStr, MICs, signatures, session keys) are random bytes
of the right length: nothing on the wire lets a reader tell them from real ones without the
account's secret.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

from medshield.simulate.attacks.base import (
    AttackScenario,
    attack_start,
    compromised_workstation,
    internal_step,
    marked,
)
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, jitter
from medshield.simulate.facts import AttackStep
from medshield.simulate.personas import Role
from medshield.simulate.population import DOMAIN, Hospital, SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import US, Item, Steps

SMB_PORT = 445
RDP_PORT = 3389
MIN_HOSTS, MAX_HOSTS = 3, 5
SPAN_S = (20.0, 38.0)
"""Time from the first SMB session to the RDP probe."""

NETBIOS_DOMAIN = DOMAIN.split(".")[0].upper()
USER = "svc_backup"
SHARE = "ADMIN$"

# --- SMB2 (MS-SMB2) --------------------------------------------------------------------------

NEGOTIATE, SESSION_SETUP, TREE_CONNECT = 0x0000, 0x0001, 0x0003
STATUS_SUCCESS = 0x00000000
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
FLAGS_SERVER_TO_REDIR = 0x00000001
FLAGS_SIGNED = 0x00000008
DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
DIALECT_311 = 0x0311
SIGNING_ENABLED = 0x0001
CLIENT_CAPABILITIES = 0x0000007F
"""DFS, leasing, large MTU, multi-channel, persistent handles, directory leasing, encryption."""
SERVER_CAPABILITIES = 0x00000007
"""DFS, leasing, large MTU."""
MAX_IO = 8 * 1024 * 1024
PREAUTH_INTEGRITY, ENCRYPTION, NETNAME = 0x0001, 0x0002, 0x0005
SHA512 = 0x0001
AES_128_GCM, AES_128_CCM = 0x0002, 0x0001
SHARE_TYPE_DISK = 0x01
SHAREFLAG_NO_CACHING = 0x00000030
FULL_ACCESS = 0x001F01FF
PROCESS_ID = 0xFEFF
"""The value Windows clients put in the sync header's Reserved (process id) field."""

_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")
_NEGOTIATE_REQUEST = struct.Struct("<HHHHI16sIHH")
_NEGOTIATE_RESPONSE = struct.Struct("<HHHH16sIIIIQQHHI")
_SESSION_SETUP_REQUEST = struct.Struct("<HBBIIHHQ")
_SESSION_SETUP_RESPONSE = struct.Struct("<HHHH")
_TREE_CONNECT_REQUEST = struct.Struct("<HHHH")
_TREE_CONNECT_RESPONSE = struct.Struct("<HBBIII")
FILETIME_EPOCH = 116_444_736_000_000_000
"""1970-01-01 in FILETIME units (100 ns since 1601-01-01, MS-DTYP §2.3.3)."""


def filetime(ts_us: int) -> int:
    """A capture timestamp (µs since 1970) as a FILETIME."""
    return FILETIME_EPOCH + ts_us * 10


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _align8(offset: int) -> int:
    return (offset + 7) & ~7


def smb2_message(
    command: int,
    message_id: int,
    body: bytes,
    *,
    response: bool = False,
    status: int = STATUS_SUCCESS,
    session_id: int = 0,
    tree_id: int = 0,
    credits: int = 1,
    signature: bytes | None = None,
) -> bytes:
    """An SMB2 sync header (MS-SMB2 §2.2.1.2) and ``body``, framed for direct TCP (§2.1: a
    zero byte and a 24-bit big-endian length)."""
    flags = FLAGS_SERVER_TO_REDIR if response else 0
    if signature is not None:
        flags |= FLAGS_SIGNED
    charge = 0 if command == NEGOTIATE else 1
    header = _HEADER.pack(
        b"\xfeSMB",
        64,
        charge,
        status,
        command,
        credits,
        flags,
        0,
        message_id,
        PROCESS_ID,
        tree_id,
        session_id,
        signature or bytes(16),
    )
    message = header + body
    return len(message).to_bytes(4, "big") + message


def negotiate_context(kind: int, data: bytes) -> bytes:
    """One SMB2 NEGOTIATE_CONTEXT (MS-SMB2 §2.2.3.1): type, data length, reserved, data."""
    return struct.pack("<HHI", kind, len(data), 0) + data


def _context_list(start: int, contexts: list[bytes]) -> bytes:
    """Contexts laid out from SMB2 header offset ``start``, each 8-byte aligned (§2.2.3)."""
    out = b""
    for context in contexts:
        if out:
            out += bytes(_align8(start + len(out)) - start - len(out))
        out += context
    return out


def negotiate_request(client_guid: bytes, salt: bytes, server_name: str) -> bytes:
    """SMB2 NEGOTIATE request body (MS-SMB2 §2.2.3) offering 2.0.2 to 3.1.1, with the
    preauth-integrity, encryption and net-name contexts Windows 10 sends."""
    dialects = b"".join(struct.pack("<H", d) for d in DIALECTS)
    contexts = [
        negotiate_context(PREAUTH_INTEGRITY, struct.pack("<HHH", 1, len(salt), SHA512) + salt),
        negotiate_context(ENCRYPTION, struct.pack("<HHH", 2, AES_128_GCM, AES_128_CCM)),
        negotiate_context(NETNAME, _utf16(server_name)),
    ]
    end = 64 + _NEGOTIATE_REQUEST.size + len(dialects)
    offset = _align8(end)
    fixed = _NEGOTIATE_REQUEST.pack(
        36,
        len(DIALECTS),
        SIGNING_ENABLED,
        0,
        CLIENT_CAPABILITIES,
        client_guid,
        offset,
        len(contexts),
        0,
    )
    return fixed + dialects + bytes(offset - end) + _context_list(offset, contexts)


def negotiate_response(
    server_guid: bytes, salt: bytes, now_us: int, boot_us: int, security: bytes
) -> bytes:
    """SMB2 NEGOTIATE response body (MS-SMB2 §2.2.4) choosing 3.1.1, SHA-512 and AES-128-GCM,
    with the server's SPNEGO hint token in the security buffer."""
    contexts = [
        negotiate_context(PREAUTH_INTEGRITY, struct.pack("<HHH", 1, len(salt), SHA512) + salt),
        negotiate_context(ENCRYPTION, struct.pack("<HH", 1, AES_128_GCM)),
    ]
    buffer_offset = 64 + _NEGOTIATE_RESPONSE.size
    end = buffer_offset + len(security)
    offset = _align8(end)
    fixed = _NEGOTIATE_RESPONSE.pack(
        65,
        SIGNING_ENABLED,
        DIALECT_311,
        len(contexts),
        server_guid,
        SERVER_CAPABILITIES,
        MAX_IO,
        MAX_IO,
        MAX_IO,
        filetime(now_us),
        filetime(boot_us),
        buffer_offset,
        len(security),
        offset,
    )
    return fixed + security + bytes(offset - end) + _context_list(offset, contexts)


def session_setup_request(security: bytes) -> bytes:
    """SMB2 SESSION_SETUP request body (MS-SMB2 §2.2.5) carrying a GSS-API token."""
    fixed = _SESSION_SETUP_REQUEST.pack(
        25, 0, SIGNING_ENABLED, 1, 0, 64 + _SESSION_SETUP_REQUEST.size, len(security), 0
    )
    return fixed + security


def session_setup_response(security: bytes) -> bytes:
    """SMB2 SESSION_SETUP response body (MS-SMB2 §2.2.6): no session flags, a GSS-API token."""
    fixed = _SESSION_SETUP_RESPONSE.pack(9, 0, 64 + _SESSION_SETUP_RESPONSE.size, len(security))
    return fixed + security


def tree_connect_request(path: str) -> bytes:
    """SMB2 TREE_CONNECT request body (MS-SMB2 §2.2.9) for a UNC path (UTF-16LE)."""
    encoded = _utf16(path)
    return _TREE_CONNECT_REQUEST.pack(9, 0, 64 + _TREE_CONNECT_REQUEST.size, len(encoded)) + encoded


def tree_connect_response() -> bytes:
    """SMB2 TREE_CONNECT response body (MS-SMB2 §2.2.10) for an administrative disk share."""
    return _TREE_CONNECT_RESPONSE.pack(16, SHARE_TYPE_DISK, 0, SHAREFLAG_NO_CACHING, 0, FULL_ACCESS)


# --- SPNEGO (RFC 4178) and DER (X.690) -------------------------------------------------------


def der(tag: int, content: bytes) -> bytes:
    """A DER TLV (X.690 §8.1): definite length, short form below 128 bytes."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def oid(dotted: str) -> bytes:
    """A DER OBJECT IDENTIFIER (X.690 §8.19)."""
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray((40 * arcs[0] + arcs[1],))
    for arc in arcs[2:]:
        # Base 128, most significant group first, bit 8 set on all but the last (§8.19.2).
        groups = [arc >> shift & 0x7F for shift in range(7 * (arc.bit_length() // 7), -1, -7)]
        body += bytes([0x80 | g for g in groups[:-1]] + groups[-1:])
    return der(0x06, bytes(body))


SPNEGO = oid("1.3.6.1.5.5.2")
NTLMSSP_MECH = oid("1.3.6.1.4.1.311.2.2.10")
MS_KERBEROS = oid("1.2.840.48018.1.2.2")
KERBEROS = oid("1.2.840.113554.1.2.2")
ACCEPT_COMPLETED, ACCEPT_INCOMPLETE = 0, 1


def neg_token_init(mechs: list[bytes], token: bytes | None = None) -> bytes:
    """GSS-API InitialContextToken (RFC 2743 §3.1) holding a SPNEGO NegTokenInit
    (RFC 4178 §4.2.1): the mechanism list and, optionally, the first mechanism token."""
    fields = der(0xA0, der(0x30, b"".join(mechs)))
    if token is not None:
        fields += der(0xA2, der(0x04, token))
    return der(0x60, SPNEGO + der(0xA0, der(0x30, fields)))


def neg_token_resp(
    *,
    state: int | None = None,
    mech: bytes | None = None,
    token: bytes | None = None,
    mic: bytes | None = None,
) -> bytes:
    """A SPNEGO NegTokenResp (RFC 4178 §4.2.2) with the fields given."""
    fields = b""
    if state is not None:
        fields += der(0xA0, der(0x0A, bytes((state,))))
    if mech is not None:
        fields += der(0xA1, mech)
    if token is not None:
        fields += der(0xA2, der(0x04, token))
    if mic is not None:
        fields += der(0xA3, der(0x04, mic))
    return der(0xA1, der(0x30, fields))


# --- NTLMSSP (MS-NLMP) -----------------------------------------------------------------------

NTLMSSP_SIGNATURE = b"NTLMSSP\x00"
NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_OEM = 0x00000002
REQUEST_TARGET = 0x00000004
NEGOTIATE_SIGN = 0x00000010
NEGOTIATE_LM_KEY = 0x00000080
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
NEGOTIATE_56 = 0x80000000
_COMMON_FLAGS = (
    NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | EXTENDED_SESSIONSECURITY
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56
)
CLIENT_NEGOTIATE_FLAGS = _COMMON_FLAGS | NEGOTIATE_OEM | NEGOTIATE_LM_KEY
"""0xE2088297, what Windows 10 sends."""
CHALLENGE_FLAGS = _COMMON_FLAGS | TARGET_TYPE_DOMAIN | NEGOTIATE_TARGET_INFO
AUTHENTICATE_FLAGS = _COMMON_FLAGS | NEGOTIATE_TARGET_INFO

AV_EOL, AV_NB_COMPUTER, AV_NB_DOMAIN, AV_DNS_COMPUTER, AV_DNS_DOMAIN, AV_DNS_TREE = range(6)
AV_FLAGS, AV_TIMESTAMP, AV_SINGLE_HOST, AV_TARGET_NAME, AV_CHANNEL_BINDINGS = 6, 7, 8, 9, 10
AV_FLAG_MIC_PRESENT = 0x00000002


def ntlm_version(device: SimDevice) -> bytes:
    """The VERSION structure (MS-NLMP §2.2.2.10): Windows 10 22H2 on Windows desktops, Windows
    Server 2019 on Windows servers, what Samba reports (6.1) elsewhere; NTLM revision 15."""
    stack = device.product.stack.name
    major, minor, build = {"windows": (10, 0, 19045), "windows-server": (10, 0, 17763)}.get(
        stack, (6, 1, 0)
    )
    return struct.pack("<BBH3xB", major, minor, build, 15)


def _payload_fields(offset: int, data: bytes) -> bytes:
    """Length, maximum length and offset of one payload field (MS-NLMP §2.2.1)."""
    return struct.pack("<HHI", len(data), len(data), offset)


def av_pair(av_id: int, value: bytes) -> bytes:
    """One AV_PAIR (MS-NLMP §2.2.2.1)."""
    return struct.pack("<HH", av_id, len(value)) + value


def message_signature(rng: random.Random, sequence: int = 0) -> bytes:
    """NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP §2.2.2.9.1): version
    1, an 8-byte HMAC checksum, the sequence number. SPNEGO's mechListMIC (RFC 4178 §5) is the
    first message each side signs, so its sequence number is 0."""
    return struct.pack("<I8sI", 1, rng.randbytes(8), sequence)


def ntlm_negotiate(client: SimDevice) -> bytes:
    """NTLMSSP NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1), no domain or workstation supplied."""
    empty = _payload_fields(0, b"")
    return (
        NTLMSSP_SIGNATURE
        + struct.pack("<II", 1, CLIENT_NEGOTIATE_FLAGS)
        + empty
        + empty
        + ntlm_version(client)
    )


def server_target_info(server: SimDevice, now_us: int) -> bytes:
    """The server's AV pairs: NetBIOS and DNS names of domain and host, its clock (§2.2.2.1)."""
    return b"".join(
        (
            av_pair(AV_NB_DOMAIN, _utf16(NETBIOS_DOMAIN)),
            av_pair(AV_NB_COMPUTER, _utf16(server.hostname.upper())),
            av_pair(AV_DNS_DOMAIN, _utf16(DOMAIN)),
            av_pair(AV_DNS_COMPUTER, _utf16(server.fqdn)),
            av_pair(AV_DNS_TREE, _utf16(DOMAIN)),
            av_pair(AV_TIMESTAMP, struct.pack("<Q", filetime(now_us))),
            av_pair(AV_EOL, b""),
        )
    )


def ntlm_challenge(server: SimDevice, challenge: bytes, target_info: bytes) -> bytes:
    """NTLMSSP CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2) naming the domain as target."""
    target_name = _utf16(NETBIOS_DOMAIN)
    header_len = 56
    return (
        NTLMSSP_SIGNATURE
        + struct.pack("<I", 2)
        + _payload_fields(header_len, target_name)
        + struct.pack("<I8s8x", CHALLENGE_FLAGS, challenge)
        + _payload_fields(header_len + len(target_name), target_info)
        + ntlm_version(server)
        + target_name
        + target_info
    )


def ntlmv2_response(
    rng: random.Random, server_info: bytes, server_ip: str, timestamp: bytes
) -> bytes:
    """NTLMv2_RESPONSE (MS-NLMP §2.2.2.8): NTProofStr and the client challenge structure
    (§2.2.2.7) whose AV pairs repeat the server's and add MsvAvFlags (MIC present),
    MsvAvSingleHost, empty channel bindings and the SPN the client aimed at."""
    own_pairs = b"".join(
        (
            av_pair(AV_FLAGS, struct.pack("<I", AV_FLAG_MIC_PRESENT)),
            av_pair(
                AV_SINGLE_HOST, struct.pack("<II8s32s", 48, 0, rng.randbytes(8), rng.randbytes(32))
            ),
            av_pair(AV_CHANNEL_BINDINGS, bytes(16)),
            av_pair(AV_TARGET_NAME, _utf16(f"cifs/{server_ip}")),
            av_pair(AV_EOL, b""),
        )
    )
    server_pairs = server_info[: -len(av_pair(AV_EOL, b""))]
    blob = (
        struct.pack("<BBHI8s8sI", 1, 1, 0, 0, timestamp, rng.randbytes(8), 0)
        + server_pairs
        + own_pairs
        + bytes(4)
    )
    return rng.randbytes(16) + blob


def ntlm_authenticate(
    rng: random.Random, client: SimDevice, nt_response: bytes, user: str
) -> bytes:
    """NTLMSSP AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3): Z(24) LM response (the server sent a
    timestamp, §3.1.5.1.2), the NTLMv2 response, domain, user and workstation in UTF-16LE, an
    encrypted session key and the MIC."""
    domain, name = _utf16(NETBIOS_DOMAIN), _utf16(user)
    workstation = _utf16(client.hostname.upper())
    values = {
        "lm": bytes(24),
        "nt": nt_response,
        "domain": domain,
        "user": name,
        "workstation": workstation,
        "key": rng.randbytes(16),
    }
    # The header lists the fields LM, NT, domain, user, workstation, key (§2.2.1.3); Windows
    # lays their payload out in the order below, after the 88-byte header.
    offsets, at = {}, 88
    for key in ("domain", "user", "workstation", "lm", "nt", "key"):
        offsets[key] = at
        at += len(values[key])
    fields = b"".join(_payload_fields(offsets[key], value) for key, value in values.items())
    payload = b"".join(values[key] for key in sorted(values, key=offsets.__getitem__))
    return (
        NTLMSSP_SIGNATURE
        + struct.pack("<I", 3)
        + fields
        + struct.pack("<I", AUTHENTICATE_FLAGS)
        + ntlm_version(client)
        + rng.randbytes(16)
        + payload
    )


# --- RDP connection sequence (MS-RDPBCGR §2.2.1.1, §2.2.1.2) ----------------------------------

X224_CONNECTION_REQUEST, X224_CONNECTION_CONFIRM = 0xE0, 0xD0
TYPE_RDP_NEG_REQ, TYPE_RDP_NEG_RSP = 0x01, 0x02
PROTOCOL_SSL, PROTOCOL_HYBRID = 0x00000001, 0x00000002
NEG_RSP_FLAGS = 0x0F
"""Extended client data, graphics pipeline, reserved, restricted admin mode supported."""


def tpkt(payload: bytes) -> bytes:
    """A TPKT packet (RFC 1006 §6): version 3, reserved, 16-bit length of the whole packet."""
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def x224_connection_request(cookie: str, requested: int) -> bytes:
    """Client X.224 Connection Request PDU (MS-RDPBCGR §2.2.1.1): routing cookie and an
    RDP_NEG_REQ (§2.2.1.1.1)."""
    variable = f"Cookie: mstshash={cookie}\r\n".encode() + struct.pack(
        "<BBHI", TYPE_RDP_NEG_REQ, 0, 8, requested
    )
    header = struct.pack("!BBHHB", 6 + len(variable), X224_CONNECTION_REQUEST, 0, 0, 0)
    return tpkt(header + variable)


def x224_connection_confirm(source_ref: int, selected: int) -> bytes:
    """Server X.224 Connection Confirm PDU (MS-RDPBCGR §2.2.1.2) with an RDP_NEG_RSP
    (§2.2.1.2.1)."""
    negotiation = struct.pack("<BBHI", TYPE_RDP_NEG_RSP, NEG_RSP_FLAGS, 8, selected)
    header = struct.pack("!BBHHB", 6 + len(negotiation), X224_CONNECTION_CONFIRM, 0, source_ref, 0)
    return tpkt(header + negotiation)


# --- the scenario ----------------------------------------------------------------------------


WORKSTATION_ROLES = (Role.CLINICAL_WORKSTATION, Role.BIOMED_WORKSTATION)
"""Windows desktops: they serve SMB and RDP."""


def candidates(hospital: Hospital, attacker: SimDevice) -> list[SimDevice]:
    """Hosts worth moving to: the other workstations, the HL7 engine, the PACS."""
    workstations = [d for role in WORKSTATION_ROLES for d in hospital.of(role)]
    servers = (hospital.optional(Role.HL7_ENGINE), hospital.optional(Role.PACS))
    pool = [d for d in workstations if d is not attacker]
    return pool + [d for d in servers if d is not None]


def conversations(ctx: Context) -> list[Iterator[Item]]:
    """One lateral-movement run (none when the attacker has nowhere to go)."""
    attacker = compromised_workstation(ctx.hospital)
    if not candidates(ctx.hospital, attacker):
        return []
    return [_move(ctx, attacker)]


def _move(ctx: Context, attacker: SimDevice) -> Iterator[Item]:
    rng = ctx.rng("attack", SCENARIO.name)
    pool = candidates(ctx.hospital, attacker)
    hosts = rng.sample(pool, min(rng.randint(MIN_HOSTS, MAX_HOSTS), len(pool)))
    ports = EphemeralPorts(rng)
    client_guid = rng.randbytes(16)  # one per machine: the same in every NEGOTIATE
    gap_s = rng.uniform(*SPAN_S) / len(hosts)
    t = attack_start(ctx, attacker, offset_s=15.0)
    for host in hosts:
        step = internal_step(SCENARIO, attacker, host.nic)
        for item in arp_resolve(t, attacker.nic, host.nic, lag_us=rng.randrange(150, 600)):
            yield item[0], item[1], (step,)
        session = _SmbSession(rng, attacker, host, ports.take(), client_guid)
        yield from session.run(t + rng.randrange(1_000, 3_000))
        t += jitter(rng, gap_s, 0.2)
    workstations = [h for h in hosts if h.role in WORKSTATION_ROLES]
    yield from _rdp_probe(rng, attacker, (workstations or hosts)[0], ports.take(), t)


def _connection(
    rng: random.Random, client: SimDevice, server: SimDevice, port: int, dport: int
) -> TcpConnection:
    return TcpConnection(
        client.nic,
        server.nic,
        port,
        dport,
        rng,
        client_window=client.product.stack.window,
        server_window=server.product.stack.window,
        lag_us=rng.randrange(200, 500),
    )


class _SmbSession:
    """One SMB2 logon to ``ADMIN$`` on ``server`` with the stolen account."""

    def __init__(
        self,
        rng: random.Random,
        client: SimDevice,
        server: SimDevice,
        port: int,
        client_guid: bytes,
    ) -> None:
        self.rng = rng
        self.client_guid = client_guid
        self.client = client
        self.server = server
        self.conn = _connection(rng, client, server, port, SMB_PORT)
        self.step = internal_step(SCENARIO, client, server.nic, SMB_PORT)
        self.session_id = rng.getrandbits(44) << 4 | 0x1
        self.tree_id = rng.randrange(1, 16)

    def run(self, t: int) -> Steps:
        """Handshake, NEGOTIATE, two SESSION_SETUP rounds, TREE_CONNECT, close."""
        rng, conn, step = self.rng, self.conn, self.step
        t = yield from marked(conn.open(t), step)
        for request, respond in (
            (self._negotiate, self._negotiated),
            (self._ntlm_negotiate, self._ntlm_challenge),
            (self._ntlm_authenticate, self._logged_on),
            (self._tree_connect, self._tree_connected),
        ):
            t = yield from marked(
                conn.send(conn.client, t + rng.randrange(300, 2_000), request()), step
            )
            reply = respond(t)
            t = yield from marked(
                conn.send(conn.server, t + rng.randrange(300, 3_000), reply), step
            )
        return (yield from marked(conn.close(conn.client, t + rng.randrange(5_000, 60_000)), step))

    # Requests and replies, in order; each method builds one direct-TCP SMB2 message.

    def _negotiate(self) -> bytes:
        body = negotiate_request(self.client_guid, self.rng.randbytes(32), self.server.ip_text)
        return smb2_message(NEGOTIATE, 0, body)

    def _negotiated(self, now_us: int) -> bytes:
        rng = self.rng
        hints = neg_token_init([MS_KERBEROS, KERBEROS, NTLMSSP_MECH])
        boot = now_us - rng.randrange(3_600, 40 * 86_400) * US
        body = negotiate_response(rng.randbytes(16), rng.randbytes(32), now_us, boot, hints)
        return smb2_message(NEGOTIATE, 0, body, response=True)

    def _ntlm_negotiate(self) -> bytes:
        token = neg_token_init([NTLMSSP_MECH], ntlm_negotiate(self.client))
        return smb2_message(SESSION_SETUP, 1, session_setup_request(token), credits=33)

    def _ntlm_challenge(self, now_us: int) -> bytes:
        self.target_info = server_target_info(self.server, now_us)
        challenge = ntlm_challenge(self.server, self.rng.randbytes(8), self.target_info)
        token = neg_token_resp(state=ACCEPT_INCOMPLETE, mech=NTLMSSP_MECH, token=challenge)
        return smb2_message(
            SESSION_SETUP,
            1,
            session_setup_response(token),
            response=True,
            status=STATUS_MORE_PROCESSING_REQUIRED,
            session_id=self.session_id,
        )

    def _ntlm_authenticate(self) -> bytes:
        rng = self.rng
        timestamp = self.target_info[-12:-4]  # MsvAvTimestamp, just before MsvAvEOL
        nt = ntlmv2_response(rng, self.target_info, self.server.ip_text, timestamp)
        token = neg_token_resp(
            token=ntlm_authenticate(rng, self.client, nt, USER), mic=message_signature(rng)
        )
        return smb2_message(
            SESSION_SETUP, 2, session_setup_request(token), session_id=self.session_id, credits=33
        )

    def _logged_on(self, now_us: int) -> bytes:
        token = neg_token_resp(state=ACCEPT_COMPLETED, mic=message_signature(self.rng))
        return smb2_message(
            SESSION_SETUP,
            2,
            session_setup_response(token),
            response=True,
            session_id=self.session_id,
            credits=33,
            signature=self.rng.randbytes(16),
        )

    def _tree_connect(self) -> bytes:
        body = tree_connect_request(f"\\\\{self.server.ip_text}\\{SHARE}")
        return smb2_message(
            TREE_CONNECT,
            3,
            body,
            session_id=self.session_id,
            credits=33,
            signature=self.rng.randbytes(16),
        )

    def _tree_connected(self, now_us: int) -> bytes:
        return smb2_message(
            TREE_CONNECT,
            3,
            tree_connect_response(),
            response=True,
            session_id=self.session_id,
            tree_id=self.tree_id,
            credits=33,
            signature=self.rng.randbytes(16),
        )


def _rdp_probe(
    rng: random.Random, client: SimDevice, server: SimDevice, port: int, t: int
) -> Iterator[Item]:
    """X.224 Connection Request and Confirm on port 3389, then the client's FIN."""
    conn = _connection(rng, client, server, port, RDP_PORT)
    step: AttackStep = internal_step(SCENARIO, client, server.nic, RDP_PORT)
    t = yield from marked(conn.open(t), step)
    request = x224_connection_request(USER, PROTOCOL_SSL | PROTOCOL_HYBRID)
    t = yield from marked(conn.send(conn.client, t + rng.randrange(300, 2_000), request), step)
    confirm = x224_connection_confirm(rng.randrange(1, 0x10000), PROTOCOL_HYBRID)
    t = yield from marked(conn.send(conn.server, t + rng.randrange(300, 3_000), confirm), step)
    yield from marked(conn.close(conn.client, t + rng.randrange(2_000, 20_000)), step)


SCENARIO = AttackScenario(
    name="lateral",
    kind="lateral-movement",
    conversations=conversations,
    summary="SMB2 NTLM logons to ADMIN$ on other hosts and an RDP probe from a workstation",
)
