"""Database fixtures: the same tests run on SQLite and on PostgreSQL + PostGIS.

PostgreSQL comes from env ``CAREROUNDS_TEST_PG_URL`` (default: the local server, user postgres).
Each test session creates its own database (PostGIS enabled) and drops it at the end. When the
server is unreachable the PostgreSQL variants are skipped locally and fail when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from data.storage import Base, create_engine_for, upgrade_schema

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _create_pg_database(server_url: str) -> str:
    import psycopg

    name = f"carerounds_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
    with psycopg.connect(_libpq(url.render_as_string(hide_password=False))) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url.render_as_string(hide_password=False)


def _drop_pg_database(server_url: str, url: str) -> None:
    import psycopg

    name = make_url(url).database
    with psycopg.connect(_libpq(server_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A reachable PostgreSQL server, or a skip (a failure when CI=true) saying why not."""
    import psycopg

    url = os.environ.get("CAREROUNDS_TEST_PG_URL", PG_DEFAULT_URL)
    try:
        with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL unreachable at {make_url(url)!r}: {exc}".strip()
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database with PostGIS for this test session, dropped at the end."""
    url = _create_pg_database(postgres_server_url)
    yield url
    _drop_pg_database(postgres_server_url, url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty-or-migrated test database: a SQLite file, or the session's PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'carerounds.sqlite'}"
    return str(request.getfixturevalue("postgres_database_url"))


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of a brand-new empty database (for migration tests), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    url = _create_pg_database(server_url)
    yield url
    _drop_pg_database(server_url, url)


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator:
    """A factory: a brand-new empty database of the same kind as a given URL, dropped after."""
    created: list[tuple[str, str]] = []

    def make(like_url: str) -> str:
        if like_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'fresh{len(created)}.sqlite'}"
        server_url = request.getfixturevalue("postgres_server_url")
        url = _create_pg_database(server_url)
        created.append((server_url, url))
        return url

    yield make
    for server_url, url in created:
        _drop_pg_database(server_url, url)


_MIGRATED: set[str] = set()


@pytest.fixture(scope="session")
def _sqlite_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests start from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "head.sqlite"
    upgrade_schema(f"sqlite:///{path}")
    return path


def _clean_all_tables(engine: Engine) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def engine(request: pytest.FixtureRequest, database_url: str) -> Iterator[Engine]:
    """An engine on a database at the migrated head; every table is empty again afterwards."""
    sqlite_file = make_url(database_url).database if database_url.startswith("sqlite") else None
    if sqlite_file and not Path(sqlite_file).exists():
        shutil.copyfile(request.getfixturevalue("_sqlite_at_head"), sqlite_file)
    elif database_url not in _MIGRATED:
        upgrade_schema(database_url)
        if database_url.startswith("postgresql"):
            _MIGRATED.add(database_url)
    engine = create_engine_for(database_url)
    try:
        yield engine
    finally:
        # Ingest commits (one transaction per file), so the shared PostgreSQL database is
        # emptied after each test; each SQLite test has its own file.
        if engine.dialect.name == "postgresql":
            _clean_all_tables(engine)
        engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back at the end of the test."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session on the rolled-back connection; its commits become savepoints."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session
