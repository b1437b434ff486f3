"""Order-independent digests of table contents, to show an operation changed nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, column, inspect, select, table

_FETCH_ROWS = 50_000


def table_digest(engine: Engine, table_name: str, *, exclude: Iterable[str] = ()) -> str:
    """SHA-256 over the sorted per-row hashes of every row of a table (row order irrelevant).

    ``exclude`` leaves columns out (for instance ids and timestamps when comparing two runs).
    The PostGIS ``geom`` column is always left out: it is derived from lat/lon.
    """
    skip = {*exclude, "geom"}
    names = [c["name"] for c in inspect(engine).get_columns(table_name) if c["name"] not in skip]
    statement: Any = select(*(column(n) for n in names)).select_from(table(table_name))
    row_hashes: list[bytes] = []
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(statement)
        for rows in result.partitions(_FETCH_ROWS):
            row_hashes.extend(hashlib.sha256(repr(tuple(r)).encode()).digest() for r in rows)
    digest = hashlib.sha256(f"{table_name}:{len(row_hashes)}".encode())
    for row_hash in sorted(row_hashes):
        digest.update(row_hash)
    return digest.hexdigest()


def database_digest(engine: Engine, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """``table_digest`` of every table in the database (except Alembic's and PostGIS's own)."""
    skip = {"alembic_version", "spatial_ref_sys"}
    names = sorted(n for n in inspect(engine).get_table_names() if n not in skip)
    return {name: table_digest(engine, name, exclude=exclude) for name in names}
