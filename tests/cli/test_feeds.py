"""``medshield feeds import``: every shared advisory and SBOM, counts, problems, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from medshield.cli.feeds import feeds_app
from medshield.store import Database
from medshield.store.vulns import VulnRepository
from medshield.testing.environment import require_shared

runner = CliRunner()


def medshield() -> typer.Typer:
    """The ``feeds`` group as ``cli.main`` registers it."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(feeds_app(), name="feeds")
    return app


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the command in-process; return exit code, stdout, stderr."""
    result = runner.invoke(medshield(), list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str, str]:
    """A database after ``feeds import`` of the shared advisories and SBOMs."""
    path = tmp_path_factory.mktemp("feeds") / "medshield.db"
    code, out, err = invoke(
        "feeds", "import", str(require_shared("advisories")), str(require_shared("sbom")),
        "--db", f"sqlite:///{path}",
    )  # fmt: skip
    return path, code, out, err


def test_every_shared_file_imports_with_the_right_counts(
    imported: tuple[Path, int, str, str],
) -> None:
    path, code, out, err = imported
    assert code == 0, err
    assert err == ""
    folder = require_shared("advisories")
    csaf = sorted((folder / "cisa-csaf").rglob("*.json"))
    records = sorted((folder / "cvelistV5").rglob("*.json"))
    kev = json.loads((folder / "cisa-kev" / "known_exploited_vulnerabilities.json").read_text())
    cves = {
        v["cve"]
        for file in csaf
        for v in json.loads(file.read_text(encoding="utf-8")).get("vulnerabilities", [])
        if v.get("cve")
    } | {json.loads(file.read_text())["cveMetadata"]["cveId"] for file in records}
    sboms = [json.loads(p.read_text()) for p in sorted(require_shared("sbom").rglob("*.json"))]
    assert f"csaf {len(csaf)}" in out and f"cve5 {len(records)}" in out
    assert "kev 2" in out and f"cyclonedx {len(sboms)}" in out
    assert f"{len(cves)} CVEs" in out and f"KEV: {kev['count']} CVEs" in out
    assert "skipped " in out and "known_exploited_vulnerabilities_schema.json" in out
    with Database(f"sqlite:///{path}") as database, database.session() as session:
        counts = VulnRepository(session).counts()
    assert counts.advisories == len(csaf) + len(records)
    assert counts.cves == len(cves)
    assert counts.kev == kev["count"]
    assert counts.sboms == len(sboms)


def test_importing_again_changes_nothing(
    imported: tuple[Path, int, str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "again.db"
    shutil.copyfile(imported[0], copy)
    code, out, _ = invoke(
        "feeds", "import", str(require_shared("advisories/cisa-kev")),
        str(require_shared("advisories/cisa-csaf/OT/white/2023")), "--db", f"sqlite:///{copy}",
    )  # fmt: skip
    assert code == 0
    assert "Stored: 0 new or changed record(s)" in out


def test_bad_files_are_one_line_each_and_the_good_one_imports(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    good = sorted(require_shared("advisories/cisa-csaf/OT/white/2023").glob("*.json"))[0]
    shutil.copy(good, feeds / "good.json")
    (feeds / "broken.json").write_text('{"document": ')
    (feeds / "readme.txt").write_text("not a feed\n")
    code, out, err = invoke("feeds", "import", str(feeds), "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert code == 0
    assert "Advisories: 1 " in out
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith(f"medshield: {feeds / 'broken.json'}: ") for line in lines)
    assert any(line.startswith(f"medshield: {feeds / 'readme.txt'}: ") for line in lines)


def test_nothing_usable_exits_2(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("not a feed\n")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    code, _, err = invoke("feeds", "import", str(tmp_path / "readme.txt"), "--db", db)
    assert code == 2
    assert err.strip().splitlines()[-1] == "medshield: nothing usable imported"
    code, _, err = invoke("feeds", "import", str(tmp_path / "missing"), "--db", db)
    assert code == 2 and f"{tmp_path / 'missing'}: no such file or folder" in err


def test_an_unusable_database_is_one_line(tmp_path: Path) -> None:
    code, _, err = invoke(
        "feeds", "import", str(tmp_path), "--db", "postgresql://u:secret@127.0.0.1:1/none"
    )
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "secret" not in err
