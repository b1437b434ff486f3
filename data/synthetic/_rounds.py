"""Rounds: calls cut into runs per provider and slot, runs given to working carers each day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.synthetic._people import (
    SLOT_SPAN_MIN,
    SLOT_START_MIN,
    SU_SKILLS,
    join_flags,
    make_ids,
)
from data.synthetic._places import offset_m, towns
from data.synthetic.config import SyntheticConfig
from data.travel_estimate import haversine_m, straight_line_travel

AUDIT_TRAVEL = straight_line_travel()
PLANNING_BUFFER_MIN = 5.0  # overrun and parking allowance between planned calls
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Carer groups: split shifts cover every slot, early the morning and lunch, late tea and bed.
SPLIT, EARLY, LATE = 0, 1, 2
_SHIFTS = {SPLIT: ("07:00", "23:00"), EARLY: ("07:00", "14:30"), LATE: ("15:30", "23:00")}


@dataclass(frozen=True)
class Rounds:
    tasks: pd.DataFrame  # one row per (call, carer position)
    calls: pd.DataFrame  # calls with window_start, window_end, weekdays
    carers: pd.DataFrame  # internal carer frame (provider, group, rest days)
    visits: pd.DataFrame  # planned visits: task, day, planned minute of day, carer


def _hop_travel_s(lat: np.ndarray, lon: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Audit travel seconds from the previous row; zero on rows starting a group."""
    prev_lat = np.concatenate([lat[:1], lat[:-1]])
    prev_lon = np.concatenate([lon[:1], lon[:-1]])
    travel = AUDIT_TRAVEL(prev_lat, prev_lon, lat, lon)
    return np.where(first, 0.0, travel)


def _working(n: int, offset: int) -> np.ndarray:
    """(n, 7) bool: carer i rests one day a week (two for 20%), staggered across the group."""
    i = np.arange(n)[:, None] + offset
    d = np.arange(7)[None, :]
    two_rest = (i % 5) == 0
    return (d != i % 7) & ~(two_rest & (d == (i + 3) % 7))


def _group_size(required: int, offset: int) -> int:
    if required == 0:
        return 0
    n = int(np.ceil(required * 7 / 6))
    while _working(n, offset).sum(axis=0).min() < required:
        n += 1
    return n


