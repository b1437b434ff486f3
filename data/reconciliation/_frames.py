"""Turn canonical record frames into the flat numeric columns the rules work on.

Every rule is vectorised over positional arrays, so this module does the joins once: each
visit gets its home's lat/lon, its call's carers-required and time-critical flags, and its
hourly rate (package via call, else provider). Ids stay in their (Arrow-backed) string columns
and are replaced by integer codes for the work; strings are only built for flagged rows.
Care-note text is never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.reconciliation.errors import MissingRecordsError
from data.records import LIST_SEPARATOR, WEEKDAYS

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
_VISIT_ID_COLUMNS = (
    "visit_id",
    "provider_id",
    "service_user_id",
    "carer_id",
    "call_id",
    "double_up_group",
)

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


def bound_s(value: date | datetime | str) -> float:
    """A period bound as epoch seconds (naive wall-clock time, like the records)."""
    return float(pd.Timestamp(value).timestamp())


def text_column(column: pd.Series) -> pd.Series:
    """An id column as the ``str`` dtype, empty strings treated as missing."""
    if column.dtype != "str":
        column = column.astype("str")
    if (column == "").any():
        column = column.where(column != "")
    return column.reset_index(drop=True)


def take_text(column: pd.Series, positions: IntArray) -> pd.Series:
    """``column[positions]`` as a fresh ``str`` Series; position -1 gives a missing value."""
    return pd.Series(column.array.take(positions, allow_fill=True))


def labels(codes: IntArray, names: list[str]) -> pd.Series:
    """A ``str`` Series naming each code (built in Arrow: no Python string per row)."""
    if not names:
        return pd.Series(pd.array([None] * len(codes), dtype="str"))
    mask = codes < 0
    arrow = pc.take(pa.array(names, pa.string()), pa.array(codes, mask=mask))
    return pd.Series(arrow.to_pandas(), dtype="str")


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


def codes_of(column: pd.Series) -> tuple[IntArray, pd.Index]:
    """Integer codes (-1 for missing) and the distinct values, in order of appearance."""
    codes, uniques = pd.factorize(column)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _through(codes: IntArray, at: np.ndarray) -> IntArray:
    """Compose codes (-1: missing) with a position per code (-1: absent)."""
    at = np.asarray(at, dtype=np.int64)
    if not len(at):
        return np.full(len(codes), -1, dtype=np.int64)
    return np.where(codes >= 0, at[np.maximum(codes, 0)], -1)


def lookup(column: pd.Series, index: pd.Index) -> IntArray:
    """Position of each value of ``column`` in ``index`` (-1 when absent).

    Factorises first so the hash lookup runs once per distinct value, not once per row.
    """
    codes, uniques = codes_of(column)
    return _through(codes, index.get_indexer(uniques))


def _take(values: np.ndarray, positions: IntArray, fill: object = np.nan) -> np.ndarray:
    out = np.full(positions.shape, fill, dtype=values.dtype if values.size else np.float64)
    hit = positions >= 0
    out[hit] = values[positions[hit]]
    return out


def _index_of(frame: pd.DataFrame, key: str) -> pd.Index:
    return pd.Index(text_column(frame[key]))


def dense_codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(values, return_inverse=True)`` for small-range ints, in O(n) not O(n log n)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(values.min())
    shifted = values - low
    present = np.bincount(shifted) > 0
    remap = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, remap[shifted]


def month_codes(epoch_s: FloatArray) -> tuple[IntArray, list[str]]:
    """Code of each time's ``"YYYY-MM"`` and the month names (one string per month)."""
    months = np.nan_to_num(epoch_s).astype("datetime64[s]").astype("datetime64[M]")
    unique, inverse = dense_codes(months.astype(np.int64))
    names = [str(m) for m in unique.astype("datetime64[M]")]
    return inverse, names


def minute_labels(epoch_s: FloatArray) -> np.ndarray:
    """``"YYYY-MM-DD HH:MM"`` for each epoch second (NaN gives ``"?"``)."""
    ok = ~np.isnan(epoch_s)
    out = np.full(epoch_s.shape, "?", dtype=object)
    if ok.any():
        text = np.datetime_as_string(epoch_s[ok].astype("datetime64[s]"), unit="m")
        out[ok] = np.char.replace(text, "T", " ")
    return out


def _is(column: pd.Series, wanted: str) -> BoolArray:
    """Rows whose value equals ``wanted`` (ingestion has already checked the vocabulary)."""
    return np.asarray(column.eq(wanted).to_numpy(dtype=bool, na_value=False), dtype=bool)


