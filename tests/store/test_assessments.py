"""The assessment repository: start, finish, latest."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield import __version__
from medshield.core.errors import StoreError
from medshield.store import Assessment, Database

T0 = 1_700_000_000.125


def test_an_assessment_is_started_then_finished(db: Database) -> None:
    with db.repositories() as store:
        assessment_id = store.assessments.start(["a.pcap", "b.pcapng"], started_at=T0)
        store.assessments.finish(
            assessment_id,
            packets=1_000_000,
            bytes=600_000_000,
            flows=4_321,
            start=T0 - 3600,
            end=T0 - 60,
            finished_at=T0 + 12.5,
        )
    with db.repositories() as store:
        assert store.assessments.get(assessment_id) == Assessment(
            id=assessment_id,
            started_at=T0,
            finished_at=T0 + 12.5,
            files=("a.pcap", "b.pcapng"),
            packets=1_000_000,
            bytes=600_000_000,
            flows=4_321,
            capture_start=T0 - 3600,
            capture_end=T0 - 60,
            tool_version=__version__,
        )


def test_an_unfinished_assessment_has_no_summary_yet(db: Database) -> None:
    with db.repositories() as store:
        started = store.assessments.get(store.assessments.start(["a.pcap"]))
    assert started is not None
    assert (started.finished_at, started.capture_start, started.packets) == (None, None, 0)


def test_latest_is_the_most_recently_started(db: Database) -> None:
    with db.repositories() as store:
        assert store.assessments.latest() is None
        first = store.assessments.start(["a.pcap"])
        second = store.assessments.start(["b.pcap"])
        latest = store.assessments.latest()
        assert [a.id for a in store.assessments.all()] == [first, second]
    assert latest is not None
    assert (latest.id, latest.files) == (second, ("b.pcap",))


def test_finishing_an_unknown_assessment_is_a_store_error(db: Database) -> None:
    with pytest.raises(StoreError, match="424242"), db.repositories() as store:
        store.assessments.finish(424242, packets=0, bytes=0, flows=0, start=None, end=None)


def test_capture_files_may_be_given_as_paths(db: Database, tmp_path: Path) -> None:
    with db.repositories() as store:
        started = store.assessments.get(store.assessments.start([tmp_path / "a.pcap"]))
    assert started is not None
    assert started.files == (str(tmp_path / "a.pcap"),)
