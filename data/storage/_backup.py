"""Backup and restore of the whole database (RELIABILITY #12: the restore drill).

SQLite uses the online backup API (a consistent copy while others read and write);
PostgreSQL uses ``pg_dump --format=custom`` and ``pg_restore`` (client tools on PATH).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from data.errors import StorageError


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StorageError(f"{name} is not on PATH; install the PostgreSQL client tools.")
    return found


def backup_database(engine: Engine, path: str | Path) -> Path:
    """Write a consistent backup of the database behind ``engine`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            with sqlite3.connect(path) as target:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            target.close()
        finally:
            raw.close()
        return path
    url = engine.url.render_as_string(hide_password=False)
    completed = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={path}", _libpq(url)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise StorageError(f"pg_dump failed: {completed.stderr.strip()[:500]}")
    return path


def restore_database(url: str, path: str | Path) -> None:
    """Restore a backup from ``backup_database`` into the (empty) database at ``url``."""
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"No backup at {path}.")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target_path = Path(parsed.database or "")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as source, sqlite3.connect(target_path) as target:
            source.backup(target)
        source.close()
        target.close()
        return
    completed = subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            f"--dbname={_libpq(url)}",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise StorageError(f"pg_restore failed: {completed.stderr.strip()[:500]}")