def build_rounds(
    config: SyntheticConfig,
    users: pd.DataFrame,
    providers: pd.DataFrame,
    packages: pd.DataFrame,
    calls: pd.DataFrame,
    rng: np.random.Generator,
) -> Rounds:
    """Cut each provider's calls into runs per slot and give each run a carer each day."""
    pkg_provider = packages["_provider"].to_numpy()
    c_user = calls["_user"].to_numpy()
    c_provider = pkg_provider[c_user]
    served = c_provider >= 0
    call_idx = np.flatnonzero(served)
    n_pos = calls["carers_required"].to_numpy()[call_idx]
    t_call = np.repeat(call_idx, n_pos)
    t_pos = (
        np.concatenate([np.arange(k) for k in n_pos]) if call_idx.size else np.zeros(0, np.int64)
    )
    t_user = c_user[t_call]
    t_provider = c_provider[t_call]
    t_slot = calls["_slot"].to_numpy()[t_call]
    t_dur = calls["duration_min"].to_numpy()[t_call]
    lat = users["lat"].to_numpy()[t_user]
    lon = users["lon"].to_numpy()[t_user]
    # Sweep key: bearing of the person's town from the provider's base, then street, then house.
    town = users["_town"].to_numpy()[t_user]
    base_lat = providers["base_lat"].to_numpy()[t_provider]
    base_lon = providers["base_lon"].to_numpy()[t_provider]
    tw = towns(config.districts)
    town_lat = tw["lat"].to_numpy()[town]
    town_lon = tw["lon"].to_numpy()[town]
    town_bearing = np.arctan2(
        town_lat - base_lat, (town_lon - base_lon) * np.cos(np.radians(base_lat))
    )
    tasks = pd.DataFrame(
        {
            "call": t_call,
            "pos": t_pos,
            "user": t_user,
            "provider": t_provider,
            "slot": t_slot,
            "dur": t_dur,
            "lat": lat,
            "lon": lon,
            "_k1": np.round(town_bearing, 9),
            "_k2": town,
            "_k3": users["_street_angle"].to_numpy()[t_user],
            "_k4": users["_street"].to_numpy()[t_user],
            "_k5": users["_along"].to_numpy()[t_user],
        }
    )
    primary = tasks[tasks["pos"] == 0].sort_values(
        ["provider", "slot", "_k1", "_k2", "_k3", "_k4", "_k5", "call"], kind="stable"
    )
    grp = primary["provider"].to_numpy() * 4 + primary["slot"].to_numpy()
    first = np.concatenate([[True], grp[1:] != grp[:-1]])
    travel_min = _hop_travel_s(primary["lat"].to_numpy(), primary["lon"].to_numpy(), first) / 60
    cost = primary["dur"].to_numpy() + travel_min + PLANNING_BUFFER_MIN
    cum = pd.Series(cost).groupby(grp).cumsum().to_numpy() - cost
    # A run takes the calls that start within the slot's span (cumulative planned minutes).
    run = np.floor(cum / SLOT_SPAN_MIN[primary["slot"].to_numpy()]).astype(np.int64)
    # Offsets within each run, the carer starting at the run's first house.
    run_key = grp * 10_000 + run
    run_first = np.concatenate([[True], run_key[1:] != run_key[:-1]])
    cost2 = np.where(run_first, primary["dur"].to_numpy() + PLANNING_BUFFER_MIN, cost)
    offset = pd.Series(cost2).groupby(run_key).cumsum().to_numpy() - cost2
    uniq_runs, run_inv = np.unique(run_key, return_inverse=True)
    run_jitter = rng.integers(0, 2, uniq_runs.size) * 5
    start_min = SLOT_START_MIN[primary["slot"].to_numpy()] + run_jitter[run_inv] + offset
    planned_min = (np.ceil(start_min / 5) * 5).astype(np.int64)
    primary = primary.assign(run=run, planned_min=planned_min)
    runs_in_group = pd.Series(run).groupby(grp).max().to_numpy() + 1
    group_ids = np.unique(grp)
    n_runs = np.zeros(len(providers) * 4, dtype=np.int64)
    n_runs[group_ids] = runs_in_group
    # The second carer of a double-up comes from the neighbouring run, at the same time.
    per_call = primary.set_index("call")[["run", "planned_min"]]
    secondary = tasks[tasks["pos"] == 1].assign(run=0, planned_min=0)
    if len(secondary):
        sec = per_call.loc[secondary["call"].to_numpy()]
        g2 = secondary["provider"].to_numpy() * 4 + secondary["slot"].to_numpy()
        r_in = np.maximum(n_runs[g2], 2)
        secondary["run"] = (sec["run"].to_numpy() + 1) % r_in
        secondary["planned_min"] = sec["planned_min"].to_numpy()
        np.maximum.at(n_runs, g2, secondary["run"].to_numpy() + 1)
    tasks = pd.concat([primary, secondary]).sort_index()
    tasks = tasks.astype({"run": np.int64, "planned_min": np.int64})
    tasks = tasks.drop(columns=["_k1", "_k2", "_k3", "_k4", "_k5"]).reset_index(drop=True)

    # Windows: ±30 min around the round's time; lunch and tea sometimes weekdays only.
    planned_by_call = per_call["planned_min"].reindex(np.arange(len(calls)))
    calls = calls.copy()
    calls["_planned_min"] = planned_by_call.to_numpy()
    carers = _make_carers(config, providers, n_runs.reshape(len(providers), 4), rng)
    visits = _assign(config, packages, calls, tasks, carers, len(providers))
    return Rounds(tasks=tasks, calls=calls, carers=carers, visits=visits)


