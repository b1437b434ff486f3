"""The nightly batch: capacity per area, identical reruns, and a failure leaves the last report."""

import filecmp
import shutil
from datetime import timedelta

import pytest

from app.jobs import nightly
from app.jobs.ingest import ingest_paths
from app.jobs.nightly import NightlyParams, run_nightly
from app.settings import Settings
from data.synthetic import SyntheticConfig, generate, write_dataset

FAST = NightlyParams(solution_limit=30, time_limit_s_per_area=60, workers=1)


@pytest.fixture
def small_county_loaded(tmp_path, engine, database_url) -> Settings:
    """Small generated data ingested into the test database."""
    config = SyntheticConfig.small(seed=11)
    write_dataset(generate(config), tmp_path / "data")
    settings = Settings(database_url=database_url, work_dir=tmp_path / "work")
    ingest_paths(settings, [tmp_path / "data"])
    return settings


def _content_files(directory):
    return sorted(
        p.relative_to(directory)
        for p in directory.rglob("*")
        if p.is_file() and p.name != "run.json"
    )


@pytest.mark.slow
def test_capacity_per_area_and_identical_rerun(small_county_loaded):
    """Each area with visits gets a row; a rerun on the same data publishes identical files."""
    settings = small_county_loaded
    first = run_nightly(settings, params=FAST)
    assert len(first.capacity) >= 1
    row = first.capacity.iloc[0]
    assert row["visits"] > 0 and row["travel_hours_today"] > 0
    assert row["calls_unserved_proposed"] >= 0
    snapshot = first.report_dir.parent / "snapshot"
    shutil.copytree(first.report_dir, snapshot)
    second = run_nightly(settings, day=first.day, params=FAST)
    assert second.report_dir == first.report_dir
    files = _content_files(snapshot)
    assert files == _content_files(second.report_dir)
    _, mismatch, errors = filecmp.cmpfiles(snapshot, second.report_dir, files, shallow=False)
    assert mismatch == [] and errors == []


def test_failed_run_leaves_previous_report(small_county_loaded, monkeypatch):
    """A batch that fails midway publishes nothing and leaves the previous report in place."""
    settings = small_county_loaded
    first = run_nightly(settings, params=FAST)
    before = (first.report_dir / "capacity.csv").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(nightly, "run_audit", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_nightly(settings, day=first.day, params=FAST)
    assert (first.report_dir / "capacity.csv").read_bytes() == before
    assert not [p for p in first.report_dir.parent.iterdir() if p.name.startswith(".")]


def test_day_without_visits_is_a_clear_error(small_county_loaded):
    """A day with no ECM visits in any area names the day."""
    with pytest.raises(ValueError, match="No ECM visits"):
        run_nightly(
            small_county_loaded,
            day=SyntheticConfig.small(seed=11).start_date - timedelta(days=30),
            params=FAST,
        )
