"""Ingest one export file: map, validate, stage and store it, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from data.errors import IngestError, UnknownColumnError
from data.ingestion._mapping import ColumnMapping, load_mapping, mapping_from_dict
from data.ingestion._readers import file_format, known_keys, read_file, scan_file
from data.ingestion._validate import ChunkValidator
from data.records import RECORD_KINDS, RecordKind
from data.storage import ExistingImport, record_failed_import, staged_import

# (record kind, column) -> record kind the column refers to.
REFERENCES: dict[str, dict[str, str]] = {
    "carer": {"provider_id": "provider"},
    "package": {"service_user_id": "service_user", "provider_id": "provider"},
    "call": {"package_id": "package"},
    "ecm_visit": {
        "provider_id": "provider",
        "service_user_id": "service_user",
        "carer_id": "carer",
        "call_id": "call",
    },
    "care_note": {"service_user_id": "service_user", "carer_id": "carer"},
}

# progress(rows done, rows expected or None when unknown)
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What importing one file did.

    ``rows`` records were read; ``rows_inserted`` were new (the others were already stored
    under the same natural key). ``already_imported`` means a file with identical content
    was imported before, and nothing at all was written.
    """

    file: str
    kind: str
    batch_id: int
    sha256: str
    rows: int
    rows_inserted: int
    already_imported: bool

    @property
    def rows_skipped(self) -> int:
        """Records whose id was already stored."""
        return self.rows - self.rows_inserted


def _resolve_mapping(
    mapping: ColumnMapping | Mapping[str, Any] | str | Path | None,
) -> ColumnMapping:
    if mapping is None:
        return ColumnMapping()
    if isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, str | Path):
        return load_mapping(mapping)
    return mapping_from_dict(mapping)


def _canonical_names() -> dict[str, str]:
    return {c.lower(): c for k in RECORD_KINDS.values() for c in k.column_names}


def _map_header(header: list[str], mapping: ColumnMapping) -> dict[str, str | None]:
    """Source header -> canonical name (None: ignored; unchanged text: unknown)."""
    canonical = _canonical_names()
    mapped_lower = {k.strip().lower(): v for k, v in mapping.columns.items()}
    ignored = {c.strip().lower() for c in mapping.ignore_columns}
    out: dict[str, str | None] = {}
    for name in header:
        lowered = name.lower()
        if name in mapping.columns:
            out[name] = mapping.columns[name]
        elif lowered in mapped_lower:
            out[name] = mapped_lower[lowered]
        elif lowered in ignored:
            out[name] = None
        else:
            out[name] = canonical.get(lowered.replace(" ", "_"), name)
    return out


def detect_kind(columns: set[str], label: str) -> RecordKind:
    """The record kind whose natural key is present and whose columns best match the headers."""
    scored = sorted(
        (
            (len(columns & set(k.column_names)) - len(columns - set(k.column_names)), k.name)
            for k in RECORD_KINDS.values()
            if k.key in columns
        ),
        reverse=True,
    )
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        raise IngestError(
            "Cannot tell which record kind the file holds from its headers; "
            "give the kind, or a mapping file with a kind.",
            file=label,
            row=1,
        )
    return RECORD_KINDS[scored[0][1]]


def _columns_for(
    names: dict[str, str | None], kind: RecordKind, mapping: ColumnMapping, label: str
) -> dict[str, str]:
    """Source header -> canonical column of ``kind``, after checking nothing is missing or odd."""
    kept: dict[str, str] = {}
    for source, target in names.items():
        if target is None:
            continue
        if target not in kind.column_names:
            if mapping.ignore_unknown_columns:
                continue
            raise IngestError(
                f"Unknown column for {kind.name} records; map it or list it in ignore_columns.",
                file=label,
                row=1,
                field=source,
            )
        if target in kept.values():
            raise IngestError(
                f"Two headers give the column {target!r}.", file=label, row=1, field=source
            )
        kept[source] = target
    for required in kind.required_names:
        if required not in kept.values():
            raise UnknownColumnError(
                f"The required column {required!r} of {kind.name} records is missing.",
                file=label,
                row=1,
                field=required,
            )
    return kept


class _FileChecks:
    """Duplicate ids and references, gathered chunk by chunk (the ids kept: ~20 MB a million)."""

    def __init__(self, kind: RecordKind, mapping: ColumnMapping):
        self.kind = kind
        self.keys: list[pa.ChunkedArray] = []
        self.key_rows: list[np.ndarray] = []
        wanted = REFERENCES.get(kind.name, {}) if mapping.check_references else {}
        self.references = {column: target for column, target in wanted.items()}
        # column -> referenced id -> first row naming it
        self.first_rows: dict[str, dict[str, int]] = {c: {} for c in self.references}

    def add(self, table: pa.Table) -> None:
        """Take a validated chunk (``source_row`` and canonical columns)."""
        rows = table.column("source_row").to_numpy()
        self.keys.append(table.column(self.kind.key))
        self.key_rows.append(rows)
        for column, seen in self.first_rows.items():
            encoded = table.column(column).combine_chunks().dictionary_encode()
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            present = ~np.isnan(codes) if codes.dtype.kind == "f" else np.ones(len(codes), bool)
            codes, present_rows = codes[present].astype(np.int64), rows[present]
            values = encoded.dictionary.to_pylist()
            uniques, first = np.unique(codes, return_index=True)
            for code, row in zip(uniques, present_rows[first], strict=True):
                seen.setdefault(values[code], int(row))

    def first_duplicate(self) -> tuple[int, str] | None:
        """(row, id) of the first row whose id an earlier row of the file already used."""
        if not self.keys:
            return None
        keys = pa.chunked_array([c for k in self.keys for c in k.chunks], pa.string())
        if pc.count_distinct(keys).as_py() == len(keys):
            return None
        repeated = pd.Series(keys.to_numpy(zero_copy_only=False)).duplicated().to_numpy()
        at = int(np.argmax(repeated))
        return int(np.concatenate(self.key_rows)[at]), str(keys[at].as_py())


