"""Readers of CSV, XLSX and JSON exports: the header, then chunks of text cells with row numbers.

Every reader yields all cells as text (validation types them) and numbers rows as a person
counts them in a spreadsheet: the header is row 1, the first record row 2. For JSON the first
object is row 2 too, so an export and its CSV twin name the same rows.

CSV streams through pyarrow in blocks; JSON Lines streams line by line; XLSX streams with
openpyxl's read-only mode; a JSON array is parsed whole (prefer JSON Lines for big files).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from data.errors import IngestError
from data.ingestion._mapping import ColumnMapping
from data.records import RECORD_KINDS

CSV_BLOCK_BYTES = 16 << 20
ROWS_PER_CHUNK = 100_000
# Longest cell accepted anywhere; the contract's longest column is 4,000 characters.
MAX_CELL_CHARS = 100_000
FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json", ".jsonl": "json"}


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Text cells keyed by source header, the spreadsheet row of each, and progress so far."""

    frame: pd.DataFrame
    rows: np.ndarray
    fraction_done: float | None


@dataclass(frozen=True, slots=True)
class FileScan:
    """What one pass over the bytes found: content hash and size."""

    sha256: str
    size: int


def file_format(path: Path) -> str:
    """``csv``, ``xlsx`` or ``json``, from the file name."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise IngestError(
            f"Unsupported file type {path.suffix!r}; expected .csv, .xlsx, .json or .jsonl.",
            file=path.name,
        ) from None


def known_keys(mapping: ColumnMapping) -> frozenset[str]:
    """Header names a file may legitimately use: canonical columns and the mapping's."""
    canonical = {c for k in RECORD_KINDS.values() for c in k.column_names}
    return frozenset(canonical | set(mapping.columns) | set(mapping.ignore_columns))


def scan_file(
    path: Path, label: str, *, text_encoding: str | None, json_keys: frozenset[str] | None = None
) -> FileScan:
    """Hash the file; when ``text_encoding`` is given, also check every byte decodes.

    A decoding failure raises IngestError naming the row (line) and column of the bad byte.
    ``json_keys`` marks a JSON file: the column is then the known key before the bad byte.
    """
    digest = hashlib.sha256()
    decoder = None
    if text_encoding is not None:
        import codecs

        decoder = codecs.getincrementaldecoder(text_encoding)(errors="strict")
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            if decoder is not None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    _raise_encoding(
                        path, label, size + exc.start, text_encoding or "", exc, json_keys
                    )
            size += len(block)
        if decoder is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                _raise_encoding(path, label, size - 1, text_encoding or "", exc, json_keys)
    return FileScan(sha256=digest.hexdigest(), size=size)


def _raise_encoding(
    path: Path,
    label: str,
    offset: int,
    encoding: str,
    exc: Exception,
    json_keys: frozenset[str] | None,
) -> None:
    with path.open("rb") as handle:
        before = handle.read(offset + 1)
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    if json_keys is not None:
        with path.open("rb") as handle:
            handle.seek(line_start)
            whole = handle.readline()
        head = before[line_start:].decode(encoding, errors="replace")
        text = whole.decode(encoding, errors="replace")
        field = _key_before(text, len(head), json_keys)
        _raise_decoding(label, line + 1, field, before, encoding, exc, what="JSON file")
    with path.open("rb") as handle:
        header = handle.readline().decode(encoding, errors="replace").lstrip("\ufeff")
    try:
        names = next(csv.reader([header.rstrip("\r\n")]), [])
    except csv.Error:
        names = header.strip().split(",")
    position = before[line_start:].count(b",")
    field = names[min(position, len(names) - 1)] if line > 1 and names else None
    if line > 1 and not any(n.strip() for n in names):
        line = 1  # with no header there is no column to name: the header row is the problem
    _raise_decoding(label, line, field, before, encoding, exc, what="file")


