"""Engines and the schema: SQLite pragmas, and Alembic run programmatically from the package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from data.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# How long a SQLite writer waits for another writer (an ingest of a million rows takes ~20 s).
SQLITE_BUSY_TIMEOUT_S = 600.0


def is_postgresql(engine: Engine) -> bool:
    """True when the engine talks to PostgreSQL (the only other supported database is SQLite)."""
    return engine.dialect.name == "postgresql"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN, so transactions and SAVEPOINTs behave.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer writes; synchronous=NORMAL keeps every committed
    # transaction across a process crash (kill -9) but may lose the last ones on power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with the pragmas the product relies on.

    SQLite runs in WAL mode with ``synchronous=NORMAL``, foreign keys on and a long busy
    timeout; PostgreSQL URLs without a driver use psycopg 3.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, **kwargs)
    raise StorageError(f"Unsupported database {backend!r}; expected sqlite or postgresql.")


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates %, which URL-encoded passwords contain.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (``alembic upgrade head``), no ini needed."""
    from alembic import command

    _ensure_sqlite_directory(url)
    command.upgrade(_alembic_config(url), revision)


def downgrade_schema(url: str, revision: str = "base") -> None:
    """Take the database at ``url`` down to ``revision`` (``alembic downgrade``)."""
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def migration_heads() -> tuple[str, ...]:
    """The head revisions of the migration scripts (exactly one when healthy)."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(_alembic_config("sqlite://")).get_heads())


def migration_revisions() -> tuple[str, ...]:
    """Every revision from base to head, in upgrade order."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    return tuple(reversed([r.revision for r in script.walk_revisions("base", "heads")]))


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it is empty."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(engine: Engine) -> list[Any]:
    """What Alembic autogenerate finds between the models and the database (empty when equal)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data.storage._base import Base
    from data.storage._schema import include_name, include_object

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": include_object,
                "include_name": include_name,
            },
        )
        return list(compare_metadata(context, Base.metadata))


def _ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
