"""Bulk load of one file's validated records: one transaction, COPY-class paths, natural keys.

``staged_import`` opens the transaction, claims the file's sha256 in ``import_batches`` (a
concurrent importer of the same file waits, then sees "already imported"), and yields a
``StagedImport`` that takes validated Arrow chunks into a TEMP staging table: PostgreSQL via
psycopg 3 ``COPY``, SQLite via ``executemany`` on the raw sqlite3 connection. ``finish`` moves
the rows into the record table with ``INSERT ... SELECT ... ON CONFLICT (natural key) DO
NOTHING`` and commits. Any exception rolls the whole file back.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, Table

from data.errors import StorageError
from data.records import RECORD_KINDS, RecordKind
from data.storage._models import RECORD_MODELS

STAGING_TABLE = "carerounds_staging"
# SQLite allows 32766 bound parameters; stay well below for IN (...) look-ups.
_IN_BATCH = 500


@dataclass(frozen=True, slots=True)
class ExistingImport:
    """The batch that already imported a file with the same content."""

    batch_id: int
    record_kind: str
    row_count: int


def record_table(kind: str) -> Table:
    """The table of a record kind."""
    table = RECORD_MODELS[kind].__table__
    assert isinstance(table, Table)
    return table


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


class StagedImport:
    """One file's import in progress, inside its own transaction."""

    def __init__(self, dbapi: Any, dialect: str, kind: RecordKind, batch_id: int, file_name: str):
        self._dbapi = dbapi
        self._dialect = dialect
        self.kind = kind
        self.batch_id = batch_id
        self.file_name = file_name
        self.rows_staged = 0
        self._columns = ("source_row", *kind.column_names)
        self._create_staging()

    @property
    def is_postgresql(self) -> bool:
        return self._dialect == "postgresql"

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        cursor = self._dbapi.cursor()
        cursor.execute(sql, tuple(params))
        return cursor

    def _create_staging(self) -> None:
        target = record_table(self.kind.name)
        dialect = self._sqlalchemy_dialect()
        columns = ["source_row INTEGER"] + [
            f"{name} {target.columns[name].type.compile(dialect=dialect)}"
            for name in self.kind.column_names
        ]
        self._execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
        suffix = " ON COMMIT DROP" if self.is_postgresql else ""
        self._execute(f"CREATE TEMPORARY TABLE {STAGING_TABLE} ({', '.join(columns)}){suffix}")

    def _sqlalchemy_dialect(self) -> Any:
        if self.is_postgresql:
            from sqlalchemy.dialects import postgresql

            return postgresql.dialect()
        from sqlalchemy.dialects import sqlite

        return sqlite.dialect()

    def append(self, chunk: pa.Table) -> None:
        """Stage one validated chunk: ``source_row`` then the kind's canonical columns, typed."""
        chunk = chunk.select(list(self._columns))
        names = ", ".join(self._columns)
        if self.is_postgresql:
            buffer = io.BytesIO()
            pacsv.write_csv(chunk, buffer, pacsv.WriteOptions(include_header=False))
            cursor = self._dbapi.cursor()
            with cursor.copy(f"COPY {STAGING_TABLE} ({names}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getbuffer())
        else:
            columns = [_sqlite_values(chunk.column(i)) for i in range(chunk.num_columns)]
            marks = ", ".join("?" * len(self._columns))
            self._dbapi.executemany(
                f"INSERT INTO {STAGING_TABLE} ({names}) VALUES ({marks})",
                zip(*columns, strict=True),
            )
        self.rows_staged += chunk.num_rows

    def first_duplicate(self) -> tuple[int, str] | None:
        """(row, id) of the first row whose natural key an earlier row of the file already used."""
        key = self.kind.key
        cursor = self._execute(
            f"SELECT source_row, {key} FROM (SELECT source_row, {key}, ROW_NUMBER() OVER "
            f"(PARTITION BY {key} ORDER BY source_row) AS n FROM {STAGING_TABLE}) AS ranked "
            "WHERE n > 1 ORDER BY source_row LIMIT 1"
        )
        row = cursor.fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def missing_ids(self, kind: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` no stored record of ``kind`` has (committed or in this transaction)."""
        wanted = sorted(set(ids))
        table = record_table(kind).name
        key = RECORD_KINDS[kind].key
        mark = "%s" if self.is_postgresql else "?"
        found: set[str] = set()
        for start in range(0, len(wanted), _IN_BATCH):
            batch = wanted[start : start + _IN_BATCH]
            cursor = self._execute(
                f"SELECT {key} FROM {table} WHERE {key} IN ({', '.join([mark] * len(batch))})",
                batch,
            )
            found.update(r[0] for r in cursor.fetchall())
        return set(wanted) - found

    def finish(self, rows_read: int) -> int:
        """Move the staged rows into the record table (existing ids kept); mark the batch done."""
        target = record_table(self.kind.name)
        names = ", ".join(self.kind.column_names)
        mark = "%s" if self.is_postgresql else "?"
        cursor = self._execute(
            f"INSERT INTO {target.name} ({names}, source_file, source_row, import_batch_id) "
            f"SELECT {names}, {mark}, source_row, {mark} FROM {STAGING_TABLE} WHERE true "
            f"ON CONFLICT ({self.kind.key}) DO NOTHING",
            (self.file_name, self.batch_id),
        )
        inserted = int(cursor.rowcount)
        self._execute(
            f"UPDATE import_batches SET status = 'imported', row_count = {mark}, "
            f"rows_inserted = {mark}, finished_at = {mark} WHERE id = {mark}",
            (rows_read, inserted, _now(), self.batch_id),
        )
        if not self.is_postgresql:
            self._execute(f"DROP TABLE {STAGING_TABLE}")
        return inserted


def _sqlite_values(column: pa.ChunkedArray) -> list[Any]:
    """Python values as SQLAlchemy's SQLite types store them (text datetimes, 0/1 booleans)."""
    type_ = column.type
    if pa.types.is_timestamp(type_) or pa.types.is_time(type_):
        # "2024-01-02 08:00:00.000000" and "07:00:00.000000": SQLAlchemy's SQLite formats.
        return pc.cast(
            column.cast(pa.timestamp("us")) if pa.types.is_timestamp(type_) else column, pa.string()
        ).to_pylist()
    if pa.types.is_date(type_):
        return pc.cast(column, pa.string()).to_pylist()
    if pa.types.is_boolean(type_):
        return pc.cast(column, pa.int8()).to_pylist()
    return column.to_pylist()


@contextmanager
def staged_import(
    engine: Engine, *, file_name: str, sha256: str, kind: RecordKind
) -> Iterator[StagedImport | ExistingImport]:
    """One file's all-or-nothing import; yields ExistingImport when the content is known.

    The caller appends chunks, runs its checks and calls ``finish``; leaving the block
    normally commits, an exception rolls everything back (nothing of the file remains).
    """
    raw = engine.raw_connection()
    dbapi: Any = raw.driver_connection
    dialect = engine.dialect.name
    postgresql = dialect == "postgresql"
    mark = "%s" if postgresql else "?"
    try:
        if not postgresql:
            # A bigger page cache keeps index pages of a million-row load in memory.
            dbapi.execute("PRAGMA cache_size = -262144")
            dbapi.execute("PRAGMA temp_store = MEMORY")
            # Take the write lock now, so concurrent importers queue instead of deadlocking.
            dbapi.execute("BEGIN IMMEDIATE")
        cursor = dbapi.cursor()
        cursor.execute(
            "INSERT INTO import_batches (file_name, sha256, record_kind, row_count, rows_inserted, "
            f"status, started_at) VALUES ({mark}, {mark}, {mark}, 0, 0, 'importing', {mark}) "
            "ON CONFLICT (sha256) WHERE status <> 'failed' DO NOTHING RETURNING id",
            (file_name, sha256, kind.name, _now()),
        )
        claimed = cursor.fetchone()
        if claimed is None:
            cursor.execute(
                "SELECT id, record_kind, row_count FROM import_batches "
                f"WHERE sha256 = {mark} AND status <> 'failed'",
                (sha256,),
            )
            found = cursor.fetchone()
            dbapi.rollback()
            if found is None:  # pragma: no cover - the claim lost to a batch that then failed
                raise StorageError(f"Could not claim the import of {file_name}; try again.")
            yield ExistingImport(int(found[0]), str(found[1]), int(found[2]))
            return
        staged = StagedImport(dbapi, dialect, kind, int(claimed[0]), file_name)
        yield staged
        dbapi.commit()
    except engine.dialect.loaded_dbapi.Error as exc:
        dbapi.rollback()
        error = StorageError(
            f"The database refused the import of {file_name}: {type(exc).__name__}."
        )
        if kind.sensitive_columns:
            # The driver's message may quote a failing row, care-note text included.
            raise error from None
        raise error from exc
    except BaseException:
        dbapi.rollback()
        raise
    finally:
        raw.close()


def record_failed_import(
    engine: Engine, *, file_name: str, sha256: str, kind: str, error: str
) -> int:
    """Keep a 'failed' batch row for an import that was rolled back; returns its id.

    Optional: ingestion calls it only when asked, because it changes ``import_batches``.
    """
    from sqlalchemy import insert

    from data.storage._models import ImportBatch

    with engine.begin() as conn:
        result = conn.execute(
            insert(ImportBatch).returning(ImportBatch.id),
            {
                "file_name": file_name,
                "sha256": sha256,
                "record_kind": kind,
                "row_count": 0,
                "rows_inserted": 0,
                "status": "failed",
                "started_at": _now(),
                "finished_at": _now(),
                "error_message": error[:2000],
            },
        )
        return int(result.scalar_one())