def _raise_decoding(
    label: str,
    row: int,
    field: str | None,
    before: bytes,
    encoding: str,
    exc: Exception,
    *,
    what: str,
) -> None:
    bad = before[-1:]
    name = "UTF-8" if encoding.startswith("utf") else encoding
    hint = (
        ' Save the export as UTF-8, or set "encoding": "cp1252" in the mapping file.'
        if name == "UTF-8"
        else ""
    )
    raise IngestError(
        f"The {what} is not valid {name} text (byte 0x{bad.hex()} cannot be decoded).{hint}",
        file=label,
        row=row,
        field=field,
    ) from exc


def _check_header(names: list[str], label: str) -> list[str]:
    cleaned = [str(n).strip().lstrip("\ufeff").strip() for n in names]
    if not cleaned or all(n == "" for n in cleaned):
        raise IngestError("The file has no header row.", file=label, row=1)
    for position, name in enumerate(cleaned):
        if name == "":
            raise IngestError(f"Header column {position + 1} is empty.", file=label, row=1)
        if len(name) > 200:
            raise IngestError("A header is longer than 200 characters.", file=label, row=1)
        if cleaned.index(name) != position:
            raise IngestError("The header names this column twice.", file=label, row=1, field=name)
    return cleaned


# --- CSV -------------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """A file wrapper that counts the bytes pyarrow has read, for progress."""

    def __init__(self, handle: IO[bytes]):
        self._handle = handle
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def _csv_header(path: Path, mapping: ColumnMapping, label: str) -> list[str]:
    with path.open(encoding=mapping.python_encoding, newline="") as handle:
        try:
            first = next(csv.reader(handle, delimiter=mapping.delimiter, strict=True), None)
        except csv.Error as exc:
            raise IngestError(
                f"The header row cannot be parsed: {exc}.", file=label, row=1
            ) from exc
    if first is None:
        raise IngestError("The file is empty: no header row.", file=label, row=1)
    return _check_header(first, label)


def _locate_csv_problem(
    path: Path, mapping: ColumnMapping, header: list[str], label: str
) -> IngestError | None:
    """Walk the file record by record to say where the fast parser's complaint lies."""
    csv.field_size_limit(sys.maxsize)
    width = len(header)
    with path.open(encoding=mapping.python_encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=mapping.delimiter, strict=True)
        row = 0
        try:
            for row, record in enumerate(reader, start=1):
                if row == 1:
                    continue
                for position, cell in enumerate(record[:width]):
                    if len(cell) > MAX_CELL_CHARS:
                        return IngestError(
                            f"The value is longer than {MAX_CELL_CHARS} characters.",
                            file=label,
                            row=row,
                            field=header[position],
                        )
                if len(record) < width:
                    missing = header[len(record)] if record else header[0]
                    return IngestError(
                        f"The row is truncated: {len(record)} of {width} values "
                        f"(from column {missing!r} on, values are missing).",
                        file=label,
                        row=row,
                        field=missing,
                    )
                if len(record) > width:
                    return IngestError(
                        f"The row has {len(record)} values but the header names {width} columns.",
                        file=label,
                        row=row,
                        field=header[-1],
                    )
        except csv.Error as exc:
            return IngestError(
                f"The row cannot be parsed ({exc}); is a quoted value left open?",
                file=label,
                row=row + 1,
                field=header[0],
            )
    return None


def read_csv(
    path: Path, mapping: ColumnMapping, label: str
) -> tuple[list[str], Iterator[RawChunk]]:
    """The header and a stream of chunks of a CSV file."""
    header = _csv_header(path, mapping, label)
    return header, _csv_chunks(path, mapping, header, label)


