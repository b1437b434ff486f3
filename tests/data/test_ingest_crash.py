"""Crash mid-import (RELIABILITY #4): kill -9 the importer at random points, then rerun.

After every kill the database holds no trace of the file (no batch, no rows); the rerun then
loads it, and every table's digest equals that of a clean run on a fresh database.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from data.ingestion import ingest_file
from data.storage import create_engine_for, database_digest

# Ids and timestamps of batches differ between runs by nature; everything else must not.
RUN_SPECIFIC = ("id", "import_batch_id", "started_at", "finished_at")
ROWS = 30_000

IMPORTER = """
import sys
from data.ingestion import ingest_file
from data.storage import create_engine_for
engine = create_engine_for(sys.argv[1])
print("ready", flush=True)
ingest_file(engine, sys.argv[2])
print("done", flush=True)
"""


def _big_visits(folder: Path) -> Path:
    path = folder / "ecm_visits_big.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "visit_id",
                "provider_id",
                "service_user_id",
                "carer_id",
                "planned_start",
                "planned_duration_min",
                "check_in",
                "check_out",
                "billed_min",
                "status",
            ]
        )
        for i in range(ROWS):
            day, minute = divmod(i, 600)
            writer.writerow(
                [
                    f"B{i}",
                    "P1",
                    "S1",
                    "C1",
                    f"2026-10-{1 + day % 28:02d} {6 + minute // 60:02d}:{minute % 60:02d}:00",
                    30,
                    "",
                    "",
                    30,
                    "missed",
                ]
            )
    return path


def _kill_at_random(url: str, path: Path, delay_s: float) -> None:
    """Start an importer and kill -9 it ``delay_s`` after it is ready."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    process = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    time.sleep(delay_s)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()


def _orphans(engine) -> int:
    with engine.connect() as conn:
        importing = conn.execute(
            text("SELECT COUNT(*) FROM import_batches WHERE status = 'importing'")
        ).scalar_one()
        unbatched = conn.execute(
            text(
                "SELECT COUNT(*) FROM ecm_visits v WHERE NOT EXISTS "
                "(SELECT 1 FROM import_batches b WHERE b.id = v.import_batch_id)"
            )
        ).scalar_one()
    return int(importing) + int(unbatched)


def _crash_runs(engine, database_url, load_kinds, tmp_path, runs: int) -> dict:
    load_kinds(engine, kinds=("provider", "carer", "service_user", "package", "call"))
    before = database_digest(engine, exclude=RUN_SPECIFIC)
    path = _big_visits(tmp_path)
    started = time.perf_counter()
    clean_engine = create_engine_for(database_url)
    ingest_file(clean_engine, path)  # a clean run, to time and compare
    clean_engine.dispose()
    clean_s = time.perf_counter() - started
    clean = database_digest(engine, exclude=RUN_SPECIFIC)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ecm_visits"))
        conn.execute(text("DELETE FROM import_batches WHERE record_kind = 'ecm_visit'"))
    assert database_digest(engine, exclude=RUN_SPECIFIC) == before
    rng = random.Random(4)
    tally = {"runs": 0, "killed": 0, "finished": 0, "orphans": 0}
    for _ in range(runs):
        _kill_at_random(database_url, path, rng.uniform(0, clean_s * 1.2))
        tally["runs"] += 1
        tally["orphans"] += _orphans(engine)
        after = database_digest(engine, exclude=RUN_SPECIFIC)
        # All or nothing: the kill landed before the commit, or after it (a race the
        # importer's own "done" cannot settle); never anything in between.
        assert after in (before, clean), "a killed import left part of the file behind"
        if after == before:
            tally["killed"] += 1
        else:
            tally["finished"] += 1
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM ecm_visits"))
                conn.execute(text("DELETE FROM import_batches WHERE record_kind = 'ecm_visit'"))
    rerun = create_engine_for(database_url)
    ingest_file(rerun, path)
    rerun.dispose()
    assert database_digest(engine, exclude=RUN_SPECIFIC) == clean
    assert tally["orphans"] == 0
    return tally


def test_killed_import_leaves_nothing_and_rerun_equals_clean_run(
    engine, database_url, load_kinds, tmp_path
):
    """Three kill -9s at random points: no rows, no batch; the rerun equals a clean run."""
    tally = _crash_runs(engine, database_url, load_kinds, tmp_path, runs=3)
    assert tally["runs"] == 3


@pytest.mark.slow
def test_twenty_killed_imports_per_database(engine, database_url, load_kinds, tmp_path, capsys):
    """RELIABILITY #4: twenty kill -9s per database, all leaving the database as it was."""
    tally = _crash_runs(engine, database_url, load_kinds, tmp_path, runs=20)
    with capsys.disabled():
        print(f"\ncrash runs on {engine.dialect.name}: {tally}")
    assert tally["runs"] == 20
