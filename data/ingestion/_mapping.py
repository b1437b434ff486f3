"""Column mappings: how one export's headers, date formats and encoding map onto the contract.

A mapping file is JSON or TOML, for example::

    {"kind": "ecm_visit",
     "columns": {"Visit Ref": "visit_id", "Carer": "carer_id", "Planned": "planned_start"},
     "datetime_format": "%d/%m/%Y %H:%M", "date_format": "%d/%m/%Y",
     "true_values": ["Y"], "false_values": ["N"], "encoding": "cp1252"}

Every key is optional. Headers the mapping does not name must already be canonical column
names (compared ignoring case and surrounding spaces).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from data.errors import MappingError
from data.records import RECORD_KINDS

ENCODINGS = ("utf-8", "cp1252")
DEFAULT_TRUE = ("true", "t", "yes", "y", "1")
DEFAULT_FALSE = ("false", "f", "no", "n", "0")


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """How to read one family of export files.

    Attributes
    ----------
    kind
        The record kind the files hold; None to detect it from the headers.
    columns
        Source header -> canonical column name.
    datetime_format, date_format, time_format
        ``strptime`` formats; None accepts ISO 8601 (``2026-10-01 08:30``, ``08:30``).
    true_values, false_values
        Spellings of booleans (case-insensitive).
    encoding
        ``utf-8`` (a byte-order mark is allowed) or ``cp1252``; nothing else is guessed.
    delimiter
        CSV field separator.
    sheet
        XLSX worksheet name; None for the first sheet.
    list_separator
        Separator of list values (skills, weekdays) in the export.
    ignore_columns
        Source headers to drop; ``ignore_unknown_columns`` drops every header that is neither
        mapped nor canonical (otherwise such a header is an error).
    check_references
        Check that referenced providers, carers, service users, packages and calls exist.
    """

    kind: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    datetime_format: str | None = None
    date_format: str | None = None
    time_format: str | None = None
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    list_separator: str = ";"
    ignore_columns: tuple[str, ...] = ()
    ignore_unknown_columns: bool = False
    check_references: bool = True

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in RECORD_KINDS:
            raise MappingError(
                f"Unknown record kind {self.kind!r}; expected one of {sorted(RECORD_KINDS)}."
            )
        if self.encoding.lower().replace("_", "-") not in ENCODINGS:
            raise MappingError(
                f"Unsupported encoding {self.encoding!r}; expected one of {ENCODINGS}."
            )
        if len(self.delimiter) != 1 or self.delimiter in '\r\n"':
            raise MappingError(f"Expected a one-character delimiter, not {self.delimiter!r}.")
        if not self.list_separator:
            raise MappingError("Expected a non-empty list_separator.")
        canonical = {c for k in RECORD_KINDS.values() for c in k.column_names}
        for source, target in self.columns.items():
            if not isinstance(source, str) or not isinstance(target, str):
                raise MappingError("Expected columns to map header text to column names.")
            if target not in canonical:
                raise MappingError(f"Column {source!r} maps to unknown column {target!r}.")
        targets = list(self.columns.values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise MappingError(f"Several headers map to the same columns {doubled}.")
        for name in ("true_values", "false_values", "ignore_columns"):
            if not all(isinstance(v, str) for v in getattr(self, name)):
                raise MappingError(f"Expected {name} to be a list of text.")

    @property
    def python_encoding(self) -> str:
        """The codec name Python uses (``utf-8-sig`` strips a byte-order mark)."""
        return "utf-8-sig" if self.encoding.lower().replace("_", "-") == "utf-8" else "cp1252"


def mapping_from_dict(raw: Mapping[str, Any]) -> ColumnMapping:
    """A ColumnMapping from parsed JSON/TOML; unknown keys are an error."""
    known = {f.name for f in fields(ColumnMapping)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise MappingError(f"Unknown mapping keys {unknown}; expected some of {sorted(known)}.")
    values = dict(raw)
    for name in ("true_values", "false_values", "ignore_columns"):
        if name in values:
            if not isinstance(values[name], list | tuple):
                raise MappingError(f"Expected {name} to be a list.")
            values[name] = tuple(values[name])
    if "columns" in values and not isinstance(values["columns"], Mapping):
        raise MappingError("Expected columns to be a table of source header -> column name.")
    for name in ("ignore_unknown_columns", "check_references"):
        if name in values and not isinstance(values[name], bool):
            raise MappingError(f"Expected {name} to be true or false.")
    for name in ("kind", "datetime_format", "date_format", "time_format", "sheet"):
        if values.get(name) is not None and not isinstance(values[name], str):
            raise MappingError(f"Expected {name} to be text.")
    try:
        return ColumnMapping(**values)
    except TypeError as exc:
        raise MappingError(f"Malformed mapping: {exc}") from exc


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping file (``.json`` or ``.toml``)."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"Cannot read mapping file {path}: {exc.strerror}.") from exc
    try:
        if path.suffix.lower() == ".toml":
            raw = tomllib.loads(content.decode("utf-8"))
        else:
            raw = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(
            f"Mapping file {path} is not valid {path.suffix or 'JSON'}: {exc}"
        ) from exc
    if not isinstance(raw, dict):
        raise MappingError(f"Mapping file {path} must hold an object/table at the top.")
    return mapping_from_dict(raw)
