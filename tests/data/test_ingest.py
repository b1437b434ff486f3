"""Ingesting export files: every kind, mappings, XLSX/JSON, malformed files, idempotence."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data.errors import IngestError, MappingError, UnknownColumnError
from data.ingestion import ColumnMapping, ingest_file, load_mapping
from data.records import LOAD_ORDER, RECORD_KINDS
from data.storage import ImportBatch, database_digest, read_records

FILE_NAMES = {kind: f"{kind}s.csv" for kind in RECORD_KINDS}
NOTE_TEXT = "Private: took medication, ate well."


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8") -> Path:
    """Write rows as a CSV export with the first row's keys as header."""
    import csv

    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def loaded(engine, load_kinds):
    """The tiny record set loaded up to care notes; returns the engine."""
    load_kinds(engine)
    return engine


def test_every_kind_round_trips(engine, load_kinds, two_providers_same_street):
    """Each record kind reads back with the ids, values and row count of its file."""
    results = load_kinds(engine)
    for kind in LOAD_ORDER:
        rows = two_providers_same_street[kind]
        assert results[kind].rows == results[kind].rows_inserted == len(rows)
        frame = read_records(engine, kind, include_sensitive=True, with_source=True)
        key = RECORD_KINDS[kind].key
        assert list(frame[key]) == sorted(r[key] for r in rows)
        assert list(frame["source_file"].unique()) == [f"{kind}s.csv"]
        assert sorted(frame["source_row"]) == list(range(2, len(rows) + 2))
    visits = read_records(engine, "ecm_visit").set_index("visit_id")
    assert visits.loc["V1", "check_out"].isoformat() == "2026-10-05T08:01:00"
    assert visits.loc["V1", "billed_min"] == 30
    assert visits.loc["V2", "double_up_group"] == "D1"
    notes = read_records(engine, "care_note", include_sensitive=True)
    assert notes.loc[0, "text"] == NOTE_TEXT
    calls = read_records(engine, "call").set_index("call_id")
    assert calls.loc["CL1", "window_start"] == "07:00:00"
    assert bool(calls.loc["CL1", "is_time_critical"]) is True


def test_same_file_twice_changes_nothing(loaded, export_dir):
    """A second import of an identical file is 'already imported' and writes nothing anywhere."""
    before = database_digest(loaded)
    again = ingest_file(loaded, export_dir / "ecm_visits.csv")
    assert again.already_imported
    assert again.rows_inserted == 0
    assert database_digest(loaded) == before


def test_same_records_in_another_file_are_kept_once(loaded, export_dir, tmp_path):
    """A new file repeating stored ids inserts only the new ids (natural keys)."""
    import csv

    lines = (export_dir / "ecm_visits.csv").read_text().splitlines()
    rows = list(csv.DictReader(lines))
    extra = dict(rows[0], visit_id="V3")
    path = write_csv(tmp_path / "more_visits.csv", [*rows, extra])
    result = ingest_file(loaded, path)
    assert (result.rows, result.rows_inserted, result.rows_skipped) == (3, 1, 2)
    assert len(read_records(loaded, "ecm_visit")) == 3


def test_concurrent_importers_of_one_file_store_it_once(engine, load_kinds, export_dir):
    """Eight threads importing the same file at once: one loads it, the rest see it imported."""
    load_kinds(engine, kinds=("provider", "carer", "service_user", "package", "call"))
    path = export_dir / "ecm_visits.csv"
    results, errors = [], []

    def importer() -> None:
        try:
            results.append(ingest_file(engine, path))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=importer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.already_imported for r in results) == [False] + [True] * 7
    assert _count(engine, ImportBatch) == 6
    assert len(read_records(engine, "ecm_visit")) == 2


def test_mapping_file_with_other_headers_and_uk_dates(loaded, tmp_path):
    """A JSON mapping renames headers and reads dd/mm/yyyy dates and Y/N flags."""
    path = write_csv(
        tmp_path / "export.csv",
        [
            {
                "Visit Ref": "V9",
                "Agency": "P1",
                "Client": "S1",
                "Worker": "C1",
                "Planned": "06/10/2026 07:30",
                "Planned Mins": "30",
                "In": "06/10/2026 07:31",
                "Out": "06/10/2026 08:02",
                "Billed": "30",
                "Outcome": "Completed",
                "Notes For Office": "ignored",
            }
        ],
    )
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(
        json.dumps(
            {
                "kind": "ecm_visit",
                "columns": {
                    "Visit Ref": "visit_id",
                    "Agency": "provider_id",
                    "Client": "service_user_id",
                    "Worker": "carer_id",
                    "Planned": "planned_start",
                    "Planned Mins": "planned_duration_min",
                    "In": "check_in",
                    "Out": "check_out",
                    "Billed": "billed_min",
                    "Outcome": "status",
                },
                "datetime_format": "%d/%m/%Y %H:%M",
                "ignore_columns": ["Notes For Office"],
            }
        )
    )
    result = ingest_file(loaded, path, mapping=mapping_path)
    assert result.rows_inserted == 1
    visit = read_records(loaded, "ecm_visit").set_index("visit_id").loc["V9"]
    assert visit["planned_start"].isoformat() == "2026-10-06T07:30:00"
    assert visit["status"] == "completed"