@dataclass(frozen=True, slots=True)
class Visits:
    """Positional columns of the audited ECM visits (one row per visit)."""

    frame: pd.DataFrame  # the id columns, ``str`` dtype
    user: IntArray  # service-user code, into ``users``
    users: pd.Index
    carer: IntArray  # carer code, into ``carers``
    carers: pd.Index
    provider: IntArray  # provider code, into ``providers``
    providers: pd.Index
    call: IntArray  # call code (-1: none), into the distinct call ids of the visits
    group: IntArray  # double-up group code (-1: none)
    planned_s: FloatArray
    in_s: FloatArray
    out_s: FloatArray
    planned_min: FloatArray
    billed_min: FloatArray
    ecm_min: FloatArray
    is_completed: BoolArray  # status completed with both check-in and check-out
    is_missed: BoolArray
    is_cancelled: BoolArray
    is_manual: BoolArray
    check_in_lat: FloatArray
    check_in_lon: FloatArray
    home_lat: FloatArray
    home_lon: FloatArray
    carers_required: IntArray
    is_time_critical: BoolArray
    rate_gbp_per_hour: FloatArray
    month: IntArray  # code into ``months``
    months: list[str]

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True, slots=True)
class Notes:
    """Positional columns of the care notes (ids and times only, never text)."""

    frame: pd.DataFrame  # note_id, service_user_id, carer_id, provider_id (``str``)
    user: IntArray  # code into the visits' ``users`` (-1: nobody visited)
    carer: IntArray  # code into the visits' ``carers``
    start_s: FloatArray
    end_s: FloatArray
    note_min: FloatArray

    def __len__(self) -> int:
        return len(self.frame)


def _in_period(start_s: FloatArray, period: Period | None, pad_s: float) -> BoolArray:
    if period is None:
        return np.ones(start_s.shape, dtype=bool)
    lo, hi = bound_s(period[0]) - pad_s, bound_s(period[1]) + pad_s
    return (start_s >= lo) & (start_s < hi)


def _package_rate(
    packages: pd.DataFrame,
    user: IntArray,
    users: pd.Index,
    provider: IntArray,
    providers: pd.Index,
    planned_s: FloatArray,
    need: BoolArray,
) -> FloatArray:
    """Rate of the package of the visit's service user and provider in force that day.

    For visits whose call does not name a package: the package of the same person and provider
    that started last on or before the planned start and has not ended (``merge_asof``).
    """
    needed = {"service_user_id", "provider_id", "start_date", "rate_gbp_per_hour"}
    out = np.full(len(user), np.nan)
    if not needed <= set(packages.columns):
        return out
    package_user = np.asarray(users.get_indexer(pd.Index(text_column(packages["service_user_id"]))))
    package_provider = lookup(packages["provider_id"], providers)
    n_providers = len(providers) + 1
    start = seconds(packages["start_date"])
    end = (
        seconds(packages["end_date"]) + 86_400.0  # the end date is the last day
        if "end_date" in packages.columns
        else np.full(len(packages), np.nan)
    )
    usable = (package_user >= 0) & (package_provider >= 0) & ~np.isnan(start)
    visit_ok = need & (user >= 0) & (provider >= 0) & ~np.isnan(planned_s)
    if not usable.any() or not visit_ok.any():
        return out
    left = pd.DataFrame(
        {
            "t": planned_s[visit_ok].astype(np.int64),
            "key": user[visit_ok] * n_providers + provider[visit_ok],
            "row": np.flatnonzero(visit_ok),
        }
    ).sort_values("t", kind="stable")
    right = pd.DataFrame(
        {
            "t": start[usable].astype(np.int64),
            "key": package_user[usable] * n_providers + package_provider[usable],
            "rate": _floats(packages["rate_gbp_per_hour"], len(packages))[usable],
            "end": end[usable],
        }
    ).sort_values("t", kind="stable")
    merged = pd.merge_asof(left, right, on="t", by="key", direction="backward")
    in_force = ~(merged["end"].to_numpy() <= merged["t"].to_numpy())  # NaN end: still open
    out[merged["row"].to_numpy()] = np.where(in_force, merged["rate"].to_numpy(), np.nan)
    return out


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
    n = len(raw)

    def optional(name: str) -> pd.Series | None:
        return raw[name] if name in raw.columns else None

    frame = pd.DataFrame(
        {
            c: text_column(raw[c])
            if c in raw.columns
            else pd.Series(np.full(n, np.nan), dtype="str")
            for c in _VISIT_ID_COLUMNS
        }
    )
    in_s = seconds(raw["check_in"]) if "check_in" in raw.columns else np.full(n, np.nan)
    out_s = seconds(raw["check_out"]) if "check_out" in raw.columns else np.full(n, np.nan)
    status = raw["status"]
    is_completed = _is(status, "completed") & ~np.isnan(in_s) & ~np.isnan(out_s)
    method = optional("method")
    is_manual = _is(method, "manual") if method is not None else np.zeros(n, dtype=bool)
    user, users = codes_of(frame["service_user_id"])
    carer, carers = codes_of(frame["carer_id"])
    provider, provider_ids = codes_of(frame["provider_id"])
    call, call_ids = codes_of(frame["call_id"])

    home_lat = np.full(n, np.nan)
    home_lon = np.full(n, np.nan)
    people = records.get("service_user")
    if people is not None and {"lat", "lon"} <= set(people.columns) and len(people):
        at = np.asarray(_index_of(people, "service_user_id").get_indexer(users), dtype=np.int64)
        home_lat = _take(_take(_floats(people["lat"], len(people)), at), user)
        home_lon = _take(_take(_floats(people["lon"], len(people)), at), user)

    carers_required = np.ones(n, dtype=np.int64)
    is_time_critical = np.zeros(n, dtype=bool)
    rate = np.full(n, np.nan)
    calls = records.get("call")
    if calls is not None and len(calls) and "call_id" in calls.columns:
        at_call = _through(call, _index_of(calls, "call_id").get_indexer(call_ids))
        if "carers_required" in calls.columns:
            required = _floats(calls["carers_required"], len(calls))
            carers_required = np.nan_to_num(_take(required, at_call), nan=1.0).astype(np.int64)
        if "is_time_critical" in calls.columns:
            critical = _bools(calls["is_time_critical"], len(calls))
            is_time_critical = _take(critical, at_call, fill=False).astype(bool)
        packages = records.get("package")
        if packages is not None and len(packages) and "package_id" in calls.columns:
            at_package = lookup(calls["package_id"], _index_of(packages, "package_id"))
            call_rate = _take(_floats(packages["rate_gbp_per_hour"], len(packages)), at_package)
            rate = _take(call_rate, at_call)
    packages = records.get("package")
    if packages is not None and len(packages) and np.isnan(rate).any():
        by_package = _package_rate(
            packages, user, users, provider, provider_ids, planned_s, np.isnan(rate)
        )
        rate = np.where(np.isnan(rate), by_package, rate)
    providers = records.get("provider")
    if providers is not None and len(providers) and "rate_gbp_per_hour" in providers.columns:
        at = _through(provider, _index_of(providers, "provider_id").get_indexer(provider_ids))
        provider_rate = _take(_floats(providers["rate_gbp_per_hour"], len(providers)), at)
        rate = np.where(np.isnan(rate), provider_rate, rate)

    month, months = month_codes(planned_s)
    return Visits(
        frame=frame,
        user=user,
        users=users,
        carer=carer,
        carers=carers,
        provider=provider,
        providers=provider_ids,
        call=call,
        group=codes_of(frame["double_up_group"])[0],
        planned_s=planned_s,
        in_s=in_s,
        out_s=out_s,
        planned_min=_floats(raw["planned_duration_min"], n),
        billed_min=np.nan_to_num(_floats(raw["billed_min"], n), nan=0.0),
        ecm_min=np.where(is_completed, (out_s - in_s) / 60.0, np.nan),
        is_completed=is_completed,
        is_missed=_is(status, "missed"),
        is_cancelled=_is(status, "cancelled"),
        is_manual=is_manual,
        check_in_lat=_floats(optional("check_in_lat"), n),
        check_in_lon=_floats(optional("check_in_lon"), n),
        home_lat=home_lat,
        home_lon=home_lon,
        carers_required=carers_required,
        is_time_critical=is_time_critical,
        rate_gbp_per_hour=rate,
        month=month,
        months=months,
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
        {c: text_column(raw[c]) for c in ("note_id", "service_user_id", "carer_id")}
    )
    carer, carer_ids = codes_of(frame["carer_id"])
    frame["provider_id"] = _note_providers(records, visits, carer, carer_ids)
    end_s = seconds(raw["visit_end"])
    return Notes(
        frame=frame,
        user=lookup(frame["service_user_id"], visits.users),
        carer=_through(carer, visits.carers.get_indexer(carer_ids)),
        start_s=start_s,
        end_s=end_s,
        note_min=(end_s - start_s) / 60.0,
    )