def _make_carers(
    config: SyntheticConfig, providers: pd.DataFrame, n_runs: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """One rota per provider, big enough that every run has a working carer every day.

    Each day the first working carers (rota order) take the morning and lunch runs and the
    first working carers the tea and bed runs; who works both halves gets a split shift, the
    rest an early or late shift (labelled later from the runs they actually do).
    """
    required = np.max(n_runs, axis=1)
    sizes = np.array([_group_size(int(r), 0) for r in required], dtype=np.int64)
    # Top up to the target head count with relief carers (later in the rota, fewer runs).
    needed = int(sizes.sum())
    if config.n_carers > needed:
        weights = n_runs.sum(axis=1).astype(float) + 1e-9
        sizes += np.floor((config.n_carers - needed) * weights / weights.sum()).astype(np.int64)
    provider = np.repeat(np.arange(len(providers)), sizes)
    i = np.arange(provider.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return pd.DataFrame({"provider": provider, "group": SPLIT, "i": i})


def _assign(
    config: SyntheticConfig,
    packages: pd.DataFrame,
    calls: pd.DataFrame,
    tasks: pd.DataFrame,
    carers: pd.DataFrame,
    n_providers: int,
) -> pd.DataFrame:
    days = config.days
    n_c = len(carers)
    weekday = np.arange(days) % 7
    wk = np.zeros((n_c, 7), dtype=bool)
    for g in (SPLIT, EARLY, LATE):
        m = carers["group"].to_numpy() == g
        idx = carers["i"].to_numpy()[m]
        wk[m] = _working(int(idx.max()) + 1, 0)[idx] if idx.size else wk[m]
    works = wk[:, weekday]
    c_idx, d_idx = np.nonzero(works)
    cd = pd.DataFrame(
        {
            "carer": c_idx,
            "day": d_idx,
            "provider": carers["provider"].to_numpy()[c_idx],
            "group": carers["group"].to_numpy()[c_idx],
            "i": carers["i"].to_numpy()[c_idx],
        }
    )
    lookup = {}
    for side, groups in (("early", (SPLIT, EARLY)), ("late", (SPLIT, LATE))):
        part = cd[cd["group"].isin(groups)].sort_values(["provider", "day", "group", "i"])
        rank = part.groupby(["provider", "day"]).cumcount().to_numpy()
        r_max = int(rank.max()) + 1 if rank.size else 1
        table = np.full((n_providers, days, r_max), -1, dtype=np.int64)
        table[part["provider"].to_numpy(), part["day"].to_numpy(), rank] = part["carer"].to_numpy()
        lookup[side] = table

    # Visits: every task on every day its call is active and its package runs.
    start = np.datetime64(config.start_date, "D")
    dates = start + np.arange(days).astype("timedelta64[D]")
    t_call = tasks["call"].to_numpy()
    t_user = tasks["user"].to_numpy()
    pkg_start = packages["start_date"].to_numpy().astype("datetime64[D]")[t_user]
    pkg_end = packages["end_date"].to_numpy().astype("datetime64[D]")[t_user]
    active = (pkg_start[:, None] <= dates[None, :]) & (
        np.isnat(pkg_end)[:, None] | (dates[None, :] <= pkg_end[:, None])
    )
    weekdays_only = calls["_weekdays_only"].to_numpy()[t_call]
    active &= ~(weekdays_only[:, None] & (weekday[None, :] >= 5))
    task_i, day_i = np.nonzero(active)
    slot = tasks["slot"].to_numpy()[task_i]
    prov = tasks["provider"].to_numpy()[task_i]
    run = tasks["run"].to_numpy()[task_i]
    early = slot <= 1
    carer = np.where(
        early,
        lookup["early"][prov, day_i, np.minimum(run, lookup["early"].shape[2] - 1)],
        lookup["late"][prov, day_i, np.minimum(run, lookup["late"].shape[2] - 1)],
    )
    too_many = run >= np.where(early, lookup["early"].shape[2], lookup["late"].shape[2])
    if (carer < 0).any() or too_many.any():
        raise RuntimeError("A run has no working carer; carer groups are too small.")
    return pd.DataFrame(
        {
            "task": task_i,
            "call": t_call[task_i],
            "pos": tasks["pos"].to_numpy()[task_i],
            "user": t_user[task_i],
            "provider": prov,
            "slot": slot,
            "day": day_i,
            "planned_min": tasks["planned_min"].to_numpy()[task_i],
            "dur": tasks["dur"].to_numpy()[task_i],
            "carer": carer,
        }
    )


def finish_carers(
    config: SyntheticConfig,
    carers: pd.DataFrame,
    providers: pd.DataFrame,
    users: pd.DataFrame,
    visits: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Carer records: start near their rounds, skills covering their people, mode, hours."""
    n = len(carers)
    g = carers["group"].to_numpy()
    v_carer = visits["carer"].to_numpy()
    v_user = visits["user"].to_numpy()
    counts = np.bincount(v_carer, minlength=n)
    mean_lat = np.bincount(v_carer, users["lat"].to_numpy()[v_user], minlength=n) / np.maximum(
        counts, 1
    )
    mean_lon = np.bincount(v_carer, users["lon"].to_numpy()[v_user], minlength=n) / np.maximum(
        counts, 1
    )
    prov = carers["provider"].to_numpy()
    mean_lat = np.where(counts > 0, mean_lat, providers["base_lat"].to_numpy()[prov])
    mean_lon = np.where(counts > 0, mean_lon, providers["base_lon"].to_numpy()[prov])
    start_lat, start_lon = offset_m(
        mean_lat, mean_lon, rng.normal(0, 700, n), rng.normal(0, 700, n)
    )
    # Skills: whatever their people need, plus some training of their own.
    own = rng.random((n, len(SU_SKILLS))) < np.array([0.85, 0.5, 0.4, 0.3, 0.15])
    needs = np.stack([users[f"_needs_{s}"].to_numpy()[v_user] for s in SU_SKILLS], axis=1)
    needed = np.zeros((n, len(SU_SKILLS)), dtype=bool)
    for j in range(len(SU_SKILLS)):
        needed[:, j] = np.bincount(v_carer, needs[:, j], minlength=n) > 0
    skills = own | needed
    pref = users["carer_gender_preference"].to_numpy()[v_user]
    wants_f = np.bincount(v_carer, pref == "female", minlength=n) > 0
    wants_m = np.bincount(v_carer, pref == "male", minlength=n) > 0
    gender = rng.choice(np.array(["female", "male", "other"]), size=n, p=(0.82, 0.17, 0.01))
    gender = np.where(wants_m & ~wants_f, "male", np.where(wants_f, "female", gender))
    # Walkers and cyclists: compact city rounds only (95% of hops under 1.5 or 3 km).
    order = np.lexsort((visits["planned_min"].to_numpy(), visits["day"].to_numpy(), v_carer))
    oc = v_carer[order]
    od = visits["day"].to_numpy()[order]
    ou = v_user[order]
    same = np.concatenate([[False], (oc[1:] == oc[:-1]) & (od[1:] == od[:-1])])
    ulat, ulon = users["lat"].to_numpy(), users["lon"].to_numpy()
    hop = np.zeros(order.size)
    hop[1:] = haversine_m(ulat[ou[:-1]], ulon[ou[:-1]], ulat[ou[1:]], ulon[ou[1:]])
    hop = np.where(same, hop, 0.0)
    hop_s = pd.Series(hop[same]).groupby(oc[same]).quantile(0.95)
    p95 = np.full(n, np.inf)
    p95[hop_s.index.to_numpy()] = hop_s.to_numpy()
    city = np.bincount(v_carer, users["_is_city"].to_numpy()[v_user], minlength=n) >= 0.9 * counts
    walkable = city & (p95 <= 1500) & (counts > 0)
    cyclable = city & (p95 <= 3000) & (counts > 0)
    u = rng.random(n)
    mode = np.where(walkable & (u < 0.5), "walk", np.where(cyclable & (u < 0.5), "bike", "car"))
    weekly_min = np.bincount(v_carer, visits["dur"].to_numpy(), minlength=n) / config.weeks
    # Contracted for the contact time of a usual week (travel is mostly unpaid, DOMAIN.md).
    hours = np.clip(np.round(weekly_min / 60 * 2) / 2, 8, 60)
    wk = np.zeros((n, 7), dtype=bool)
    for grp in (SPLIT, EARLY, LATE):
        m = g == grp
        idx = carers["i"].to_numpy()[m]
        if idx.size:
            wk[m] = _working(int(idx.max()) + 1, 0)[idx]
    weekdays = join_flags(wk, WEEKDAY_NAMES)
    slot = visits["slot"].to_numpy()
    works_early = np.bincount(v_carer, slot <= 1, minlength=n) > 0
    works_late = np.bincount(v_carer, slot >= 2, minlength=n) > 0
    shift = np.where(
        works_early & ~works_late, EARLY, np.where(works_late & ~works_early, LATE, SPLIT)
    )
    shift_start = np.array([_SHIFTS[SPLIT][0], _SHIFTS[EARLY][0], _SHIFTS[LATE][0]], dtype=object)[
        shift
    ]
    shift_end = np.array([_SHIFTS[SPLIT][1], _SHIFTS[EARLY][1], _SHIFTS[LATE][1]], dtype=object)[
        shift
    ]
    pids = providers["provider_id"].to_numpy().astype(object)
    return pd.DataFrame(
        {
            "carer_id": make_ids("C", np.arange(1, n + 1), 5),
            "provider_id": pids[prov],
            "start_lat": np.round(start_lat, 6),
            "start_lon": np.round(start_lon, 6),
            "working_weekdays": weekdays,
            "shift_start": shift_start,
            "shift_end": shift_end,
            "contracted_hours_per_week": hours.astype(float),
            "skills": join_flags(skills, SU_SKILLS),
            "gender": gender,
            "travel_mode": mode,
        }
    )