def test_toml_mapping_for_service_users(engine, tmp_path):
    """A TOML mapping with a dd/mm/yyyy date format loads service users."""
    path = write_csv(
        tmp_path / "clients.csv",
        [{"Client": "S7", "Area": "Wisbech", "Status": "hospital", "Discharged": "31/10/2026"}],
    )
    mapping_path = tmp_path / "clients.toml"
    mapping_path.write_text(
        'kind = "service_user"\ndate_format = "%d/%m/%Y"\n'
        '[columns]\nClient = "service_user_id"\nArea = "area"\nStatus = "status"\n'
        'Discharged = "hospital_discharge_date"\n'
    )
    ingest_file(engine, path, mapping=load_mapping(mapping_path))
    users = read_records(engine, "service_user")
    assert users.loc[0, "hospital_discharge_date"].isoformat() == "2026-10-31T00:00:00"


def test_xlsx_export(engine, tmp_path, two_providers_same_street):
    """An XLSX workbook with typed cells loads like its CSV twin, rows numbered as in Excel."""
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["provider_id", "name", "contract_type", "rate_gbp_per_hour"])
    sheet.append(["P1", "Fenland Care", "framework", 23.26])
    sheet.append(["P2", "Nene Homecare", "block", 30])
    book.save(tmp_path / "providers.xlsx")
    assert ingest_file(engine, tmp_path / "providers.xlsx").rows_inserted == 2

    book = Workbook()
    sheet = book.active
    sheet.append(["service_user_id", "area", "status", "hospital_discharge_date"])
    sheet.append(["S1", "March", "long_term", datetime(2026, 9, 1)])
    sheet.append(["S2", "March", "nonsense", None])
    book.save(tmp_path / "users.xlsx")
    with pytest.raises(IngestError) as caught:
        ingest_file(engine, tmp_path / "users.xlsx", mapping={"date_format": "%d/%m/%Y"})
    assert (caught.value.row, caught.value.field) == (3, "status")


@pytest.mark.parametrize("lines", [False, True], ids=["array", "lines"])
def test_json_exports(engine, tmp_path, two_providers_same_street, lines):
    """JSON arrays of objects and JSON Lines both load, with typed values."""
    records = [
        {**r, "rate_gbp_per_hour": float(r["rate_gbp_per_hour"]), "base_lat": None}
        | {"base_lon": None}
        for r in two_providers_same_street["provider"]
    ]
    path = tmp_path / ("providers.jsonl" if lines else "providers.json")
    if lines:
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        path.write_text(json.dumps(records))
    assert ingest_file(engine, path).rows_inserted == 2
    assert list(read_records(engine, "provider")["rate_gbp_per_hour"]) == [23.26, 28.53]


def test_kind_detected_from_headers(engine, export_dir):
    """Without a kind, the headers say which record kind the file holds."""
    assert ingest_file(engine, export_dir / "providers.csv").kind == "provider"


def test_progress_reports_rows(engine, export_dir):
    """The progress callback ends with the exact row count."""
    seen = []
    ingest_file(engine, export_dir / "providers.csv", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2, 2)


def test_cp1252_export_loads_only_when_the_mapping_says_so(engine, tmp_path):
    """A Windows-1252 file is rejected as not UTF-8, and loads with encoding=cp1252."""
    rows = [
        {
            "provider_id": "P1",
            "name": "Café Care",
            "contract_type": "dps",
            "rate_gbp_per_hour": "20",
        }
    ]
    path = write_csv(tmp_path / "providers.csv", rows, encoding="cp1252")
    with pytest.raises(IngestError) as caught:
        ingest_file(engine, path)
    assert (caught.value.row, caught.value.field) == (2, "name")
    assert "UTF-8" in str(caught.value)
    ingest_file(engine, path, mapping=ColumnMapping(encoding="cp1252"))
    assert read_records(engine, "provider").loc[0, "name"] == "Café Care"


# --- malformed files: a clear error naming file/row/field, and nothing written --------------


def _visit_rows(two_providers_same_street) -> list[dict[str, str]]:
    return [dict(r) for r in two_providers_same_street["ecm_visit"]]