def _csv_chunks(
    path: Path, mapping: ColumnMapping, header: list[str], label: str
) -> Iterator[RawChunk]:
    size = max(path.stat().st_size, 1)
    next_row = 2
    with path.open("rb") as handle:
        counting = _CountingReader(handle)
        try:
            reader = pacsv.open_csv(
                counting,
                read_options=pacsv.ReadOptions(
                    encoding="utf8" if mapping.python_encoding == "utf-8-sig" else "cp1252",
                    block_size=CSV_BLOCK_BYTES,
                    use_threads=False,
                    column_names=header,
                    skip_rows=1,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=mapping.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    # Arrow cannot say where a bad row is; _locate_csv_problem can.
                    invalid_row_handler=lambda _row: "error",
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                frame = batch.to_pandas()
                frame.columns = header
                rows = np.arange(next_row, next_row + batch.num_rows, dtype=np.int64)
                next_row += batch.num_rows
                yield RawChunk(frame, rows, min(counting.consumed / size, 1.0))
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError) as exc:
            problem = _locate_csv_problem(path, mapping, header, label)
            if problem is not None:
                raise problem from exc
            # Python's csv module reads what Arrow would not (a header with no line end, say).
            yield from _python_csv_chunks(path, mapping, header, next_row)


def _python_csv_chunks(
    path: Path, mapping: ColumnMapping, header: list[str], first_row: int
) -> Iterator[RawChunk]:
    """The slow path: records from ``first_row`` on, read by Python's csv module."""
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding=mapping.python_encoding, newline="") as handle:
        records = enumerate(csv.reader(handle, delimiter=mapping.delimiter), start=1)
        yield from _chunked(((n, r) for n, r in records if n >= first_row), header)


# --- XLSX ------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(
    path: Path, mapping: ColumnMapping, label: str
) -> tuple[list[str], Iterator[RawChunk]]:
    """The header and a stream of chunks of the first (or the mapping's) worksheet."""
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise IngestError(
            f"The file is not a readable XLSX workbook ({type(exc).__name__}).", file=label
        ) from exc
    try:
        sheet = book[mapping.sheet] if mapping.sheet else book.worksheets[0]
    except KeyError:
        book.close()
        raise IngestError(f"The workbook has no sheet {mapping.sheet!r}.", file=label) from None
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        book.close()
        raise IngestError("The worksheet is empty: no header row.", file=label, row=1)
    while first and first[-1] is None:
        first = first[:-1]
    header = _check_header([_cell_text(v) for v in first], label)
    total = sheet.max_row if isinstance(sheet.max_row, int) else None
    return header, _xlsx_chunks(book, rows, header, label, total)


def _xlsx_chunks(
    book: Any, rows: Iterator[tuple[Any, ...]], header: list[str], label: str, total: int | None
) -> Iterator[RawChunk]:
    try:
        yield from _chunked(_xlsx_rows(rows, len(header), label, header), header, total)
    finally:
        book.close()


def _xlsx_rows(
    rows: Iterator[tuple[Any, ...]], width: int, label: str, header: list[str]
) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell texts) of each non-empty data row, padded to the header's width."""
    for number, values in enumerate(rows, start=2):
        texts = [_cell_text(v) for v in values]
        if all(t == "" for t in texts):
            continue  # spreadsheets keep formatted but empty rows
        if any(t != "" for t in texts[width:]):
            raise IngestError(
                "The row has a value to the right of the last header column.",
                file=label,
                row=number,
                field=header[-1],
            )
        yield number, (texts + [""] * width)[:width]


def _chunked(
    rows: Iterable[tuple[int, list[str]]], header: list[str], total: int | None = None
) -> Iterator[RawChunk]:
    """Numbered rows of cell texts in chunks of ``ROWS_PER_CHUNK``; ``total`` rows, if known,
    gives each chunk its fraction done."""
    cells: list[list[str]] = []
    numbers: list[int] = []
    for number, texts in rows:
        cells.append(texts)
        numbers.append(number)
        if len(cells) >= ROWS_PER_CHUNK:
            yield _chunk(cells, numbers, header, total)
            cells, numbers = [], []
    if cells:
        yield _chunk(cells, numbers, header, total)


def _chunk(
    cells: list[list[str]], numbers: list[int], header: list[str], total: int | None
) -> RawChunk:
    frame = pd.DataFrame(cells, columns=header, dtype="str")
    fraction = min(numbers[-1] / total, 1.0) if total else None
    return RawChunk(frame, np.asarray(numbers, dtype=np.int64), fraction)


# --- JSON ------------------------------------------------------------------------------------