def ingest_file(
    engine: Engine,
    path: str | Path,
    *,
    kind: str | None = None,
    mapping: ColumnMapping | Mapping[str, Any] | str | Path | None = None,
    progress: Progress | None = None,
    record_failure: bool = False,
) -> ImportResult:
    """Import one CSV, XLSX or JSON export file, all or nothing, in one transaction.

    Parameters
    ----------
    engine
        Engine from ``data.storage.create_engine_for`` on a migrated database.
    path
        ``.csv``, ``.xlsx``, ``.json`` (an array of objects) or ``.jsonl`` (JSON Lines).
    kind
        Record kind; default the mapping's, else detected from the headers.
    mapping
        A ``ColumnMapping``, its dict form, or a JSON/TOML mapping file.
    progress
        Called as ``progress(rows_done, rows_expected)`` after each chunk (expected may be an
        estimate, or None when unknown) and once at the end with the exact count.
    record_failure
        After a rejected file, keep a 'failed' row in ``import_batches`` (off by default, so
        a rejected file leaves every table exactly as it was).

    Returns
    -------
    ImportResult
        ``already_imported`` when a file with identical content was imported before.

    Raises
    ------
    IngestError
        The file breaks the contract; names file, row (header = row 1) and field.
    MappingError
        The mapping itself is malformed.
    StorageError
        The database refused the import.
    """
    path = Path(path)
    label = path.name
    resolved = _resolve_mapping(mapping)
    if kind is not None and kind not in RECORD_KINDS:
        raise IngestError(f"Unknown record kind {kind!r}.", file=label)
    if not path.is_file():
        raise IngestError("No such file.", file=label)
    text = file_format(path) != "xlsx"
    scan = scan_file(
        path,
        label,
        text_encoding=resolved.python_encoding if text else None,
        json_keys=known_keys(resolved) if file_format(path) == "json" else None,
    )
    header, chunks = read_file(path, resolved, label)
    names = _map_header(header, resolved)
    wanted_kind = kind or resolved.kind
    record_kind = (
        RECORD_KINDS[wanted_kind]
        if wanted_kind
        else detect_kind({n for n in names.values() if n is not None}, label)
    )
    columns = _columns_for(names, record_kind, resolved, label)
    try:
        return _store(engine, record_kind, resolved, label, scan.sha256, columns, chunks, progress)
    except IngestError as exc:
        if record_failure:
            record_failed_import(
                engine, file_name=label, sha256=scan.sha256, kind=record_kind.name, error=str(exc)
            )
        raise
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _store(
    engine: Engine,
    kind: RecordKind,
    mapping: ColumnMapping,
    label: str,
    sha256: str,
    columns: dict[str, str],
    chunks: Any,
    progress: Progress | None,
) -> ImportResult:
    validator = ChunkValidator(kind, mapping, label)
    checks = _FileChecks(kind, mapping)
    sources = list(columns)
    with staged_import(engine, file_name=label, sha256=sha256, kind=kind) as staged:
        if isinstance(staged, ExistingImport):
            return ImportResult(
                file=label,
                kind=staged.record_kind,
                batch_id=staged.batch_id,
                sha256=sha256,
                rows=staged.row_count,
                rows_inserted=0,
                already_imported=True,
            )
        rows_done = 0
        for chunk in chunks:
            frame = chunk.frame[sources]
            frame.columns = [columns[s] for s in sources]
            table = validator.validate(frame, chunk.rows)
            checks.add(table)
            staged.append(table)
            rows_done += len(frame)
            if progress is not None:
                expected = round(rows_done / chunk.fraction_done) if chunk.fraction_done else None
                progress(rows_done, expected)
        duplicate = checks.first_duplicate()
        if duplicate is not None:
            row, key = duplicate
            raise IngestError(
                f"The id {key[:64]!r} is already used by an earlier row of this file.",
                file=label,
                row=row,
                field=kind.key,
            )
        for column, target in checks.references.items():
            seen = checks.first_rows[column]
            missing = staged.missing_ids(target, seen)
            if missing:
                value = min(missing, key=lambda v: seen[v])
                raise IngestError(
                    f"{column} {value[:64]!r} names no stored {target.replace('_', ' ')}; "
                    f"import the {target.replace('_', ' ')}s first.",
                    file=label,
                    row=seen[value],
                    field=column,
                )
        inserted = staged.finish(rows_done)
    if progress is not None:
        progress(rows_done, rows_done)
    return ImportResult(
        file=label,
        kind=kind.name,
        batch_id=staged.batch_id,
        sha256=sha256,
        rows=rows_done,
        rows_inserted=inserted,
        already_imported=False,
    )