def _malformed(
    case: str, folder: Path, base: list[dict[str, str]]
) -> tuple[Path, int | None, str | None]:
    """Write one malformed ECM export; returns (path, expected row, expected field)."""
    path = folder / "ecm_visits_bad.csv"
    rows = [dict(r) for r in base]
    if case == "bad_date":
        rows[1]["planned_start"] = "2026-02-30 12:00"
        return write_csv(path, rows), 3, "planned_start"
    if case == "check_out_before_check_in":
        rows[0]["check_out"] = "2026-10-05 07:00:00"
        return write_csv(path, rows), 2, "check_out"
    if case == "duplicate_id":
        rows[1]["visit_id"] = "V1"
        return write_csv(path, rows), 3, "visit_id"
    if case == "unknown_column":
        rows = [dict(r, surprise="x") for r in rows]
        return write_csv(path, rows), 1, "surprise"
    if case == "missing_column":
        rows = [{k: v for k, v in r.items() if k != "billed_min"} for r in rows]
        return write_csv(path, rows), 1, "billed_min"
    if case == "bad_choice":
        rows[1]["status"] = "delivered"
        return write_csv(path, rows), 3, "status"
    if case == "out_of_bounds":
        rows[0]["billed_min"] = "100000"
        return write_csv(path, rows), 2, "billed_min"
    if case == "not_a_number":
        rows[0]["planned_duration_min"] = "thirty"
        return write_csv(path, rows), 2, "planned_duration_min"
    if case == "unknown_carer":
        rows[1]["carer_id"] = "C404"
        return write_csv(path, rows), 3, "carer_id"
    if case == "huge_field":
        rows[1]["double_up_group"] = "D" * 500_000
        return write_csv(path, rows), 3, "double_up_group"
    if case == "lat_without_lon":
        rows[0]["check_in_lon"] = ""
        return write_csv(path, rows), 2, "check_in_lon"
    write_csv(path, rows)
    content = path.read_bytes()
    if case == "truncated_row":
        path.write_bytes(content[: content.rindex(b",S2,")])
        return path, 3, "service_user_id"
    if case == "wrong_encoding":
        path.write_bytes(content.replace(b"P2,S2", b"P\xe92,S2"))
        return path, 3, "provider_id"
    if case == "open_quote":
        path.write_bytes(content.replace(b"V2,", b'"V2,'))
        return path, 3, "visit_id"
    if case == "extra_values":
        path.write_bytes(content.replace(b",missed", b",missed,surplus"))
        return path, 3, "status"
    raise AssertionError(case)


MALFORMED = [
    "bad_date",
    "check_out_before_check_in",
    "duplicate_id",
    "unknown_column",
    "missing_column",
    "bad_choice",
    "out_of_bounds",
    "not_a_number",
    "unknown_carer",
    "huge_field",
    "lat_without_lon",
    "truncated_row",
    "wrong_encoding",
    "open_quote",
    "extra_values",
]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_file_rejected_and_nothing_written(
    loaded, tmp_path, two_providers_same_street, case
):
    """A malformed export raises IngestError naming file, row and field; no table changes."""
    path, row, field = _malformed(case, tmp_path, _visit_rows(two_providers_same_street))
    before = database_digest(loaded)
    with pytest.raises(IngestError) as caught:
        ingest_file(loaded, path, kind="ecm_visit")
    error = caught.value
    assert (error.file, error.row, error.field) == (path.name, row, field), str(error)
    assert path.name in str(error)
    assert database_digest(loaded) == before


def test_missing_column_is_an_unknown_column_error(engine, tmp_path):
    """A required column absent after mapping raises UnknownColumnError (a KeyError too)."""
    path = write_csv(tmp_path / "providers.csv", [{"provider_id": "P1", "name": "A"}])
    with pytest.raises(UnknownColumnError) as caught:
        ingest_file(engine, path, kind="provider")
    assert isinstance(caught.value, KeyError)
    assert caught.value.field == "contract_type"


def test_care_note_text_never_in_errors(loaded, tmp_path, two_providers_same_street):
    """A too-long care note is rejected without quoting its text."""
    secret = "Confidential diagnosis " * 300
    note = dict(two_providers_same_street["care_note"][0], note_id="N2", text=secret)
    path = write_csv(tmp_path / "notes.csv", [note])
    with pytest.raises(IngestError) as caught:
        ingest_file(loaded, path)
    assert caught.value.field == "text"
    assert "Confidential" not in str(caught.value)


def test_failed_import_recorded_only_when_asked(loaded, tmp_path, two_providers_same_street):
    """record_failure keeps a 'failed' batch with the error; by default nothing is written."""
    path, _, _ = _malformed("bad_date", tmp_path, _visit_rows(two_providers_same_street))
    batches = _count(loaded, ImportBatch)
    with pytest.raises(IngestError):
        ingest_file(loaded, path, record_failure=True)
    assert _count(loaded, ImportBatch) == batches + 1
    with loaded.connect() as conn:
        status, message = conn.execute(
            select(ImportBatch.status, ImportBatch.error_message).order_by(ImportBatch.id.desc())
        ).first()
    assert status == "failed" and "planned_start" in message


def test_malformed_mapping_file(tmp_path):
    """A mapping naming an unknown column or key is a MappingError."""
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"columns": {"Ref": "no_such_column"}}))
    with pytest.raises(MappingError):
        load_mapping(bad)
    bad.write_text(json.dumps({"colums": {}}))
    with pytest.raises(MappingError):
        load_mapping(bad)
