"""HTTP/1.x requests and responses (RFC 9112, semantics from RFC 9110).

A device's web interface names its vendor and firmware in ``Server``, ``WWW-Authenticate``
realms and page titles; its clients name themselves in ``User-Agent``. Basic credentials
(RFC 7617) are a finding: the user name is kept, the password only as a
:class:`~medshield.protocols.credentials.RedactedSecret`. The query string of a target is
dropped, since it may carry patient identifiers; only the path is kept.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.credentials import RedactedSecret
from medshield.protocols.support import client_context, server_context

PORTS = frozenset({80, 8000, 8008, 8080, 8081, 8888})

METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
    | {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH"}
)
"""RFC 9110 §9.3 methods, RFC 5789 PATCH and the WebDAV methods (RFC 4918 §9)."""

MAX_FIELDS = 128
"""Header fields read per message; more than this is not a real client or server."""
MAX_TEXT = 512
"""Characters kept of any field value or path."""
MAX_BODY_SCAN = 64 * 1024
"""Decompressed body bytes searched for a ``<title>``."""

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_FIELD_NAME = re.compile(_TOKEN)
_REQUEST_LINE = re.compile(rf"({_TOKEN}) (\S+) (HTTP/\d\.\d)\Z")
"""RFC 9112 §3: method SP request-target SP HTTP-version."""
_STATUS_LINE = re.compile(r"(HTTP/\d\.\d) (\d{3})(?: (.*))?\Z")
"""RFC 9112 §4: HTTP-version SP status-code SP [reason-phrase]."""
_PROBE = re.compile(rb"(%s) [^\s]+ HTTP/1\.[01]\r?\n" % b"|".join(m.encode() for m in METHODS))
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_BREAK = re.compile(r"\r?\n")
_CHALLENGE = re.compile(rf"(?:^|,)\s*({_TOKEN})(?=\s+[^\s=,]|\s*(?:,|\Z))")
"""An auth-scheme opening a challenge (RFC 9110 §11.2), not an auth-param name."""
_REALM = re.compile(r"""realm\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))""", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(slots=True)
class HttpHead:
    """A start line and its header fields (RFC 9112 §2.1); names are lower-cased."""

    start_line: str
    fields: tuple[tuple[str, str], ...]
    complete: bool
    """False when the prefix ended before the empty line closing the fields."""

    def field(self, name: str) -> str | None:
        """The first value of field ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.fields if key == wanted), None)

    def values(self, name: str) -> list[str]:
        """Every value of field ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.fields if key == wanted]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest(Observation):
    """One request (RFC 9112 §3) as far as its head was seen."""

    kind: ClassVar[str] = "http.request"

    method: str
    path: str
    """The request target without query or fragment (RFC 9112 §3.2); ``*`` or
    ``host:port`` for the asterisk and authority forms."""
    has_query: bool = False
    version: str = "HTTP/1.1"
    host: str | None = None
    user_agent: str | None = None
    content_type: str | None = None
    authorization_scheme: str | None = None
    """Scheme of the ``Authorization`` field (RFC 9110 §11.6.2): Basic, Digest, Bearer …"""
    basic_user: str | None = None
    """User-id of Basic credentials (RFC 7617 §2)."""
    basic_password: RedactedSecret | None = None
    """Password of Basic credentials, redacted."""
    headers_complete: bool = True

    @property
    def has_authorization(self) -> bool:
        """True when the request carried an ``Authorization`` field."""
        return self.authorization_scheme is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResponse(Observation):
    """One response (RFC 9112 §4) and, when visible, the title of its HTML body."""

    kind: ClassVar[str] = "http.response"

    status: int
    reason: str = ""
    version: str = "HTTP/1.1"
    server_header: str | None = None
    """The ``Server`` field (RFC 9110 §10.2.4): product tokens of the server software."""
    powered_by: str | None = None
    """``X-Powered-By``: not standard, but often names the server-side runtime version."""
    content_type: str | None = None
    auth_schemes: tuple[str, ...] = ()
    """Schemes offered by ``WWW-Authenticate`` (RFC 9110 §11.6.1)."""
    realm: str | None = None
    """The first ``realm`` parameter of those challenges (RFC 9110 §11.5)."""
    title: str | None = None
    """``<title>`` of an HTML body, when it lies within the captured prefix."""
    headers_complete: bool = True


def _clip(text: str) -> str:
    return text.strip()[:MAX_TEXT]


def parse_head(data: bytes, offset: int = 0) -> tuple[HttpHead, int] | None:
    """The head starting at ``offset`` and the offset of its body (RFC 9112 §2.1, §5).

    Leading empty lines are skipped (§2.2); obsolete line folding is joined with a space
    (§5.2). Returns ``None`` when nothing but whitespace is left. Bytes are read as
    ISO-8859-1, which maps every byte (RFC 9110 §5.5).
    """
    while data.startswith((b"\r\n", b"\n"), offset):
        offset += 2 if data.startswith(b"\r\n", offset) else 1
    if offset >= len(data):
        return None
    end = _HEAD_END.search(data, offset)
    complete = end is not None
    block_end = end.start() if end is not None else len(data)
    body_start = end.end() if end is not None else len(data)
    lines = _LINE_BREAK.split(data[offset:block_end].decode("latin-1"))
    if not complete and len(lines) > 1:
        lines.pop()  # the last line may be cut mid-way
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, _clip(f"{value} {line.strip()}"))
            continue
        name, colon, value = line.partition(":")
        if colon and _FIELD_NAME.fullmatch(name):
            fields.append((name.lower(), _clip(value)))
        if len(fields) >= MAX_FIELDS:
            break
    return HttpHead(lines[0].strip(), tuple(fields), complete), body_start


def _content_length(head: HttpHead) -> int | None:
    """``Content-Length`` (RFC 9112 §6.3 item 5; repeated equal values accepted)."""
    value = head.field("content-length")
    if value is None:
        return None
    parts = {part.strip() for part in value.split(",")}
    if len(parts) != 1:
        return None
    (number,) = parts
    return int(number) if number.isdigit() and len(number) < 16 else None


def _dechunk(data: bytes, offset: int) -> tuple[bytes, int | None]:
    """A chunked body (RFC 9112 §7.1): its data and the offset after it, ``None`` if cut."""
    body = bytearray()
    while True:
        line_end = data.find(b"\n", offset)
        if line_end < 0:
            return bytes(body), None
        size_text = data[offset:line_end].split(b";", 1)[0].strip()
        if (
            not size_text
            or len(size_text) > 8
            or not all(c in b"0123456789abcdefABCDEF" for c in size_text)
        ):
            return bytes(body), None
        size = int(size_text, 16)
        offset = line_end + 1
        if size == 0:
            trailer_end = _HEAD_END.search(b"\r\n" + data[offset:])
            return bytes(body), None if trailer_end is None else offset + trailer_end.end() - 2
        body += data[offset : offset + size]
        offset += size
        if offset > len(data):
            return bytes(body), None
        offset += 2 if data.startswith(b"\r\n", offset) else 1


def _body(
    head: HttpHead, data: bytes, start: int, *, is_request: bool, bodiless: bool
) -> tuple[bytes, int | None]:
    """The message body and where the next message starts (RFC 9112 §6.3)."""
    if bodiless:
        return b"", start
    if "chunked" in (head.field("transfer-encoding") or "").lower():
        return _dechunk(data, start)
    length = _content_length(head)
    if length is not None:
        end = start + length
        return data[start:end], end if end <= len(data) else None
    if is_request:
        return b"", start
    return data[start:], None  # read until the connection closes (§6.3 item 8)


def _path(target: str) -> tuple[str, bool]:
    """The path of a request target, and whether a query followed it (RFC 9112 §3.2)."""
    if "://" in target:
        after_scheme = target.split("://", 1)[1]
        slash = after_scheme.find("/")
        target = after_scheme[slash:] if slash >= 0 else "/"
    path, question, _ = target.partition("?")
    path = path.split("#", 1)[0]
    return path[:MAX_TEXT], bool(question)


def _basic_credentials(encoded: str) -> tuple[str, RedactedSecret] | None:
    """User-id and redacted password of Basic credentials (RFC 7617 §2).

    The user-id ends at the first colon; the password may contain colons.
    """
    token = encoded.strip()
    if not token.isascii():
        return None
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except binascii.Error:
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user.decode("utf-8", "replace")[:MAX_TEXT], RedactedSecret.of(password)


def _request(head: HttpHead, payload: FlowPayload) -> HttpRequest | None:
    match = _REQUEST_LINE.match(head.start_line)
    if match is None:
        return None
    method, target, version = match.groups()
    path, has_query = _path(target)
    scheme: str | None = None
    credentials: tuple[str, RedactedSecret] | None = None
    authorization = head.field("authorization")
    if authorization is not None:
        name, _, rest = authorization.strip().partition(" ")
        scheme = name or "(empty)"
        if name.lower() == "basic":
            credentials = _basic_credentials(rest)
    return HttpRequest(
        **client_context(payload),
        method=method,
        path=path,
        has_query=has_query,
        version=version,
        host=head.field("host"),
        user_agent=head.field("user-agent"),
        content_type=head.field("content-type"),
        authorization_scheme=scheme,
        basic_user=credentials[0] if credentials else None,
        basic_password=credentials[1] if credentials else None,
        headers_complete=head.complete,
    )


def _decoded_body(head: HttpHead, body: bytes) -> bytes:
    """The body without gzip/deflate content coding, bounded (RFC 9110 §8.4.1)."""
    coding = (head.field("content-encoding") or "").lower()
    if coding not in ("gzip", "x-gzip", "deflate"):
        return body
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 32)  # 32: detect zlib or gzip header
    try:
        return decompressor.decompress(body, MAX_BODY_SCAN)
    except zlib.error:
        return b""


def _title_bytes(body: bytes) -> bytes | None:
    """The content of the first ``<title>`` element, found in one linear pass (a regex
    retried at every ``<title`` of a hostile body would be quadratic)."""
    lowered = body.lower()
    start = lowered.find(b"<title")
    if start < 0:
        return None
    content = lowered.find(b">", start) + 1
    end = lowered.find(b"</title", content)
    if content == 0 or end < 0:
        return None
    return body[content:end]


def html_title(head: HttpHead, body: bytes) -> str | None:
    """The ``<title>`` of an HTML body, whitespace collapsed and entities resolved."""
    content_type = head.field("content-type") or ""
    if content_type and "html" not in content_type.lower():
        return None
    raw = _title_bytes(_decoded_body(head, body)[:MAX_BODY_SCAN])
    if raw is None:
        return None
    charset = _CHARSET.search(content_type)
    try:
        text = raw.decode(charset.group(1) if charset else "utf-8", "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    title = _WHITESPACE.sub(" ", html.unescape(text)).strip()
    return title[:MAX_TEXT] or None


def _challenges(head: HttpHead) -> tuple[tuple[str, ...], str | None]:
    schemes: list[str] = []
    realm: str | None = None
    for value in head.values("www-authenticate"):
        schemes.extend(_CHALLENGE.findall(value))
        found = _REALM.search(value)
        if found is not None and realm is None:
            realm = (found.group(1) if found.group(1) is not None else found.group(2))[:MAX_TEXT]
    return tuple(schemes), realm


def _response(head: HttpHead, body: bytes, payload: FlowPayload) -> HttpResponse | None:
    match = _STATUS_LINE.match(head.start_line)
    if match is None:
        return None
    version, status, reason = match.groups()
    schemes, realm = _challenges(head)
    return HttpResponse(
        **server_context(payload),
        status=int(status),
        reason=_clip(reason or ""),
        version=version,
        server_header=head.field("server"),
        powered_by=head.field("x-powered-by"),
        content_type=head.field("content-type"),
        auth_schemes=schemes,
        realm=realm,
        title=html_title(head, body),
        headers_complete=head.complete,
    )


def _heads(
    data: bytes, *, is_request: bool, bodiless: list[bool]
) -> Iterator[tuple[HttpHead, bytes]]:
    """Messages of one direction in order, each head with its body (pipelining, §9.3.2).

    ``bodiless[i]`` tells that the i-th response has no body whatever its fields say
    (a response to HEAD, RFC 9110 §9.3.2).
    """
    offset = 0
    index = 0
    while offset < len(data):
        parsed = parse_head(data, offset)
        if parsed is None:
            return
        head, body_start = parsed
        no_body = not is_request and (
            (index < len(bodiless) and bodiless[index]) or _status_without_body(head)
        )
        body, next_offset = _body(head, data, body_start, is_request=is_request, bodiless=no_body)
        yield head, body
        if not head.complete or next_offset is None or next_offset <= offset:
            return
        offset = next_offset
        index += 1


def _status_without_body(head: HttpHead) -> bool:
    """1xx, 204 and 304 responses never have a body (RFC 9112 §6.3 item 1)."""
    match = _STATUS_LINE.match(head.start_line)
    return match is not None and (match.group(2)[0] == "1" or match.group(2) in ("204", "304"))


def dissect(payload: FlowPayload) -> list[Observation]:
    """Requests from the client's prefix and responses from the server's (RFC 9112).

    Raises :class:`DissectorError` when neither stream opens with an HTTP/1.x message.
    """
    observations: list[Observation] = []
    methods: list[str] = []
    for head, _body_bytes in _heads(payload.client_bytes, is_request=True, bodiless=[]):
        request = _request(head, payload)
        if request is None:
            break
        methods.append(request.method)
        observations.append(request)
    bodiless = [method == "HEAD" for method in methods]
    for head, body in _heads(payload.server_bytes, is_request=False, bodiless=bodiless):
        response = _response(head, body, payload)
        if response is None:
            break
        observations.append(response)
    if not observations and (payload.client_bytes or payload.server_bytes):
        raise DissectorError("neither side of the flow opens with an HTTP/1.x message")
    return observations


def looks_like_http_request(head: bytes) -> bool:
    """An HTTP/1.x request line with a known method (RFC 9112 §3)."""
    return _PROBE.match(head) is not None


SIGNATURE = Signature(transport=Transport.TCP, ports=PORTS, probe=looks_like_http_request)
DISSECTOR = FunctionDissector(name="http", signature=SIGNATURE, function=dissect)
