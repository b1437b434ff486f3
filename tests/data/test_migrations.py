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
