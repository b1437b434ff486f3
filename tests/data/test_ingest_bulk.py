"""The bulk paths of ingestion: straight into the table, overlapping files, repeats, races."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from data.errors import IngestError
from data.ingestion import _readers as readers
from data.ingestion import ingest_file
from data.storage import StagedImport, database_digest, read_records

# Small CSV blocks, so a few dozen rows arrive as several chunks.
SMALL_BLOCK_BYTES = 600


@pytest.fixture
def small_chunks(monkeypatch):
    """CSV files read a few rows per chunk."""
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", SMALL_BLOCK_BYTES)


@pytest.fixture
def paths_taken(monkeypatch) -> dict[str, int]:
    """Counts of chunks appended and of chunks that went through staging + ON CONFLICT."""
    counts = {"chunks": 0, "new_only": 0}
    append, insert_new_only = StagedImport.append, StagedImport._insert_new_only

    def counting_append(self, chunk):
        counts["chunks"] += 1
        return append(self, chunk)

    def counting_insert_new_only(self, chunk):
        counts["new_only"] += 1
        return insert_new_only(self, chunk)

    monkeypatch.setattr(StagedImport, "append", counting_append)
    monkeypatch.setattr(StagedImport, "_insert_new_only", counting_insert_new_only)
    return counts


@pytest.fixture
def stored(engine, load_kinds):
    """The tiny record set loaded, V1 and V2 among the ECM visits; returns the engine."""
    load_kinds(engine)
    return engine


def _visit(template: dict[str, str], number: int, **overrides: str) -> dict[str, str]:
    minute = number % 50
    return dict(
        template,
        visit_id=f"V{number}",
        planned_start=f"2026-10-{1 + number % 28:02d} 07:{minute:02d}:00",
        check_in=f"2026-10-{1 + number % 28:02d} 07:{minute:02d}:00",
        check_out=f"2026-10-{1 + number % 28:02d} 08:{minute:02d}:00",
        **overrides,
    )


def _overlapping_file(folder: Path, csv_export, visits: list[dict[str, str]]) -> Path:
    """30 new visits, then V1 and V2 again (billed differently), then 10 new ones."""
    first, second = visits
    rows = [_visit(first, n) for n in range(100, 130)]
    rows += [dict(first, billed_min="55"), dict(second, billed_min="5")]
    rows += [_visit(first, n) for n in range(130, 140)]
    return csv_export(folder / "visits_overlapping.csv", rows)


def _check_only_new_rows_loaded(engine, result, path: Path) -> None:
    assert (result.rows, result.rows_inserted, result.rows_skipped) == (42, 40, 2)
    frame = read_records(engine, "ecm_visit", with_source=True).set_index("visit_id")
    assert len(frame) == 42
    # Stored in secondary-index order, read back in id order.
    assert list(frame.index) == sorted(frame.index)
    # The stored rows are untouched: their values and their source are the first file's.
    assert frame.loc["V1", "billed_min"] == 30
    assert frame.loc["V2", "billed_min"] == 0
    assert frame.loc["V1", "source_file"] == "ecm_visits.csv"
    new = frame[frame["source_file"] == path.name]
    assert len(new) == 40
    # Rows keep their spreadsheet row whatever order the chunk was written in.
    assert new.loc["V100", "source_row"] == 2
    assert new.loc["V139", "source_row"] == 43


def test_file_overlapping_stored_rows_loads_only_the_new_ones(
    stored, tmp_path, csv_export, two_providers_same_street, small_chunks, paths_taken
):
    """Chunks of new ids load straight in; the chunk repeating stored ids keeps those as they were."""
    path = _overlapping_file(tmp_path, csv_export, two_providers_same_street["ecm_visit"])
    result = ingest_file(stored, path)
    _check_only_new_rows_loaded(stored, result, path)
    assert paths_taken["chunks"] >= 4
    if stored.dialect.name == "postgresql":
        # Only the chunk(s) holding V1 and V2 hit the unique index, roll back to their
        # savepoint and pay for staging; the others went straight in.
        assert 1 <= paths_taken["new_only"] <= 2
    before = database_digest(stored)
    assert ingest_file(stored, path).already_imported
    assert database_digest(stored) == before


@pytest.mark.parametrize("repeat_at", [3, 35], ids=["same-chunk", "later-chunk"])
def test_id_repeated_within_the_file_is_rejected_and_nothing_written(
    stored, tmp_path, csv_export, two_providers_same_street, small_chunks, repeat_at
):
    """A file using one id twice names the later row and leaves the database as it was."""
    first = two_providers_same_street["ecm_visit"][0]
    rows = [_visit(first, n) for n in range(100, 140)]
    rows.insert(repeat_at, _visit(first, 101, billed_min="15"))
    path = csv_export(tmp_path / "visits_repeated.csv", rows)
    before = database_digest(stored)
    with pytest.raises(IngestError) as caught:
        ingest_file(stored, path)
    assert (caught.value.row, caught.value.field) == (repeat_at + 2, "visit_id")
    assert "V101" in str(caught.value)
    assert database_digest(stored) == before


def test_concurrent_importers_of_overlapping_files_store_each_id_once(
    stored, tmp_path, csv_export, two_providers_same_street, small_chunks
):
    """Four threads importing files that share ids: every id stored once, inserts add up."""
    first = two_providers_same_street["ecm_visit"][0]
    paths = [
        csv_export(
            tmp_path / f"visits_{i}.csv",
            [_visit(first, n) for n in range(100 + 10 * i, 140 + 10 * i)],
        )
        for i in range(4)
    ]
    results, errors = [], []

    def importer(path: Path) -> None:
        try:
            results.append(ingest_file(stored, path))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=importer, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    frame = read_records(stored, "ecm_visit")
    assert frame["visit_id"].is_unique
    assert len(frame) == 2 + 70  # V1, V2 and V100..V169
    assert sum(r.rows_inserted for r in results) == 70


def test_sqlite_import_connection_goes_back_to_the_engines_durability(engine, load_kinds):
    """An import commits at synchronous=FULL and leaves its pooled connection at NORMAL."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's synchronous level only")
    load_kinds(engine, kinds=("provider",))
    raw = engine.raw_connection()
    try:
        assert raw.driver_connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        raw.close()


