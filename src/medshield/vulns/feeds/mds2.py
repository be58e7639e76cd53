"""MDS2 forms (Manufacturer Disclosure Statement for Medical Device Security, ANSI/NEMA HN
1-2019) as ``.xlsx`` workbooks.

The form is a table of questions, each with an id (``DOC-1``, ``MPII-1``, ``TXCF-2``,
``AUTH-1`` …), the question, a Yes/No/N/A answer and a note. Manufacturers re-layout the
sheet, so columns are found from a header row ("Question ID", "Question", "Answer", "Note"),
or taken as the three cells after the id when there is none. The document questions give the
manufacturer (DOC-1), model (DOC-3) and release date (DOC-7); Yes/No answers of the questions
listed in ``mds2_hn1_2019.yaml`` become declared capabilities.

HN 1-2019 has no version question, so manufacturers put the version where they can: in the
model cell ("Alaris PCU 8015, software version 12.1.3", "IntelliVue MX800 M.00.03", "Model X
v2.1"), in the note cell beside it, or in the device description. The model keeps only the
model's words, so that it compares with the model a device reports.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from medshield.core.errors import BadInputError
from medshield.vulns.feeds.base import Sample, load_with
from medshield.vulns.model import (
    Answer,
    DeclaredCapability,
    FeedKind,
    FeedResult,
    Mds2Answer,
    Mds2Form,
)

QUESTION_ID = re.compile(r"^[A-Z]{3,4}-\d+(?:\.\d+)*$")
_MIN_QUESTIONS = 3
_VERSION_PHRASE = re.compile(
    r"[,;(]?\s*\b(?:software|firmware|sw|fw)?\s*(?:version|ver\.?|rev\.?|release)\s*:?\s*"
    r"([A-Za-z]?\d[\w.\-]*)\)?",
    re.IGNORECASE,
)
_VERSION_BODY = r"[A-Za-z]{0,2}\.?\d+(?:\.[A-Za-z0-9]+)+"
_TRAILING_VERSION = re.compile(
    rf"[\s,;/(]+(?:v\.?\s?(?P<v>\d+(?:\.[A-Za-z0-9]+)+)|(?P<dotted>{_VERSION_BODY}))\)?\s*$",
    re.IGNORECASE,
)
"""A version ending the model cell: dotted ("M.00.03", "12.1.3", "2.4A") or after a "v"
("v2.1"); an undotted number ("MX800", "8015", Evita "V500") is a model number."""
_VERSION_ONLY = re.compile(rf"\s*(?:v\.?\s?)?{_VERSION_BODY}\s*", re.IGNORECASE)
_WORKBOOK_FAILURES = (
    InvalidFileException,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    TypeError,
    OSError,
    SyntaxError,
)
"""What openpyxl raises on a corrupt workbook (XML ParseError is a SyntaxError)."""


@dataclass(frozen=True, slots=True)
class Mds2Catalogue:
    """The HN 1-2019 questions MedShield knows and the capabilities they declare."""

    document: dict[str, str]
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    capabilities: dict[str, str]

    def question(self, question_id: str) -> str:
        """The question text of ``question_id`` (empty when unknown)."""
        for _, questions in self.sections:
            for qid, text in questions:
                if qid == question_id:
                    return text
        return ""


def load_catalogue() -> Mds2Catalogue:
    """The catalogue shipped as ``mds2_hn1_2019.yaml``."""
    raw = resources.files("medshield.vulns.feeds").joinpath("mds2_hn1_2019.yaml").read_text("utf-8")
    data = yaml.safe_load(raw)
    sections = tuple(
        (str(s["title"]), tuple((str(k), str(v)) for k, v in s["questions"].items()))
        for s in data["sections"]
    )
    return Mds2Catalogue(
        document={str(k): str(v) for k, v in data["document"].items()},
        sections=sections,
        capabilities={str(k): str(v) for k, v in data["capabilities"].items()},
    )


class Mds2Feed:
    """MDS2 workbooks (``.xlsx``)."""

    kind: ClassVar[FeedKind] = FeedKind.MDS2
    name: ClassVar[str] = "MDS2 workbook"

    def sniff(self, sample: Sample) -> bool:
        if not sample.is_zip:
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(sample.data)) as archive:
                return "xl/workbook.xml" in archive.namelist()
        except zipfile.BadZipFile:
            return False

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(mds2_forms=(parse_mds2(sample.data, sample.source),))


def load(path: Path) -> FeedResult:
    """Read MDS2 workbooks from a file or every file of a folder."""
    return load_with(Mds2Feed(), path)


def parse_mds2(data: bytes, source: str, catalogue: Mds2Catalogue | None = None) -> Mds2Form:
    """The form in workbook ``data``; :class:`BadInputError` if it holds no MDS2 questions."""
    catalogue = catalogue or load_catalogue()
    try:
        answers = list(_answers(data))
    except _WORKBOOK_FAILURES as error:
        raise BadInputError(source, f"unreadable xlsx workbook ({error})") from None
    if len(answers) < _MIN_QUESTIONS:
        raise BadInputError(source, "workbook without MDS2 question ids (DOC-1, MPII-1, …)")
    by_id = {answer.question_id: answer for answer in answers}
    field_text = {
        field: by_id[qid].text if qid in by_id else "" for field, qid in catalogue.document.items()
    }
    if not field_text.get("manufacturer"):
        raise BadInputError(source, "MDS2 form without a manufacturer name (DOC-1)")
    model, version = _model_and_version(field_text.get("model", ""))
    model_answer = by_id.get(catalogue.document["model"])
    if not version and model_answer is not None:
        version = _version_cell(model_answer.note)
    version = version or _version_phrase(field_text.get("description", ""))
    return Mds2Form(
        source=source,
        manufacturer=field_text["manufacturer"],
        model=model,
        version=version,
        description=field_text.get("description", ""),
        document_id=field_text.get("document_id", ""),
        release_date=field_text.get("release_date", ""),
        answers=tuple(answers),
        capabilities=tuple(
            _capability(name, qid, by_id.get(qid)) for name, qid in catalogue.capabilities.items()
        ),
    )


def _answers(data: bytes) -> Iterator[Mds2Answer]:
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        seen: set[str] = set()
        for sheet in workbook.worksheets:
            columns: tuple[int, int, int, int] | None = None
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell_text(value) for value in row]
                header = _header_columns(cells)
                if header is not None:
                    columns = header
                    continue
                answer = _row_answer(cells, columns)
                if answer is not None and answer.question_id not in seen:
                    seen.add(answer.question_id)
                    yield answer
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def _header_columns(cells: list[str]) -> tuple[int, int, int, int] | None:
    """Columns of id, question, answer and note from a "Question ID" header row."""
    lowered = [c.casefold() for c in cells]
    if "question id" not in lowered:
        return None
    id_col = lowered.index("question id")
    question = next(
        (i for i, c in enumerate(lowered) if "question" in c and i != id_col), id_col + 1
    )
    answer = next(
        (i for i, c in enumerate(lowered) if any(w in c for w in ("answer", "yes", "response"))),
        question + 1,
    )
    note = next((i for i, c in enumerate(lowered) if "note" in c), answer + 1)
    return id_col, question, answer, note


def _row_answer(cells: list[str], columns: tuple[int, int, int, int] | None) -> Mds2Answer | None:
    if columns is None:
        id_col = next((i for i, c in enumerate(cells) if QUESTION_ID.match(c)), None)
        if id_col is None:
            return None
        columns = (id_col, id_col + 1, id_col + 2, id_col + 3)
    id_col, question_col, answer_col, note_col = columns

    def cell(index: int) -> str:
        return cells[index] if 0 <= index < len(cells) else ""

    question_id = cell(id_col)
    if not QUESTION_ID.match(question_id):
        return None
    answer_text = cell(answer_col)
    return Mds2Answer(
        question_id=question_id,
        question=cell(question_col),
        answer=classify_answer(answer_text),
        text=answer_text,
        note=cell(note_col),
    )


def classify_answer(text: str) -> Answer:
    """Yes/No/N/A from an answer cell ("Yes", "No, see note 3", "N/A: no default accounts")."""
    word = re.split(r"[\s,;:.(]", text.strip().casefold(), maxsplit=1)[0]
    if word == "yes":
        return Answer.YES
    if word == "no":
        return Answer.NO
    if word in {"n/a", "na", "not"} or text.strip().casefold().startswith("not applicable"):
        return Answer.NOT_APPLICABLE
    return Answer.UNKNOWN


def _capability(name: str, question_id: str, answer: Mds2Answer | None) -> DeclaredCapability:
    value = None
    if answer is not None and answer.answer in {Answer.YES, Answer.NO}:
        value = answer.answer is Answer.YES
    return DeclaredCapability(name, value, question_id, answer.note if answer else "")


def _model_and_version(text: str) -> tuple[str, str]:
    """Split the model cell into model and version: "Alaris PCU 8015, software version
    12.1.3", "IntelliVue MX800 M.00.03" and "Model X v2.1" give the model without the version.
    """
    found = _VERSION_PHRASE.search(text) or _TRAILING_VERSION.search(text)
    if not found:
        return text.strip(), ""
    model = (text[: found.start()] + text[found.end() :]).strip(" ,;-/")
    version = next(group for group in found.groups() if group)
    return model, version


def _version_phrase(text: str) -> str:
    """The version a "software version 12.1.3" phrase of free text names (empty if none)."""
    found = _VERSION_PHRASE.search(text)
    return found.group(1) if found else ""


def _version_cell(text: str) -> str:
    """A cell holding only a version ("M.00.03", "v2.1", "Software version 2.1"); a note
    number ("3") or any other text gives nothing."""
    if _VERSION_ONLY.fullmatch(text):
        return re.sub(r"^[vV]\.?\s?(?=\d)", "", text.strip())
    found = _VERSION_PHRASE.fullmatch(text.strip())
    return found.group(1) if found else ""
