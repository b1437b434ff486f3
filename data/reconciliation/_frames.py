"""Turn canonical record frames into the flat numeric columns the rules work on.

Every rule is vectorised over positional arrays, so this module does the joins once: each
visit gets its home's lat/lon, its call's carers-required and time-critical flags, and its
hourly rate (package via call, else provider). Care-note text is never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from data.reconciliation.errors import MissingRecordsError
from data.records import LIST_SEPARATOR

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

VISIT_REQUIRED = (
    "visit_id",
    "provider_id",
    "service_user_id",
    "carer_id",
    "planned_start",
    "planned_duration_min",
    "billed_min",
    "status",
)
NOTE_REQUIRED = ("note_id", "service_user_id", "carer_id", "visit_start", "visit_end")

Period = tuple[date | datetime | str, date | datetime | str]


def _require(records: Mapping[str, pd.DataFrame], kind: str, columns: tuple[str, ...]) -> None:
    if kind not in records:
        raise MissingRecordsError(f"The audit needs {kind!r} records; none were given.")
    missing = [c for c in columns if c not in records[kind].columns]
    if missing:
        raise MissingRecordsError(f"{kind!r} records lack required columns {missing}.")


def seconds(column: pd.Series) -> FloatArray:
    """Seconds since the epoch as float64 (exact for whole seconds), NaN where missing."""
    if not pd.api.types.is_datetime64_any_dtype(column):
        column = pd.to_datetime(column, errors="coerce")
    if getattr(column.dt, "tz", None) is not None:
        column = column.dt.tz_localize(None)
    values = column.to_numpy(dtype="datetime64[s]")
    out = values.astype(np.int64).astype(np.float64)
    out[np.isnat(values)] = np.nan
    return out


def _floats(column: pd.Series | None, n: int) -> FloatArray:
    if column is None:
        return np.full(n, np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _bools(column: pd.Series | None, n: int) -> BoolArray:
    if column is None:
        return np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(column) and not column.hasnans:
        return column.to_numpy(dtype=bool)
    text = column.astype("string").str.strip().str.lower()
    return text.isin(("true", "1", "yes", "y", "t", "1.0")).to_numpy(dtype=bool)


def _lookup(keys: pd.Series, index: pd.Index) -> IntArray:
    """Position of each key in ``index`` (-1 when absent), vectorised."""
    return np.asarray(index.get_indexer(pd.Index(keys)), dtype=np.int64)


def _take(values: np.ndarray, positions: IntArray, fill: object = np.nan) -> np.ndarray:
    out = np.full(positions.shape, fill, dtype=values.dtype if values.size else np.float64)
    hit = positions >= 0
    out[hit] = values[positions[hit]]
    return out


def month_labels(planned_s: FloatArray) -> np.ndarray:
    """``"YYYY-MM"`` for each epoch second (computed once per distinct month)."""
    months = planned_s.astype("datetime64[s]").astype("datetime64[M]")
    unique, inverse = np.unique(months, return_inverse=True)
    return np.asarray(np.datetime_as_string(unique), dtype=object)[inverse]


def minute_labels(epoch_s: FloatArray) -> np.ndarray:
    """``"YYYY-MM-DD HH:MM"`` for each epoch second (NaN gives ``"?"``)."""
    ok = ~np.isnan(epoch_s)
    out = np.full(epoch_s.shape, "?", dtype=object)
    if ok.any():
        text = np.datetime_as_string(epoch_s[ok].astype("datetime64[s]"), unit="m")
        out[ok] = np.char.replace(text, "T", " ")
    return out


def bound_s(value: date | datetime | str) -> float:
    """A period bound as epoch seconds (naive wall-clock time, like the records)."""
    return float(pd.Timestamp(value).timestamp())


@dataclass(frozen=True, slots=True)
class Visits:
    """Positional columns of the audited ECM visits (one row per visit)."""

    frame: pd.DataFrame  # ids as strings; numeric columns listed below
    planned_s: FloatArray
    in_s: FloatArray
    out_s: FloatArray
    planned_min: FloatArray
    billed_min: FloatArray
    ecm_min: FloatArray
    is_completed: BoolArray  # status completed with both check-in and check-out
    is_missed: BoolArray
    is_cancelled: BoolArray
    check_in_lat: FloatArray
    check_in_lon: FloatArray
    home_lat: FloatArray
    home_lon: FloatArray
    carers_required: IntArray
    is_time_critical: BoolArray
    rate_gbp_per_hour: FloatArray
    month: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True, slots=True)
class Notes:
    """Positional columns of the care notes (ids and times only, never text)."""

    frame: pd.DataFrame
    start_s: FloatArray
    end_s: FloatArray
    note_min: FloatArray
    provider_id: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def _in_period(start_s: FloatArray, period: Period | None, pad_s: float) -> BoolArray:
    if period is None:
        return np.ones(start_s.shape, dtype=bool)
    lo, hi = bound_s(period[0]) - pad_s, bound_s(period[1]) + pad_s
    return (start_s >= lo) & (start_s < hi)


def prepare_visits(
    records: Mapping[str, pd.DataFrame], *, period: Period | None, pad_s: float
) -> Visits:
    """Select visits planned in ``period`` (widened by ``pad_s``) and join what the rules need."""
    _require(records, "ecm_visit", VISIT_REQUIRED)
    raw = records["ecm_visit"]
    planned_s = seconds(raw["planned_start"])
    keep = _in_period(planned_s, period, pad_s)
    if not keep.all():
        raw = raw.loc[keep]
        planned_s = planned_s[keep]
    raw = raw.reset_index(drop=True)
    n = len(raw)

    def optional(name: str) -> pd.Series | None:
        return raw[name] if name in raw.columns else None

    frame = pd.DataFrame(
        {
            name: (raw[name] if name in raw.columns else pd.Series([None] * n, dtype="str"))
            .astype("str")
            .where(lambda s: s.notna() & (s != ""))
            for name in (
                "visit_id",
                "provider_id",
                "service_user_id",
                "carer_id",
                "call_id",
                "double_up_group",
                "method",
            )
        }
    )
    in_s = seconds(raw["check_in"]) if "check_in" in raw.columns else np.full(n, np.nan)
    out_s = seconds(raw["check_out"]) if "check_out" in raw.columns else np.full(n, np.nan)
    status = raw["status"].astype("str").str.strip().str.lower()
    is_missed = status.eq("missed").to_numpy(dtype=bool)
    is_cancelled = status.eq("cancelled").to_numpy(dtype=bool)
    is_completed = status.eq("completed").to_numpy(dtype=bool) & ~np.isnan(in_s) & ~np.isnan(out_s)
    ecm_min = np.where(is_completed, (out_s - in_s) / 60.0, np.nan)

    home_lat = np.full(n, np.nan)
    home_lon = np.full(n, np.nan)
    users = records.get("service_user")
    if users is not None and {"lat", "lon"} <= set(users.columns) and len(users):
        at = _lookup(frame["service_user_id"], pd.Index(users["service_user_id"].astype("str")))
        home_lat = _take(_floats(users["lat"], len(users)), at)
        home_lon = _take(_floats(users["lon"], len(users)), at)

    carers_required = np.ones(n, dtype=np.int64)
    is_time_critical = np.zeros(n, dtype=bool)
    rate = np.full(n, np.nan)
    calls = records.get("call")
    if calls is not None and len(calls) and "call_id" in calls.columns:
        at_call = _lookup(frame["call_id"], pd.Index(calls["call_id"].astype("str")))
        if "carers_required" in calls.columns:
            required = _floats(calls["carers_required"], len(calls))
            carers_required = np.nan_to_num(_take(required, at_call), nan=1.0).astype(np.int64)
        if "is_time_critical" in calls.columns:
            critical = _bools(calls["is_time_critical"], len(calls))
            is_time_critical = _take(critical, at_call, fill=False).astype(bool)
        packages = records.get("package")
        if packages is not None and len(packages) and "package_id" in calls.columns:
            at_package = _lookup(
                calls["package_id"].astype("str"), pd.Index(packages["package_id"].astype("str"))
            )
            call_rate = _take(_floats(packages["rate_gbp_per_hour"], len(packages)), at_package)
            rate = _take(call_rate, at_call)
    providers = records.get("provider")
    if providers is not None and len(providers) and "rate_gbp_per_hour" in providers.columns:
        at = _lookup(frame["provider_id"], pd.Index(providers["provider_id"].astype("str")))
        rate = np.where(
            np.isnan(rate), _take(_floats(providers["rate_gbp_per_hour"], len(providers)), at), rate
        )

    return Visits(
        frame=frame,
        planned_s=planned_s,
        in_s=in_s,
        out_s=out_s,
        planned_min=_floats(raw["planned_duration_min"], n),
        billed_min=np.nan_to_num(_floats(raw["billed_min"], n), nan=0.0),
        ecm_min=ecm_min,
        is_completed=is_completed,
        is_missed=is_missed,
        is_cancelled=is_cancelled,
        check_in_lat=_floats(optional("check_in_lat"), n),
        check_in_lon=_floats(optional("check_in_lon"), n),
        home_lat=home_lat,
        home_lon=home_lon,
        carers_required=carers_required,
        is_time_critical=is_time_critical,
        rate_gbp_per_hour=rate,
        month=month_labels(planned_s),
    )


def prepare_notes(
    records: Mapping[str, pd.DataFrame], visits: Visits, *, period: Period | None, pad_s: float
) -> Notes:
    """Select notes whose recorded visit starts in ``period`` (widened by ``pad_s``)."""
    _require(records, "care_note", NOTE_REQUIRED)
    raw = records["care_note"]
    start_s = seconds(raw["visit_start"])
    keep = _in_period(start_s, period, pad_s)
    if not keep.all():
        raw = raw.loc[keep]
        start_s = start_s[keep]
    # Only the columns the audit needs: the note's text never enters the audit.
    frame = pd.DataFrame(
        {c: raw[c].astype("str").to_numpy() for c in ("note_id", "service_user_id", "carer_id")}
    )
    end_s = seconds(raw["visit_end"])
    provider = _note_providers(records, visits, frame["carer_id"])
    return Notes(
        frame=frame,
        start_s=start_s,
        end_s=end_s,
        note_min=(end_s - start_s) / 60.0,
        provider_id=provider,
    )


def _note_providers(
    records: Mapping[str, pd.DataFrame], visits: Visits, carer_ids: pd.Series
) -> np.ndarray:
    """A note has no provider column: take its carer's provider (carer records, else visits)."""
    carers = records.get("carer")
    if carers is not None and len(carers) and "provider_id" in carers.columns:
        index = pd.Index(carers["carer_id"].astype("str"))
        providers = carers["provider_id"].astype("str").to_numpy(dtype=object)
    else:
        pairs = visits.frame[["carer_id", "provider_id"]].drop_duplicates("carer_id")
        index = pd.Index(pairs["carer_id"])
        providers = pairs["provider_id"].to_numpy(dtype=object)
    at = _lookup(carer_ids, index)
    out = np.full(len(carer_ids), None, dtype=object)
    out[at >= 0] = providers[at[at >= 0]]
    return out


def calls_per_weekday(records: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """Commissioned calls per day for each service user (mean over the seven weekdays)."""
    calls, packages = records.get("call"), records.get("package")
    if calls is None or packages is None or calls.empty or "weekdays" not in calls.columns:
        return None
    days = calls["weekdays"].map(
        lambda w: len(w) if isinstance(w, list | tuple) else len(str(w).split(LIST_SEPARATOR))
    )
    at = _lookup(calls["package_id"].astype("str"), pd.Index(packages["package_id"].astype("str")))
    users = _take(packages["service_user_id"].astype("str").to_numpy(dtype=object), at, fill=None)
    per_user = pd.Series(days.to_numpy(dtype=float), index=users).groupby(level=0).sum() / 7.0
    return per_user