def test_file_name_with_quotes_is_kept_verbatim(engine, load_kinds, tmp_path, csv_export):
    """A file name with quotes (written into the rows as a literal on SQLite) is stored as is."""
    load_kinds(engine, kinds=("provider",))
    rows = [
        {"provider_id": "P9", "name": "St Neot's Care", "contract_type": "spot"},
        {"provider_id": "P8", "name": "Ely Care", "contract_type": "dps"},
    ]
    for row in rows:
        row["rate_gbp_per_hour"] = "25"
    path = csv_export(tmp_path / """O'Neil's "new" providers.csv""", rows)
    result = ingest_file(engine, path)
    assert result.rows_inserted == 2
    frame = read_records(engine, "provider", with_source=True).set_index("provider_id")
    assert frame.loc["P9", "source_file"] == path.name
    assert frame.loc["P9", "name"] == "St Neot's Care"


def test_postgresql_binary_copy_stores_what_csv_copy_stores(engine, load_kinds, monkeypatch):
    """Every kind goes through binary COPY, and stores exactly what the CSV COPY stores."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's COPY only")
    from sqlalchemy import text

    from data.records import LOAD_ORDER, RECORD_KINDS
    from data.storage import _bulk, record_table

    encoded: list[bool] = []
    binary_copy = _bulk._binary_copy

    def spy(chunk, types):
        payload = binary_copy(chunk, types)
        encoded.append(payload is not None)
        return payload

    monkeypatch.setattr(_bulk, "_binary_copy", spy)
    run_specific = ("id", "import_batch_id", "started_at", "finished_at")
    load_kinds(engine)
    assert encoded == [True] * len(LOAD_ORDER)
    binary = database_digest(engine, exclude=run_specific)
    with engine.begin() as conn:
        for kind in RECORD_KINDS:
            conn.execute(text(f"DELETE FROM {record_table(kind).name}"))
        conn.execute(text("DELETE FROM import_batches"))
    monkeypatch.setattr(_bulk, "_binary_copy", lambda chunk, types: None)
    load_kinds(engine)
    assert database_digest(engine, exclude=run_specific) == binary
