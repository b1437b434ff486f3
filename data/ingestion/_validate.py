"""Validation of every field against the contract, vectorised per chunk.

Turns a chunk of text cells (canonical column names) into a typed Arrow table, or raises
IngestError naming the first offending row and field. Values of sensitive columns (care-note
text) never appear in a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.errors import IngestError
from data.ingestion._mapping import ColumnMapping
from data.records import WEEKDAYS, Column, RecordKind

# Datetimes outside these years are typing slips, not care records.
YEAR_MIN, YEAR_MAX = 1900, 2200
_WEEKDAY_COLUMNS = ("weekdays", "working_weekdays")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_SHOWN_CHARS = 40

# (earlier column, later column) pairs where the later may not precede the earlier.
ORDERED_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "carer": (("shift_start", "shift_end"),),
    "package": (("start_date", "end_date"),),
    "call": (("window_start", "window_end"),),
    "ecm_visit": (("check_in", "check_out"),),
    "care_note": (("visit_start", "visit_end"),),
}
# Coordinates that only make sense together.
COORDINATE_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "provider": (("base_lat", "base_lon"),),
    "carer": (("start_lat", "start_lon"),),
    "service_user": (("lat", "lon"),),
    "ecm_visit": (("check_in_lat", "check_in_lon"),),
}


class ChunkValidator:
    """Validates chunks of one file of one record kind."""

    def __init__(self, kind: RecordKind, mapping: ColumnMapping, label: str):
        self.kind = kind
        self.mapping = mapping
        self.label = label
        self.true_values = {v.strip().lower() for v in mapping.true_values}
        self.false_values = {v.strip().lower() for v in mapping.false_values}

    # -- errors ----------------------------------------------------------------------------

    def _show(self, column: Column, value: object) -> str:
        if column.name in self.kind.sensitive_columns:
            return "The value (withheld: sensitive)"
        text = str(value)
        if len(text) > _SHOWN_CHARS:
            text = text[:_SHOWN_CHARS] + "…"
        return f"The value {text!r}"

    def _fail_first(
        self,
        bad: pd.Series | np.ndarray,
        rows: np.ndarray,
        column: Column,
        message: Callable[[object], str],
        values: pd.Series,
    ) -> None:
        mask = np.asarray(bad, dtype=bool)
        if mask.any():
            at = int(np.argmax(mask))
            raise IngestError(
                message(values.iloc[at]), file=self.label, row=int(rows[at]), field=column.name
            )

    # -- the chunk -------------------------------------------------------------------------

    def validate(self, frame: pd.DataFrame, rows: np.ndarray) -> pa.Table:
        """Typed Arrow table: ``source_row`` then every canonical column of the kind."""
        n = len(frame)
        arrays: dict[str, pa.Array] = {"source_row": pa.array(rows, pa.int64())}
        typed: dict[str, pd.Series] = {}
        for column in self.kind.columns:
            if column.name not in frame.columns:
                arrays[column.name] = pa.nulls(n, _ARROW_TYPES[column.kind])
                typed[column.name] = pd.Series([None] * n, dtype="object")
                continue
            raw = frame[column.name]
            text = raw.astype("str").str.strip()
            present = text.ne("").to_numpy(dtype=bool)
            self._fail_first(
                text.str.contains("\x00", regex=False).to_numpy(dtype=bool),
                rows,
                column,
                lambda _v: "The value contains a NUL character.",
                text,
            )
            if column.required:
                self._fail_first(
                    ~present,
                    rows,
                    column,
                    lambda _v: "A value is required here but the cell is empty.",
                    text,
                )
            series, array = self._convert(column, text, present, rows)
            typed[column.name] = series
            arrays[column.name] = array
        self._check_pairs(typed, rows)
        return pa.table(arrays)

    def _convert(
        self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray
    ) -> tuple[pd.Series, pa.Array]:
        convert = getattr(self, f"_as_{column.kind}")
        return convert(column, text, present, rows)

    def _check_length(self, column: Column, text: pd.Series, rows: np.ndarray) -> None:
        limit = column.max_length
        self._fail_first(
            text.str.len().to_numpy() > limit,
            rows,
            column,
            lambda _v: f"The value is longer than {limit} characters.",
            text,
        )

    def _as_str(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        if column.choices:
            text = text.str.lower()
            bad = present & ~text.isin(column.choices).to_numpy(dtype=bool)
            self._fail_first(
                bad,
                rows,
                column,
                lambda v: f"{self._show(column, v)} is not one of {', '.join(column.choices)}.",
                text,
            )
        self._check_length(column, text, rows)
        return text, _arrow_text(text, present).cast(pa.string())

    def _as_list(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        separator = re.escape(self.mapping.list_separator)
        items = text.str.replace(rf"\s*{separator}\s*", ";", regex=True).str.strip(";")
        if column.name in _WEEKDAY_COLUMNS:
            items = items.str.lower()
            ok = items.str.fullmatch(rf"(?:{'|'.join(WEEKDAYS)})(?:;(?:{'|'.join(WEEKDAYS)}))*")
            bad = present & ~ok.fillna(False).to_numpy(dtype=bool)
            self._fail_first(
                bad,
                rows,
                column,
                lambda v: f"{self._show(column, v)} is not a list of weekdays such as mon;tue;wed.",
                text,
            )
        self._check_length(column, items, rows)
        return items, _arrow_text(items, present).cast(pa.string())

    def _bounds(
        self, column: Column, numbers: pd.Series, text: pd.Series, rows: np.ndarray
    ) -> None:
        low, high = column.min_value, column.max_value
        if low is not None:
            self._fail_first(
                (numbers < low).to_numpy(dtype=bool),
                rows,
                column,
                lambda v: f"{self._show(column, v)} is below the minimum {low:g}.",
                text,
            )
        if high is not None:
            self._fail_first(
                (numbers > high).to_numpy(dtype=bool),
                rows,
                column,
                lambda v: f"{self._show(column, v)} is above the maximum {high:g}.",
                text,
            )

    def _numbers(
        self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray, what: str
    ):
        fast = _fast_cast(text, present, pa.float64())
        if fast is not None:
            numbers = pd.Series(fast.to_numpy(zero_copy_only=False), index=text.index)
        else:
            numbers = pd.to_numeric(text.where(present, None), errors="coerce").astype("float64")
        values = numbers.to_numpy()
        bad = present & ~np.isfinite(values)
        self._fail_first(
            bad, rows, column, lambda v: f"{self._show(column, v)} is not {what}.", text
        )
        return numbers

    def _as_float(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        numbers = self._numbers(column, text, present, rows, "a number")
        self._bounds(column, numbers, text, rows)
        return numbers, pa.array(numbers.to_numpy(), pa.float64(), from_pandas=True)

    def _as_int(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        numbers = self._numbers(column, text, present, rows, "a whole number")
        values = numbers.to_numpy()
        with np.errstate(invalid="ignore"):
            fractional = present & (np.floor(values) != values)
        self._fail_first(
            fractional,
            rows,
            column,
            lambda v: f"{self._show(column, v)} is not a whole number.",
            text,
        )
        self._bounds(column, numbers, text, rows)
        array = pa.array(values, pa.float64(), from_pandas=True).cast(pa.int64())
        return numbers, array

    def _as_bool(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        lowered = text.str.lower()
        is_true = lowered.isin(self.true_values).to_numpy(dtype=bool)
        is_false = lowered.isin(self.false_values).to_numpy(dtype=bool)
        bad = present & ~is_true & ~is_false
        spelled = ", ".join(sorted(self.true_values | self.false_values))
        self._fail_first(
            bad,
            rows,
            column,
            lambda v: f"{self._show(column, v)} is not a yes/no value ({spelled}).",
            text,
        )
        values = pd.Series(is_true, dtype="object").where(present, None)
        return values, pa.array(values.to_numpy(), pa.bool_(), from_pandas=True)

    def _parse_datetimes(
        self,
        column: Column,
        text: pd.Series,
        present: np.ndarray,
        rows: np.ndarray,
        fmt: str | None,
        what: str,
    ) -> pd.Series:
        candidates = text.where(present, None)
        fast = _fast_datetimes(text, present, fmt)
        parsed = fast if fast is not None else _to_datetime(candidates, fmt)
        if fmt is not None:
            # XLSX cells typed as dates arrive in ISO form whatever the mapping says.
            retry = present & parsed.isna().to_numpy(dtype=bool)
            if retry.any():
                parsed = parsed.where(~retry, _to_datetime(candidates.where(retry, None), None))
        expected = f" (expected {fmt})" if fmt else " (expected ISO 8601, e.g. 2026-10-01 08:30)"
        self._fail_first(
            present & parsed.isna().to_numpy(dtype=bool),
            rows,
            column,
            lambda v: f"{self._show(column, v)} is not a valid {what}{expected}.",
            text,
        )
        years = parsed.dt.year.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            implausible = present & ((years < YEAR_MIN) | (years > YEAR_MAX))
        self._fail_first(
            implausible,
            rows,
            column,
            lambda v: f"{self._show(column, v)} is outside the years {YEAR_MIN}-{YEAR_MAX}.",
            text,
        )
        return parsed

    def _as_datetime(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        parsed = self._parse_datetimes(
            column, text, present, rows, self.mapping.datetime_format, "date and time"
        )
        return parsed, pa.array(
            parsed.to_numpy(dtype="datetime64[us]"), pa.timestamp("us"), from_pandas=True
        )

    def _as_date(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        parsed = self._parse_datetimes(
            column, text, present, rows, self.mapping.date_format, "date"
        )
        has_time = present & (parsed != parsed.dt.normalize()).to_numpy(dtype=bool)
        self._fail_first(
            has_time,
            rows,
            column,
            lambda v: f"{self._show(column, v)} is a date and time; expected a date.",
            text,
        )
        days = parsed.to_numpy(dtype="datetime64[D]")
        return parsed, pa.array(days, pa.date32(), from_pandas=True)

    def _as_time(self, column: Column, text: pd.Series, present: np.ndarray, rows: np.ndarray):
        fmt = self.mapping.time_format
        if fmt is not None:
            parsed = _to_datetime(text.where(present, None), fmt)
            offset = parsed - parsed.dt.normalize()
            micros = offset.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan) * 1e6
            bad = present & np.isnan(micros)
        else:
            parts = text.str.extract(_TIME)

            def number(i: int) -> np.ndarray:
                return pd.to_numeric(parts[i], errors="coerce").to_numpy(
                    dtype="float64", na_value=np.nan
                )

            hours, minutes = number(0), number(1)
            seconds = np.nan_to_num(number(2))
            fraction = parts[3].fillna("0").str.ljust(6, "0")
            fraction_us = pd.to_numeric(fraction, errors="coerce").to_numpy(
                dtype="float64", na_value=0.0
            )
            with np.errstate(invalid="ignore"):
                bad = present & ~((hours < 24) & (minutes < 60) & (seconds < 60))
            micros = (hours * 3600 + minutes * 60 + seconds) * 1e6 + fraction_us
        expected = fmt or "HH:MM or HH:MM:SS"
        self._fail_first(
            bad,
            rows,
            column,
            lambda v: f"{self._show(column, v)} is not a valid time of day (expected {expected}).",
            text,
        )
        micros = np.where(present, np.round(micros), np.nan)
        array = pa.array(micros, pa.float64(), from_pandas=True).cast(pa.int64())
        return pd.Series(micros), array.cast(pa.time64("us"))

    # -- across fields ---------------------------------------------------------------------

    def _check_pairs(self, typed: dict[str, pd.Series], rows: np.ndarray) -> None:
        for first, second in ORDERED_PAIRS.get(self.kind.name, ()):
            a, b = typed[first], typed[second]
            if a.dtype == object or b.dtype == object:
                continue  # a column the file does not have
            with np.errstate(invalid="ignore"):
                bad = (b < a).to_numpy(dtype=bool, na_value=False)
            self._fail_first(
                bad,
                rows,
                self.kind.column(second),
                _constant(f"{second} is before {first}, which is impossible."),
                b,
            )
        for lat, lon in COORDINATE_PAIRS.get(self.kind.name, ()):
            has_lat = typed[lat].notna().to_numpy(dtype=bool)
            has_lon = typed[lon].notna().to_numpy(dtype=bool)
            self._fail_first(
                has_lat != has_lon,
                rows,
                self.kind.column(lon if has_lat[np.argmax(has_lat != has_lon)] else lat),
                _constant(f"{lat} and {lon} must be given together."),
                typed[lat],
            )


_ARROW_TYPES = {
    "str": pa.string(),
    "list": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "datetime": pa.timestamp("us"),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "bool": pa.bool_(),
}


_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$"


def _arrow_text(text: pd.Series, present: np.ndarray) -> pa.Array:
    """The column as Arrow text, empty cells as nulls."""
    array = pa.array(text, pa.large_string())
    return pc.if_else(pa.array(present), array, pa.scalar(None, pa.large_string()))


def _fast_cast(text: pd.Series, present: np.ndarray, type_: pa.DataType) -> pa.Array | None:
    """Arrow's C++ parser for the common all-valid case; None sends the caller to pandas."""
    try:
        return pc.cast(_arrow_text(text, present), type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _fast_datetimes(text: pd.Series, present: np.ndarray, fmt: str | None) -> pd.Series | None:
    """Parse with Arrow when every value is plain ISO 8601 (or matches ``fmt``); else None."""
    array = _arrow_text(text, present)
    try:
        if fmt is None:
            if pc.all(pc.match_substring_regex(array, _ISO_DATETIME)).as_py() is False:
                return None
            parsed = pc.cast(array, pa.timestamp("us"))
        else:
            parsed = pc.strptime(array, format=fmt, unit="us", error_is_null=True)
            if parsed.null_count != array.null_count:
                return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    return pd.Series(values, index=text.index)


def _constant(message: str) -> Callable[[object], str]:
    return lambda _value: message


def _to_datetime(values: pd.Series, fmt: str | None) -> pd.Series:
    """Parse text to naive datetimes; anything unparseable (or zoned) becomes NaT."""
    try:
        parsed = pd.to_datetime(values, format=fmt or "ISO8601", errors="coerce")
    except (ValueError, TypeError, OverflowError):
        parsed = pd.Series([_one_datetime(v, fmt) for v in values], index=values.index)
        parsed = pd.to_datetime(parsed, errors="coerce")
    if not pd.api.types.is_datetime64_dtype(parsed) or getattr(parsed.dt, "tz", None) is not None:
        # Zoned or mixed values: ECM exports carry local times; refuse what is not.
        parsed = pd.Series([_one_datetime(v, fmt) for v in values], index=values.index)
        parsed = pd.to_datetime(parsed, errors="coerce")
    return parsed.astype("datetime64[us]")


def _one_datetime(value: object, fmt: str | None) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return pd.NaT
    try:
        one = pd.to_datetime(str(value), format=fmt or "ISO8601")
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if getattr(one, "tzinfo", None) is not None:
        return pd.NaT
    return one