def _json_text(value: Any, label: str, row: int, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ";".join(str(v) for v in value)
    raise IngestError(
        "Expected a text, number, boolean or list value.", file=label, row=row, field=key
    )


def read_json(
    path: Path, mapping: ColumnMapping, label: str
) -> tuple[list[str], Iterator[RawChunk]]:
    """The header (keys of the first object) and chunks of a JSON array or JSON Lines file."""
    with path.open(encoding=mapping.python_encoding) as handle:
        start = handle.read(1024).lstrip()
    records: Iterator[tuple[int, Any]]
    if start.startswith("["):
        try:
            with path.open(encoding=mapping.python_encoding) as handle:
                document = json.load(handle)
        except (json.JSONDecodeError, RecursionError) as exc:
            line = getattr(exc, "lineno", None)
            raise IngestError(
                f"The file is not valid JSON ({getattr(exc, 'msg', exc)}).", file=label, row=line
            ) from exc
        records = enumerate(document, start=2)
    else:
        records = _json_lines(path, mapping, label)
    first = next(records, None)
    if first is None:
        raise IngestError("The file holds no records.", file=label, row=1)
    if isinstance(first[1], _Broken):
        raise IngestError(first[1].message, file=label, row=first[0], field=first[1].key)
    if not isinstance(first[1], dict):
        raise IngestError("Expected each record to be a JSON object.", file=label, row=first[0])
    header = _check_header([str(k) for k in first[1]], label)

    def all_records() -> Iterator[tuple[int, Any]]:
        yield first
        yield from records

    return header, _json_chunks(all_records(), header, label)


def _json_lines(path: Path, mapping: ColumnMapping, label: str) -> Iterator[tuple[int, Any]]:
    with path.open(encoding=mapping.python_encoding) as handle:
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                yield number, _Broken("The line is empty; expected one JSON object per line.", None)
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                position = getattr(exc, "pos", len(line))
                message = getattr(exc, "msg", "nested too deeply")
                yield (
                    number,
                    _Broken(
                        f"The line is not valid JSON ({message}).",
                        _key_before(line, position, known_keys(mapping)),
                    ),
                )
                continue
            yield number, record


@dataclass(frozen=True, slots=True)
class _Broken:
    """A JSON line that could not be read: why, and the key nearest the damage."""

    message: str
    key: str | None


_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.){1,200})"\s*:')


def _key_before(line: str, position: int, known: frozenset[str]) -> str | None:
    """The last known key before ``position`` in a broken JSON line (never a value's text)."""
    keys = [k for k in _JSON_KEY.findall(line[: position + 1]) if k in known]
    if not keys:
        keys = [k for k in _JSON_KEY.findall(line) if k in known][:1]
    return keys[-1] if keys else None


def _json_chunks(
    records: Iterator[tuple[int, Any]], header: list[str], label: str
) -> Iterator[RawChunk]:
    yield from _chunked(_json_rows(records, header, label), header)


def _json_rows(
    records: Iterator[tuple[int, Any]], header: list[str], label: str
) -> Iterator[tuple[int, list[str]]]:
    """(record number, cell texts in header order) of each JSON object, checked."""
    known = set(header)
    for number, record in records:
        if isinstance(record, _Broken):
            raise IngestError(record.message, file=label, row=number, field=record.key or header[0])
        if not isinstance(record, dict):
            raise IngestError("Expected each record to be a JSON object.", file=label, row=number)
        extra = [k for k in record if k not in known]
        if extra:
            raise IngestError(
                "The record has a key the first record does not have.",
                file=label,
                row=number,
                field=str(extra[0])[:80],
            )
        yield number, [_json_text(record.get(k), label, number, k) for k in header]


def read_file(
    path: Path, mapping: ColumnMapping, label: str
) -> tuple[list[str], Iterator[RawChunk]]:
    """Dispatch on the file type."""
    kind = file_format(path)
    if kind == "csv":
        return read_csv(path, mapping, label)
    if kind == "xlsx":
        return read_xlsx(path, mapping, label)
    return read_json(path, mapping, label)
