"""Audit runs and their four output tables (``AUDIT_OUTPUT_COLUMNS``), written and read in bulk."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Double, Engine, Integer, Table, func, insert, select
from sqlalchemy.orm import Session

from data.records import AUDIT_OUTPUT_COLUMNS
from data.storage._models import AUDIT_MODELS, AuditRun
from data.storage._records import _read_postgresql, _read_sqlite


def _table(name: str) -> Table:
    if name not in AUDIT_MODELS:
        raise ValueError(f"Unknown audit table {name!r}; expected one of {sorted(AUDIT_MODELS)}.")
    table = AUDIT_MODELS[name].__table__
    assert isinstance(table, Table)
    return table


def _arrow_type(table: Table, name: str) -> pa.DataType:
    type_ = table.columns[name].type
    if isinstance(type_, Integer):
        return pa.int64()
    if isinstance(type_, Double):
        return pa.float64()
    return pa.string()


def _arrow_frame(name: str, frame: pd.DataFrame, run_id: int) -> pa.Table:
    table = _table(name)
    columns = AUDIT_OUTPUT_COLUMNS[name]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"Audit output {name!r} lacks columns {missing}.")
    arrays: list[pa.Array] = [pa.array([run_id] * len(frame), pa.int64())]
    for column in columns:
        type_ = _arrow_type(table, column)
        values = frame[column]
        if pa.types.is_string(type_):
            text = values.astype("object").where(values.notna(), None)
            arrays.append(pa.array([None if v is None else str(v) for v in text], type_))
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            arrays.append(
                pa.array(numbers.to_numpy(dtype="float64"), pa.float64(), from_pandas=True).cast(
                    type_, safe=False
                )
            )
    return pa.Table.from_arrays(arrays, names=["audit_run_id", *columns])


def _connection_of(target: Engine | Connection | Session) -> Connection:
    if isinstance(target, Session):
        return target.connection()
    assert isinstance(target, Connection)
    return target


def write_audit_run(
    target: Engine | Connection | Session,
    frames: Mapping[str, pd.DataFrame],
    params: Mapping[str, Any],
) -> int:
    """Store one audit run and its output frames; returns the run id.

    ``frames`` maps each ``AUDIT_OUTPUT_COLUMNS`` key to a frame with (at least) its columns.
    Given an Engine, the run is written and committed in one transaction; given a Connection
    or Session, it joins the caller's transaction and the caller commits or rolls back.
    """
    if isinstance(target, Engine):
        with target.begin() as connection:
            return write_audit_run(connection, frames, params)
    connection = _connection_of(target)
    stored_params = json.loads(json.dumps(dict(params), default=str))
    run_id = int(
        connection.execute(
            insert(AuditRun).returning(AuditRun.id),
            {"created_at": datetime.now().replace(microsecond=0), "params": stored_params},
        ).scalar_one()
    )
    for name in AUDIT_OUTPUT_COLUMNS:
        if name in frames:
            _bulk_insert(connection, _table(name), _arrow_frame(name, frames[name], run_id))
    return run_id


def _bulk_insert(connection: Connection, table: Table, rows: pa.Table) -> None:
    if rows.num_rows == 0:
        return
    names = ", ".join(rows.column_names)
    dbapi = connection.connection.driver_connection
    assert dbapi is not None
    if connection.dialect.name == "postgresql":
        buffer = io.BytesIO()
        pacsv.write_csv(rows, buffer, pacsv.WriteOptions(include_header=False))
        with dbapi.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())
    else:
        marks = ", ".join("?" * rows.num_columns)
        columns = [rows.column(i).to_pylist() for i in range(rows.num_columns)]
        dbapi.executemany(
            f"INSERT INTO {table.name} ({names}) VALUES ({marks})", zip(*columns, strict=True)
        )


def latest_audit_run(engine: Engine) -> int | None:
    """Id of the most recent audit run, or None when there is none."""
    with engine.connect() as connection:
        return connection.execute(select(func.max(AuditRun.id))).scalar_one_or_none()


def read_audit_table(
    engine: Engine,
    name: str,
    *,
    run_id: int | None = None,
    provider_id: str | None = None,
    month: str | None = None,
) -> pd.DataFrame:
    """One audit output of a run (default: the latest) with exactly its contract columns.

    Rows come back in the order they were written; ``provider_id`` and ``month`` filter
    tables that have those columns.
    """
    table = _table(name)
    columns = AUDIT_OUTPUT_COLUMNS[name]
    if run_id is None:
        run_id = latest_audit_run(engine)
    schema = pa.schema([pa.field(c, _arrow_type(table, c)) for c in columns])
    if run_id is None:
        return schema.empty_table().to_pandas()
    conditions: list[str] = ["audit_run_id = {p}"]
    params: list[Any] = [run_id]
    for column, value in (("provider_id", provider_id), ("month", month)):
        if value is not None and column in columns:
            conditions.append(f"{column} = {{p}}")
            params.append(value)
    sql = (
        f"SELECT {', '.join(columns)} FROM {table.name} "
        f"WHERE {' AND '.join(conditions)} ORDER BY id"
    )
    if engine.dialect.name == "postgresql":
        arrow = _read_postgresql(engine, sql, params, schema)
    else:
        arrow = _read_sqlite(engine, sql, params, schema)
    frame = arrow.to_pandas()
    for column in columns:
        if pa.types.is_integer(schema.field(column).type):
            frame[column] = frame[column].astype("Int64")
    return frame
