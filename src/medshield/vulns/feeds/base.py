"""What every feed module shares: the file sample, the feed protocol and folder walking.

A feed recognises its format by content (:meth:`Feed.sniff`), never by file name, and reads
one file into a :class:`FeedResult`. Reading a folder reads every file below it in sorted
order; a file that fails becomes a :class:`FeedProblem` naming it, and the rest still import.
"""

from __future__ import annotations

import codecs
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from medshield.core.errors import BadInputError, MedShieldError
from medshield.vulns.model import FeedKind, FeedProblem, FeedResult

MAX_FILE_BYTES = 1 << 30
_GZIP_MAGIC = b"\x1f\x8b"
"""Larger files are refused rather than read into memory."""

_PARSE_FAILURES = (
    MedShieldError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
    zipfile.BadZipFile,
)
"""What a hostile or malformed file can make a parser raise; each becomes a FeedProblem."""


@dataclass(slots=True)
class Sample:
    """A file's bytes, decoded once on demand as text or JSON for every feed that asks."""

    path: Path
    data: bytes
    _text: str | None = field(default=None, repr=False)
    _json: Any = field(default=None, repr=False)
    _json_error: str | None = field(default=None, repr=False)
    _json_done: bool = field(default=False, repr=False)

    @classmethod
    def read(cls, path: Path) -> Sample:
        """Read ``path``; :class:`BadInputError` if it is unreadable or too large."""
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise BadInputError(str(path), f"{size} bytes is more than a feed file may hold")
            data = path.read_bytes()
        except OSError as error:
            raise BadInputError(str(path), f"cannot read: {error.strerror or error}") from None
        if data[:2] == _GZIP_MAGIC:
            data = _gunzip(data, str(path))
        return cls(path, data)

    @property
    def source(self) -> str:
        """The file name as problems and records report it."""
        return str(self.path)

    @property
    def is_zip(self) -> bool:
        """A ZIP container (xlsx workbooks are)."""
        return self.data[:4] == b"PK\x03\x04"

    @property
    def looks_like_json(self) -> bool:
        """The first non-blank character opens a JSON object or array."""
        head = self.data[:64].lstrip(codecs.BOM_UTF8).lstrip()
        return head[:1] in (b"{", b"[")

    def text(self) -> str:
        """The file as UTF-8 text (a BOM is dropped); :class:`BadInputError` if it is not."""
        if self._text is None:
            try:
                self._text = self.data.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise BadInputError(self.source, "not UTF-8 text", error.start) from None
        return self._text

    def head_lines(self, count: int = 3) -> list[str]:
        """The first ``count`` lines of a text file, or none for binary content."""
        head = self.data[:4096]
        if b"\x00" in head:
            return []
        return head.decode("utf-8-sig", errors="replace").splitlines()[:count]

    def json(self) -> Any:
        """The parsed JSON document; :class:`BadInputError` naming the file if it is not JSON."""
        if not self._json_done:
            self._json_done = True
            try:
                self._json = json.loads(self.text())
            except json.JSONDecodeError as error:
                self._json_error = f"not valid JSON: {error.msg} (line {error.lineno})"
            except RecursionError:
                self._json_error = "not valid JSON: nested too deeply"
        if self._json_error is not None:
            raise BadInputError(self.source, self._json_error)
        return self._json

    def json_object(self) -> dict[str, Any] | None:
        """The document if it is a JSON object, else None (for sniffing: never raises)."""
        if not self.looks_like_json:
            return None
        try:
            document = self.json()
        except BadInputError:
            return None
        return document if isinstance(document, dict) else None


def _gunzip(data: bytes, source: str) -> bytes:
    """Decompress a gzip file (EPSS and NVD files are published gzipped), within the size cap."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        plain = inflater.decompress(data, MAX_FILE_BYTES)
    except zlib.error as error:
        raise BadInputError(source, f"corrupt gzip data: {error}") from None
    if inflater.unconsumed_tail:
        raise BadInputError(source, "decompresses to more than a feed file may hold")
    return plain


class Feed(Protocol):
    """A feed format: recognise a file by content, read it into records."""

    kind: ClassVar[FeedKind]
    name: ClassVar[str]

    def sniff(self, sample: Sample) -> bool:
        """True when ``sample`` is in this feed's format (cheap, never raises)."""
        ...

    def read(self, sample: Sample) -> FeedResult:
        """The records of ``sample``; raises :class:`BadInputError` naming the file."""
        ...


def walk(path: Path) -> Iterator[Path]:
    """``path`` itself, or every regular file below the folder ``path`` in sorted order."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and not child.name.startswith("."):
                yield child
    else:
        yield path


def read_sample(feed: Feed, sample: Sample) -> FeedResult:
    """``feed.read(sample)``, with any failure turned into a problem naming the file."""
    try:
        result = feed.read(sample)
    except BadInputError as error:
        message = error.reason if error.source == sample.source else str(error)
        return FeedResult(problems=(FeedProblem(sample.source, message),))
    except _PARSE_FAILURES as error:
        reason = f"not a valid {feed.name} file ({type(error).__name__}: {error})"
        return FeedResult(problems=(FeedProblem(sample.source, reason),))
    return FeedResult.combine([result, FeedResult(files=((sample.source, feed.kind),))])


def load_with(feeds: Feed | tuple[Feed, ...], path: Path) -> FeedResult:
    """Read a file or folder with the given feed(s); files of another format become problems."""
    candidates = feeds if isinstance(feeds, tuple) else (feeds,)
    results: list[FeedResult] = []
    for file in walk(path):
        try:
            sample = Sample.read(file)
        except BadInputError as error:
            results.append(FeedResult(problems=(FeedProblem(str(file), error.reason),)))
            continue
        feed = next((f for f in candidates if f.sniff(sample)), None)
        if feed is None:
            message = "not a " + " or ".join(f.name for f in candidates) + " file"
            results.append(FeedResult(problems=(FeedProblem(sample.source, message),)))
            continue
        results.append(read_sample(feed, sample))
    if not results:
        return FeedResult(problems=(FeedProblem(str(path), "no such file or folder"),))
    return FeedResult.combine(results)
