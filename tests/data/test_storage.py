"""Storage: engines, ORM models, reading records back, table digests and audit outputs."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import selectinload

from data.errors import StorageError
from data.records import AUDIT_OUTPUT_COLUMNS, RECORD_KINDS
from data.storage import (
    Carer,
    Provider,
    create_engine_for,
    database_digest,
    latest_audit_run,
    read_audit_table,
    read_records,
    record_dtypes,
    table_digest,
    write_audit_run,
)


def _provider(provider_id: str, **overrides) -> Provider:
    values = {
        "provider_id": provider_id,
        "name": f"Provider {provider_id}",
        "contract_type": "framework",
        "rate_gbp_per_hour": 23.26,
        "source_file": "providers.csv",
        "source_row": 2,
        "import_batch_id": 1,
    }
    return Provider(**(values | overrides))


def test_sqlite_engine_runs_in_wal_mode(tmp_path):
    """SQLite engines use WAL with synchronous=NORMAL (1) and foreign keys on."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_unsupported_database_refused():
    """Only SQLite and PostgreSQL URLs are accepted."""
    with pytest.raises(StorageError):
        create_engine_for("mysql://localhost/x")


def test_postgresql_url_gets_psycopg3():
    """A bare postgresql:// URL is driven by psycopg 3."""
    engine = create_engine_for("postgresql://user@localhost/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_orm_relationships_raise_instead_of_lazy_loading(session):
    """Relationships are lazy='raise'; eager loading works."""
    session.add_all(
        [
            _provider("P1"),
            Carer(
                carer_id="C1",
                provider_id="P1",
                start_lat=52.5,
                start_lon=-0.2,
                working_weekdays="mon",
                shift_start=datetime(2026, 1, 1, 7).time(),
                shift_end=datetime(2026, 1, 1, 15).time(),
                contracted_hours_per_week=30,
                gender="female",
                travel_mode="car",
                source_file="carers.csv",
                source_row=2,
                import_batch_id=1,
            ),
        ]
    )
    session.commit()
    provider = session.scalars(select(Provider)).one()
    with pytest.raises(InvalidRequestError):
        _ = provider.carers
    session.expunge_all()
    loaded = session.scalars(select(Provider).options(selectinload(Provider.carers))).one()
    assert [c.carer_id for c in loaded.carers] == ["C1"]


def test_read_records_filters_by_provider_and_period(engine, load_kinds):
    """provider_id and [start, end) select visits, and notes through their carer."""
    load_kinds(engine)
    assert list(read_records(engine, "ecm_visit", provider_id="P2")["visit_id"]) == ["V2"]
    october = read_records(engine, "ecm_visit", start="2026-10-01", end=datetime(2026, 11, 1))
    assert list(october["visit_id"]) == ["V1"]
    assert list(read_records(engine, "care_note", provider_id="P1")["note_id"]) == ["N1"]
    assert read_records(engine, "care_note", provider_id="P2").empty
    assert list(read_records(engine, "call", provider_id="P1")["call_id"]) == ["CL1"]
    assert len(read_records(engine, "package", start="2030-01-01")) == 2  # no period column


def test_read_records_dtypes_and_minimisation(engine, load_kinds):
    """Frames carry the documented dtypes; care-note text only when asked for."""
    load_kinds(engine)
    for kind in RECORD_KINDS:
        frame = read_records(engine, kind, include_sensitive=True)
        expected = record_dtypes(kind)
        assert list(frame.columns) == list(expected)
        assert {c: str(t) for c, t in frame.dtypes.items()} == expected
    assert "text" not in read_records(engine, "care_note").columns
    subset = read_records(engine, "ecm_visit", columns=["visit_id", "billed_min"])
    assert list(subset.columns) == ["visit_id", "billed_min"]


def test_read_records_of_empty_table_is_typed(engine):
    """An empty table reads as an empty frame with the canonical columns and dtypes."""
    frame = read_records(engine, "ecm_visit")
    assert frame.empty
    assert {c: str(t) for c, t in frame.dtypes.items()} == record_dtypes("ecm_visit")


def test_read_records_rejects_unknown_kind(engine):
    """An unknown record kind is a ValueError."""
    with pytest.raises(ValueError):
        read_records(engine, "visit")


def test_table_digest_ignores_row_order_but_not_content(engine):
    """The digest depends on the set of rows, not on the order they were written in."""
    rows = [("P1", "A"), ("P2", "B"), ("P3", "C")]

    def fill(order):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM providers"))
            for provider_id, name in order:
                conn.execute(
                    text(
                        "INSERT INTO providers (provider_id, name, contract_type, "
                        "rate_gbp_per_hour, source_file, source_row, import_batch_id) "
                        "VALUES (:p, :n, 'spot', 20, 'f.csv', 2, 1)"
                    ),
                    {"p": provider_id, "n": name},
                )
        return table_digest(engine, "providers")

    forward = fill(rows)
    assert fill(list(reversed(rows))) == forward
    assert fill([*rows[:2], ("P3", "changed")]) != forward


def _audit_frames() -> dict[str, pd.DataFrame]:
    outcome = {c: [None, None] for c in AUDIT_OUTPUT_COLUMNS["visit_outcome"]}
    outcome |= {
        "visit_id": ["V1", "V2"],
        "provider_id": ["P1", "P2"],
        "month": ["2026-10", "2026-11"],
        "outcome": ["verified", "missed"],
        "billed_min": [30, 0],
        "verified_gbp": [11.63, 0.0],
        "flag_kinds": ["", "visit_without_note;short_call"],
    }
    flag = {c: ["x"] for c in AUDIT_OUTPUT_COLUMNS["audit_flag"]}
    flag |= {"minutes_at_stake": [12.5], "amount_gbp": [4.85], "related_record_id": [None]}
    month = {c: [1] for c in AUDIT_OUTPUT_COLUMNS["provider_month"]}
    month |= {"provider_id": ["P1"], "month": ["2026-10"], "variance_pct": [float("nan")]}
    priority = {c: [None] for c in AUDIT_OUTPUT_COLUMNS["review_priority"]}
    priority |= {"rank": [1], "service_user_id": ["S1"], "reasons": ["Four calls a day."]}
    return {
        "visit_outcome": pd.DataFrame(outcome),
        "audit_flag": pd.DataFrame(flag),
        "provider_month": pd.DataFrame(month),
        "review_priority": pd.DataFrame(priority),
    }


def test_audit_run_round_trip(engine):
    """An audit run's four outputs read back with their contract columns and values."""
    first = write_audit_run(
        engine, _audit_frames(), {"month": "2026-10", "when": datetime(2026, 11, 1)}
    )
    second = write_audit_run(engine, _audit_frames(), {})
    assert latest_audit_run(engine) == second > first
    for name, columns in AUDIT_OUTPUT_COLUMNS.items():
        frame = read_audit_table(engine, name, run_id=first)
        assert list(frame.columns) == list(columns)
        assert len(frame) == len(_audit_frames()[name])
    outcomes = read_audit_table(engine, "visit_outcome", provider_id="P2")
    assert outcomes.loc[0, "flag_kinds"] == "visit_without_note;short_call"
    assert outcomes.loc[0, "billed_min"] == 0
    flags = read_audit_table(engine, "audit_flag")
    assert flags.loc[0, "amount_gbp"] == pytest.approx(4.85)
    assert read_audit_table(engine, "review_priority").loc[0, "rank"] == 1


def test_audit_run_in_callers_transaction_rolls_back(engine, connection):
    """Given a connection, the run joins the caller's transaction and vanishes on rollback."""
    before = database_digest(engine)
    run_id = write_audit_run(connection, _audit_frames(), {})
    assert run_id >= 1
    assert connection.execute(text("SELECT COUNT(*) FROM audit_flags")).scalar_one() == 1
    connection.rollback()
    assert database_digest(engine) == before


def test_postgis_point_follows_lat_lon(engine, load_kinds):
    """On PostgreSQL the geometry of a service user is generated from its lat/lon."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostGIS columns exist on PostgreSQL only")
    load_kinds(engine, kinds=("service_user",))
    with engine.connect() as conn:
        x, y, srid = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM service_users "
                "WHERE service_user_id = 'S1'"
            )
        ).one()
    assert (x, y, srid) == (pytest.approx(-0.241), pytest.approx(52.571), 4326)


def test_import_batch_repository_pages_newest_first(engine, load_kinds):
    """The repository lists batches newest first and counts them by status."""
    from sqlalchemy.orm import Session

    from data.storage import ImportBatchRepository

    results = load_kinds(engine, kinds=("provider", "carer"))
    with Session(engine) as session:
        repository = ImportBatchRepository(session)
        assert [b.record_kind for b in repository.page()] == ["carer", "provider"]
        assert repository.count(status="imported") == 2
        assert repository.by_sha256(results["provider"].sha256).id == results["provider"].batch_id
        assert repository.get(results["carer"].batch_id).rows_inserted == 2


def test_backup_and_restore_drill(engine, database_url, load_kinds, fresh_database_url, tmp_path):
    """RELIABILITY #12: a restored backup has the same row counts and digests as the original."""
    from data.storage import backup_database, restore_database

    load_kinds(engine)
    write_audit_run(engine, _audit_frames(), {"month": "2026-10"})
    original = database_digest(engine)
    backup = backup_database(engine, tmp_path / "backup" / "carerounds.backup")
    restored_url = fresh_database_url(database_url)
    restore_database(restored_url, backup)
    restored = create_engine_for(restored_url)
    try:
        assert database_digest(restored) == original
        assert len(read_records(restored, "ecm_visit")) == 2
    finally:
        restored.dispose()
