"""Build MDS2 workbooks (ANSI/NEMA HN 1-2019 layout) for tests; no real form is public.

The sheet follows the 2019 form: a title, the header row "Question ID | Question | Answer |
Note # | IEC TR 80001-2-2:2012 | NIST SP 800-53 Rev. 4 | ISO 27002:2013", a row per section
title, then one row per question with its answer. Document questions (DOC-1 … DOC-7) carry
free-text answers: manufacturer, description, model, document id, release date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from openpyxl import Workbook

from medshield.vulns.feeds.mds2 import load_catalogue

HEADER = (
    "Question ID",
    "Question",
    "Answer",
    "Note #",
    "IEC TR 80001-2-2:2012",
    "NIST SP 800-53 Rev. 4",
    "ISO 27002:2013",
)
TITLE = "Manufacturer Disclosure Statement for Medical Device Security -- MDS2"


def build_mds2(
    path: Path,
    *,
    manufacturer: str,
    model: str,
    version: str = "",
    description: str = "",
    document_id: str = "",
    release_date: dt.date | None = None,
    answers: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    sheet_title: str = "MDS2",
) -> Path:
    """Write an MDS2 workbook to ``path``; unanswered questions are left blank.

    ``version``, when given, is written into the DOC-3 model cell the way manufacturers do
    ("Model X, software version 1.2.3").
    """
    catalogue = load_catalogue()
    answers = dict(answers or {})
    notes = dict(notes or {})
    document = catalogue.document
    answers.setdefault(document["manufacturer"], manufacturer)
    answers.setdefault(
        document["model"], f"{model}, software version {version}" if version else model
    )
    answers.setdefault(document["description"], description)
    answers.setdefault(document["document_id"], document_id)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_title
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(list(HEADER))
    for title, questions in catalogue.sections:
        sheet.append([title])
        for question_id, question in questions:
            value: object = answers.get(question_id, "")
            if question_id == document["release_date"] and release_date is not None:
                value = dt.datetime.combine(release_date, dt.time())
            sheet.append([question_id, question, value, notes.get(question_id, "")])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
