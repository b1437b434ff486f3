"""Alembic owns the schema: one head, upgrade from empty, models match DDL, up/down each step."""

from __future__ import annotations

from sqlalchemy import inspect

from data.storage import (
    POSTGIS_POINTS,
    Base,
    create_engine_for,
    current_revision,
    downgrade_schema,
    migration_heads,
    migration_revisions,
    schema_differences,
    upgrade_schema,
)


def test_single_head():
    """The migration scripts have exactly one head."""
    assert len(migration_heads()) == 1


def test_upgrade_from_empty_matches_models(empty_database_url):
    """Upgrading an empty database to head yields exactly the tables and columns of the models."""
    upgrade_schema(empty_database_url)
    engine = create_engine_for(empty_database_url)
    try:
        assert current_revision(engine) == migration_heads()[0]
        assert schema_differences(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_every_revision_downgrades_and_upgrades(empty_database_url):
    """Each revision upgrades, downgrades to its predecessor, and upgrades again cleanly."""
    revisions = migration_revisions()
    previous = "base"
    for revision in revisions:
        upgrade_schema(empty_database_url, revision)
        downgrade_schema(empty_database_url, previous)
        upgrade_schema(empty_database_url, revision)
        previous = revision
    engine = create_engine_for(empty_database_url)
    try:
        assert schema_differences(engine) == []
        downgrade_schema(empty_database_url, "base")
        assert current_revision(engine) is None
        left = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
        assert left == set()
    finally:
        engine.dispose()


def test_postgis_points_only_on_postgresql(engine):
    """PostgreSQL gets a generated geometry column from lat/lon; SQLite has plain lat/lon only."""
    columns = {c["name"] for c in inspect(engine).get_columns("service_users")}
    if engine.dialect.name == "postgresql":
        assert all(
            "geom" in {c["name"] for c in inspect(engine).get_columns(t)} for t in POSTGIS_POINTS
        )
    else:
        assert "geom" not in columns
    assert {"lat", "lon"} <= columns
    assert "ecm_visits" not in POSTGIS_POINTS
    assert "geom" not in {c["name"] for c in inspect(engine).get_columns("ecm_visits")}


def _ecm_visit_shape(url: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The ecm_visits columns (name, type, generation expression) and index names at ``url``."""
    engine = create_engine_for(url)
    try:
        inspector = inspect(engine)
        columns = [
            (c["name"], str(c["type"]), str((c.get("computed") or {}).get("sqltext", "")))
            for c in inspector.get_columns("ecm_visits")
        ]
        indexes = sorted(str(i["name"]) for i in inspector.get_indexes("ecm_visits"))
        return columns, indexes
    finally:
        engine.dispose()


def test_0004_drops_the_ecm_visit_point_and_downgrade_restores_it(empty_database_url):
    """0004 drops ecm_visits.geom on PostgreSQL (no-op on SQLite); downgrade restores 0001's."""
    upgrade_schema(empty_database_url, "0003_audit_provider")
    at_0003 = _ecm_visit_shape(empty_database_url)
    upgrade_schema(empty_database_url, "0004_drop_ecm_point")
    at_0004 = _ecm_visit_shape(empty_database_url)
    assert "geom" not in {name for name, _, _ in at_0004[0]}
    assert "ix_ecm_visits_geom" not in at_0004[1]
    if empty_database_url.startswith("postgresql"):
        assert ("geom", "geometry(POINT,4326)") in {(n, t) for n, t, _ in at_0003[0]}
        assert at_0004[0] == [c for c in at_0003[0] if c[0] != "geom"]
    else:
        assert at_0004 == at_0003
    downgrade_schema(empty_database_url, "0003_audit_provider")
    assert _ecm_visit_shape(empty_database_url) == at_0003
    upgrade_schema(empty_database_url)
    assert _ecm_visit_shape(empty_database_url) == at_0004
    engine = create_engine_for(empty_database_url)
    try:
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
