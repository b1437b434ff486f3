"""From stored records to a solver planning day, and from a solution back to records.

Today's rounds are reconstructed from ECM: every carer's visits on the day in check-in
order (planned start when a visit has no check-in). Calls keep the commissioned window of
their package call; a double-up is the two ECM visits sharing a ``double_up_group``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine

import solver
from data import read_records
from data.records import LIST_SEPARATOR

# (lat, lon) arrays in degrees -> (travel_s per mode, distance_m per mode); mode 0 = car.
MatrixFn = Callable[
    [npt.NDArray[np.float64], npt.NDArray[np.float64]],
    tuple[tuple[npt.NDArray[np.int64], ...], tuple[npt.NDArray[np.int64], ...]],
]
TRAVEL_MODE_INDEX = {"car": 0, "walk": 1, "bike": 2}
# A call with no commissioned window may start this far either side of its planned start.
DEFAULT_WINDOW_HALF_S = 30 * 60


class PlanningError(ValueError):
    """The records cannot form a planning day (nothing on that day, unknown area, ...)."""


@dataclass(frozen=True)
class PlanningDay:
    """A solver problem together with the source ids of everything in it."""

    day: date
    area: str | None
    problem: solver.Problem
    today: solver.Rounds
    visit_ids: tuple[str, ...]
    service_user_ids: tuple[str, ...]  # per solver service-user index
    carer_ids: tuple[str, ...]
    provider_ids: tuple[str, ...]
    location_lat: npt.NDArray[np.float64]
    location_lon: npt.NDArray[np.float64]


def _seconds(t: pd.Series) -> npt.NDArray[np.int64]:
    """Seconds from midnight of datetimes (or "HH:MM" strings)."""
    if pd.api.types.is_datetime64_any_dtype(t):
        return (t.dt.hour * 3600 + t.dt.minute * 60 + t.dt.second).to_numpy(np.int64)
    parts = t.astype(str).str.split(":", expand=True).astype(int)
    return (parts[0] * 3600 + parts[1] * 60).to_numpy(np.int64)


def _skills(value: object) -> frozenset[str]:
    if not isinstance(value, str) or not value:
        return frozenset()
    return frozenset(s.strip() for s in value.split(LIST_SEPARATOR) if s.strip())


def _gender(value: object) -> str | None:
    """A carer gender or preference the solver matches on; "none" and blanks are no preference."""
    return value if value in ("female", "male") else None  # type: ignore[return-value]


def day_visits(
    records: Mapping[str, pd.DataFrame], day: date, *, area: str | None = None
) -> pd.DataFrame:
    """ECM visits planned on ``day`` (not cancelled), joined to their call and service user."""
    visits = records["ecm_visit"]
    users = records["service_user"]
    start = pd.Timestamp(datetime.combine(day, time.min))
    on_day = visits[
        (visits["planned_start"] >= start)
        & (visits["planned_start"] < start + pd.Timedelta(days=1))
        & (visits["status"] != "cancelled")
    ]
    joined = on_day.merge(
        users[
            ["service_user_id", "lat", "lon", "area", "required_skills", "carer_gender_preference"]
        ],
        on="service_user_id",
        how="inner",
        validate="many_to_one",
    )
    if area is not None:
        joined = joined[joined["area"] == area]
    calls = records.get("call")
    if calls is not None and len(calls):
        joined = joined.merge(
            calls[["call_id", "window_start", "window_end"]],
            on="call_id",
            how="left",
            validate="many_to_one",
        )
    else:
        joined = joined.assign(window_start=None, window_end=None)
    joined = joined.dropna(subset=["lat", "lon"])
    return joined.sort_values(["planned_start", "visit_id"], kind="stable").reset_index(drop=True)


def build_planning_day(
    records: Mapping[str, pd.DataFrame],
    day: date,
    *,
    matrices: MatrixFn,
    area: str | None = None,
    double_up_tolerance_s: int = 10 * 60,
    max_provider_changes: int | None = None,
    carer_change_penalty: int = 600,
    hard_windows: bool = False,
    max_lateness_s: int | None = 30 * 60,
) -> PlanningDay:
    """The planning day for ``day`` (optionally one area): today's rounds and a solver problem.

    Carers are those with ECM visits that day; each keeps their recorded shift, widened
    where today's rounds ran outside it so today's rounds stay a valid starting point.
    """
    visits = day_visits(records, day, area=area)
    if visits.empty:
        where = f" in {area}" if area else ""
        raise PlanningError(f"No ECM visits planned on {day.isoformat()}{where}.")
    carers = records["carer"].set_index("carer_id")
    carer_ids = tuple(sorted(visits["carer_id"].unique()))
    missing = [c for c in carer_ids if c not in carers.index]
    if missing:
        raise PlanningError(f"ECM visits name carers with no carer record: {missing[:5]}.")
    day_carers = carers.loc[list(carer_ids)]
    provider_ids = tuple(sorted(set(day_carers["provider_id"]) | set(visits["provider_id"])))
    provider_of = {p: i for i, p in enumerate(provider_ids)}
    carer_of = {c: i for i, c in enumerate(carer_ids)}
    user_ids = tuple(sorted(visits["service_user_id"].unique()))
    user_of = {u: i for i, u in enumerate(user_ids)}

    # Locations: every home once, then every carer's start.
    homes = visits.drop_duplicates("service_user_id").set_index("service_user_id")
    lat = np.concatenate(
        [homes.loc[list(user_ids), "lat"].to_numpy(float), day_carers["start_lat"].to_numpy(float)]
    )
    lon = np.concatenate(
        [homes.loc[list(user_ids), "lon"].to_numpy(float), day_carers["start_lon"].to_numpy(float)]
    )
    travel_s, distance_m = matrices(lat, lon)

    planned_s = _seconds(visits["planned_start"])
    duration_s = visits["planned_duration_min"].to_numpy(np.int64) * 60
    has_window = visits["window_start"].notna().to_numpy() & visits["window_end"].notna().to_numpy()
    window_start = planned_s - DEFAULT_WINDOW_HALF_S
    window_end = planned_s + DEFAULT_WINDOW_HALF_S + duration_s
    if has_window.any():
        window_start[has_window] = _seconds(visits.loc[has_window, "window_start"])
        window_end[has_window] = _seconds(visits.loc[has_window, "window_end"])
    window_start = np.clip(window_start, 0, solver.HORIZON_S)
    window_end = np.clip(np.maximum(window_end, window_start), 0, solver.HORIZON_S)

    groups = visits["double_up_group"].fillna("").astype(str)
    group_sizes = groups[groups != ""].value_counts()
    paired = groups.map(lambda g: g != "" and group_sizes.get(g, 0) == 2).to_numpy()
    sync_ids = {g: i for i, g in enumerate(sorted(set(groups[paired])))}

    solver_visits = []
    for i, row in enumerate(visits.itertuples(index=False)):
        sync = sync_ids[str(row.double_up_group)] if paired[i] else -1
        solver_visits.append(
            solver.Visit(
                location=user_of[row.service_user_id],
                window_start_s=int(window_start[i]),
                window_end_s=int(window_end[i]),
                duration_s=int(duration_s[i]),
                skills=_skills(row.required_skills),
                gender=_gender(row.carer_gender_preference),
                provider=provider_of[row.provider_id],
                carer=carer_of[row.carer_id],
                service_user=user_of[row.service_user_id],
                sync_group=sync,
                sync_min_gap_s=-double_up_tolerance_s if sync >= 0 else 0,
                sync_max_gap_s=double_up_tolerance_s if sync >= 0 else 0,
            )
        )

    # Today's rounds in check-in order (planned start where there is no check-in).
    order_key = visits["check_in"].fillna(visits["planned_start"]).to_numpy()
    carer_index = visits["carer_id"].map(carer_of).to_numpy(np.int64)
    by_carer = np.lexsort((np.arange(len(visits)), order_key, carer_index))
    bounds = np.searchsorted(carer_index[by_carer], np.arange(len(carer_ids) + 1))
    today = [
        tuple(int(i) for i in by_carer[bounds[k] : bounds[k + 1]]) for k in range(len(carer_ids))
    ]
    # Every carer here has at least one visit, so each slice is non-empty.
    first_s = np.minimum.reduceat(window_start[by_carer], bounds[:-1])
    last_s = np.maximum.reduceat(window_end[by_carer], bounds[:-1])

    n_homes = len(user_ids)
    shift_start = _seconds(day_carers["shift_start"])
    shift_end = _seconds(day_carers["shift_end"])
    shift_end = np.where(shift_end <= shift_start, shift_end + 24 * 3600, shift_end)
    slack = 3600
    solver_carers = []
    for k, row in enumerate(day_carers.itertuples()):
        mode = TRAVEL_MODE_INDEX.get(str(row.travel_mode), 0)
        solver_carers.append(
            solver.Carer(
                provider=provider_of[row.provider_id],
                start_location=n_homes + k,
                end_location=n_homes + k,
                shift_start_s=int(max(0, min(shift_start[k], first_s[k] - slack))),
                shift_end_s=int(min(solver.HORIZON_S, max(shift_end[k], last_s[k] + slack))),
                skills=_skills(row.skills),
                gender=_gender(row.gender),
                travel_mode=mode if mode < len(travel_s) else 0,
            )
        )

    problem = solver.Problem(
        visits=tuple(solver_visits),
        carers=tuple(solver_carers),
        travel_s=travel_s,
        distance_m=distance_m,
        policy=solver.Policy(
            max_provider_changes=max_provider_changes, carer_change_penalty=carer_change_penalty
        ),
        objective=solver.Objective(hard_windows=hard_windows, max_lateness_s=max_lateness_s),
        n_providers=len(provider_ids),
    )
    return PlanningDay(
        day=day,
        area=area,
        problem=problem,
        today=tuple(today),
        visit_ids=tuple(visits["visit_id"]),
        service_user_ids=user_ids,
        carer_ids=carer_ids,
        provider_ids=provider_ids,
        location_lat=lat,
        location_lon=lon,
    )


def moves(planning: PlanningDay, proposal: solver.Solution) -> pd.DataFrame:
    """One row per visit whose carer changes: visit, service user, from/to carer and provider."""
    n = planning.problem.num_visits
    new_carer = proposal.carer_of(n)
    old_carer = np.array([v.carer for v in planning.problem.visits], dtype=np.int64)
    changed = np.flatnonzero(new_carer != old_carer)
    carer_provider = np.array([c.provider for c in planning.problem.carers], dtype=np.int64)

    def carer_id(k: int) -> str:
        return planning.carer_ids[k] if k >= 0 else ""

    def provider_id(k: int) -> str:
        return planning.provider_ids[carer_provider[k]] if k >= 0 else ""

    visits = planning.problem.visits
    return pd.DataFrame(
        {
            "visit_id": [planning.visit_ids[i] for i in changed],
            "service_user_id": [planning.service_user_ids[visits[i].service_user] for i in changed],
            "from_carer_id": [carer_id(int(old_carer[i])) for i in changed],
            "to_carer_id": [carer_id(int(new_carer[i])) for i in changed],
            "from_provider_id": [provider_id(int(old_carer[i])) for i in changed],
            "to_provider_id": [provider_id(int(new_carer[i])) for i in changed],
        }
    )


PLANNING_KINDS = ("service_user", "carer", "call", "provider", "package")


def read_planning_records(engine: Engine, day: date) -> dict[str, pd.DataFrame]:
    """The stored records a planning day needs: that day's ECM visits and the reference kinds."""
    start = datetime.combine(day, time.min)
    records = {kind: read_records(engine, kind) for kind in PLANNING_KINDS}
    records["ecm_visit"] = read_records(
        engine, "ecm_visit", start=start, end=start + timedelta(days=1)
    )
    return records
