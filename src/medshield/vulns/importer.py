"""Import feed files and folders: detect each file's format by content, read it, collect
problems.

``medshield feeds import PATH...`` calls :func:`import_paths`. Folders are walked; each file is
offered to the feeds of the registry in order and read by the first that recognises it. A
file no feed recognises, or one that fails to read, becomes a :class:`FeedProblem` naming it;
the other files still import. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from medshield.core.errors import BadInputError
from medshield.core.registry import Registry
from medshield.vulns.feeds import default_feeds
from medshield.vulns.feeds.base import Feed, Sample, read_sample, walk
from medshield.vulns.model import FeedProblem, FeedResult, ImportResult


def import_paths(paths: Iterable[Path], feeds: Registry[Feed] | None = None) -> ImportResult:
    """Records and problems of every file under ``paths``, in path order."""
    registry = feeds if feeds is not None else default_feeds()
    results: list[FeedResult] = []
    for path in paths:
        if not path.exists():
            results.append(FeedResult(problems=(FeedProblem(str(path), "no such file or folder"),)))
            continue
        results.extend(import_file(file, registry) for file in walk(path))
    return FeedResult.combine(results)


def import_file(path: Path, feeds: Registry[Feed]) -> FeedResult:
    """One file, read by the first feed whose ``sniff`` recognises it."""
    try:
        sample = Sample.read(path)
    except BadInputError as error:
        return FeedResult(problems=(FeedProblem(str(path), error.reason),))
    for feed in feeds:
        if feed.sniff(sample):
            return read_sample(feed, sample)
    return _unrecognised(sample)


def _unrecognised(sample: Sample) -> FeedResult:
    """Say why no feed took the file; a JSON Schema is skipped rather than reported."""
    if sample.looks_like_json:
        try:
            document = sample.json()
        except BadInputError as error:
            return FeedResult(problems=(FeedProblem(sample.source, error.reason),))
        schema = isinstance(document, dict) and "json-schema.org" in str(document.get("$schema"))
        if schema and "properties" in document:
            note = FeedProblem(sample.source, "a JSON Schema, not a feed")
            return FeedResult(skipped=(note,))
        message = "JSON of no known feed format (CSAF, NVD, CVE 5, KEV, CycloneDX)"
    elif not sample.head_lines(1):
        message = "binary file of no known feed format"
    else:
        message = "text of no known feed format (KEV CSV, EPSS CSV)"
    return FeedResult(problems=(FeedProblem(sample.source, message),))
