"""MDS2 workbooks (HN 1-2019) built by the generator, and workbooks that are not MDS2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from medshield.core.errors import BadInputError
from medshield.testing.mds2 import build_mds2
from medshield.vulns.feeds.mds2 import classify_answer, load, parse_mds2
from medshield.vulns.model import Answer


def test_round_trip(tmp_path: Path) -> None:
    path = build_mds2(
        tmp_path / "mds2.xlsx",
        manufacturer="B. Braun Melsungen AG",
        model="Infusomat Space",
        version="L82",
        description="Large volume infusion pump",
        document_id="MDS2-IS-2023",
        release_date=dt.date(2023, 5, 2),
        answers={
            "TXCF-2": "No",
            "STCF-1": "No",
            "PAUT-4": "Yes",
            "PAUT-5": "No, service password is fixed",
            "RMOT-1": "Yes",
            "CONN-1.1.1": "Yes",
            "AUTH-1": "N/A",
        },
        notes={"PAUT-5": "See note 4"},
    )
    (form,) = load(path).mds2_forms
    assert form.manufacturer == "B. Braun Melsungen AG"
    assert (form.model, form.version) == ("Infusomat Space", "L82")
    assert form.description == "Large volume infusion pump"
    assert form.document_id == "MDS2-IS-2023"
    assert form.release_date == "2023-05-02"
    assert form.capability("encrypts_transmissions") is False
    assert form.capability("encrypts_data_at_rest") is False
    assert form.capability("default_accounts_documented") is True
    assert form.capability("passwords_changeable") is False
    assert form.capability("remote_service") is True
    assert form.capability("wifi") is True
    assert form.capability("requires_login") is None
    assert form.capability("bluetooth") is None
    answers = {a.question_id: a for a in form.answers}
    assert answers["PAUT-5"].note == "See note 4"
    assert answers["PAUT-5"].text == "No, service password is fixed"
    assert answers["TXCF-2"].question.startswith("Is personally identifiable information encrypted")


def test_layout_without_header_row(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["", "DOC-1", "Manufacturer Name", "Example Medical"])
    sheet.append(["", "DOC-3", "Device Model", "Pump 9 (firmware version 3.1.4)"])
    sheet.append(["", "TXCF-2", "Encrypted transmission?", "Yes"])
    sheet.append(["", "RMOT-1", "Remote service?", "no"])
    path = tmp_path / "form.xlsx"
    workbook.save(path)
    form = parse_mds2(path.read_bytes(), str(path))
    assert (form.manufacturer, form.model, form.version) == ("Example Medical", "Pump 9", "3.1.4")
    assert form.capability("encrypts_transmissions") is True
    assert form.capability("remote_service") is False


@pytest.mark.parametrize(
    ("model_cell", "model", "version"),
    [
        # Philips writes its release after the model.
        ("IntelliVue MX800 M.00.03", "IntelliVue MX800", "M.00.03"),
        ("Model X v2.1", "Model X", "2.1"),
        ("Alaris PCU 8015 12.1.3", "Alaris PCU 8015", "12.1.3"),
        ("Sigma Spectrum (V8.01.00)", "Sigma Spectrum", "8.01.00"),
        # A trailing model number is no version.
        ("IntelliVue MX800", "IntelliVue MX800", ""),
        ("Evita V500", "Evita V500", ""),
        ("ExactaMix EM2400", "ExactaMix EM2400", ""),
    ],
)
def test_version_written_after_the_model(
    tmp_path: Path, model_cell: str, model: str, version: str
) -> None:
    path = build_mds2(tmp_path / "f.xlsx", manufacturer="Philips", model=model_cell)
    (form,) = load(path).mds2_forms
    assert (form.model, form.version) == (model, version)


@pytest.mark.parametrize(
    ("note", "version"),
    [("M.00.03", "M.00.03"), ("Software version 2.1", "2.1"), ("v2.1", "2.1"), ("3", "")],
)
def test_version_in_the_cell_beside_the_model(tmp_path: Path, note: str, version: str) -> None:
    # The note column beside DOC-3 holds the version; a bare "3" is a note number.
    path = build_mds2(
        tmp_path / "f.xlsx",
        manufacturer="Philips",
        model="IntelliVue MX800",
        notes={"DOC-3": note},
    )
    (form,) = load(path).mds2_forms
    assert (form.model, form.version) == ("IntelliVue MX800", version)


def test_workbook_without_mds2_questions(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Asset", "Location"])
    path = tmp_path / "assets.xlsx"
    workbook.save(path)
    with pytest.raises(BadInputError, match=r"assets\.xlsx: workbook without MDS2 question ids"):
        parse_mds2(path.read_bytes(), str(path))


def test_form_without_manufacturer(tmp_path: Path) -> None:
    path = build_mds2(tmp_path / "f.xlsx", manufacturer="", model="X")
    result = load(path)
    assert result.mds2_forms == ()
    assert "manufacturer name (DOC-1)" in result.problems[0].message


def test_corrupt_workbook_is_a_problem(tmp_path: Path) -> None:
    good = build_mds2(tmp_path / "good.xlsx", manufacturer="Example", model="X")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:-200])
    result = load(broken)
    assert result.mds2_forms == ()
    assert [Path(p.source).name for p in result.problems] == ["broken.xlsx"]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Yes", Answer.YES),
        ("yes, optional", Answer.YES),
        ("No", Answer.NO),
        ("No: see note 2", Answer.NO),
        ("N/A", Answer.NOT_APPLICABLE),
        ("N/A: No default accounts", Answer.NOT_APPLICABLE),
        ("Not applicable", Answer.NOT_APPLICABLE),
        ("", Answer.UNKNOWN),
        ("Nominal", Answer.UNKNOWN),
    ],
)
def test_answers(text: str, answer: Answer) -> None:
    assert classify_answer(text) is answer