def _note_providers(
    records: Mapping[str, pd.DataFrame], visits: Visits, carer: IntArray, carer_ids: pd.Index
) -> pd.Series:
    """A note has no provider column: take its carer's provider (carer records, else visits)."""
    carers = records.get("carer")
    if carers is not None and len(carers) and "provider_id" in carers.columns:
        index = _index_of(carers, "carer_id")
        providers = text_column(carers["provider_id"])
    else:
        first = np.full(len(visits.carers), -1, dtype=np.int64)
        codes, at = np.unique(visits.carer, return_index=True)
        first[codes[codes >= 0]] = at[codes >= 0]
        index = visits.carers
        providers = take_text(visits.frame["provider_id"], first)
    return take_text(providers, _through(carer, index.get_indexer(carer_ids)))


def calls_per_day(records: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """Commissioned calls on a typical day for each service user (median over the weekdays).

    A package of four calls Monday to Friday and three at weekends has four calls a day.
    """
    calls, packages = records.get("call"), records.get("package")
    if calls is None or packages is None or calls.empty or "weekdays" not in calls.columns:
        return None
    weekdays = calls["weekdays"]
    if len(weekdays) and isinstance(weekdays.iloc[0], list | tuple):
        weekdays = weekdays.map(lambda days: LIST_SEPARATOR.join(map(str, days)))
    text = weekdays.astype("str").fillna("").str.lower()
    at = lookup(calls["package_id"], _index_of(packages, "package_id"))
    users = take_text(text_column(packages["service_user_id"]), at).to_numpy()
    on_day = pd.DataFrame({day: text.str.contains(day).to_numpy() for day in WEEKDAYS})
    per_day = on_day.groupby(users).sum()
    return per_day.median(axis=1).astype(float)
