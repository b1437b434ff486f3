"""ECM visits and care notes: each carer's day simulated in order, then anomalies planted.

All times are int64 seconds from midnight at the start of the period. Natural noise stays
well inside the audit tolerances and plants go well beyond them (docs/synthetic-data.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.records import FlagKind
from data.synthetic._notes import tasks_and_text
from data.synthetic._places import offset_m
from data.synthetic._rounds import AUDIT_TRAVEL
from data.synthetic.config import SyntheticConfig
from data.travel_estimate import haversine_m

MIN = 60
MISSING_PLANT_SPACING_S = 150 * MIN


@dataclass
class Simulated:
    """Internal visit and note arrays after simulation and planting."""

    visits: pd.DataFrame  # one row per visit (incl. rows to delete), internal columns
    notes: pd.DataFrame  # one row per note (incl. rows to delete), internal columns
    planted: dict[str, int] = field(default_factory=dict)


class _Planter:
    """Picks disjoint visits for each plant, favouring lax providers and some people."""

    def __init__(
        self, config: SyntheticConfig, weight: np.ndarray, rng: np.random.Generator
    ) -> None:
        self.config = config
        self.rng = rng
        self.weight = weight
        self.touched = np.zeros(weight.size, dtype=bool)
        self.planted: dict[str, int] = {}

    def count(self, kind: FlagKind, base: int) -> int:
        return max(self.config.min_planted_per_kind, round(self.config.rate(kind) * base))

    def pick(self, eligible: np.ndarray, k: int, *, label: str | None = None) -> np.ndarray:
        cands = np.flatnonzero(eligible & ~self.touched)
        k = min(k, cands.size)
        # Weighted sampling without replacement (Efraimidis-Spirakis): the k largest keys.
        keys = np.log(self.rng.random(cands.size)) / self.weight[cands]
        chosen = np.sort(cands[np.argpartition(-keys, k - 1)[:k]]) if k else cands[:0]
        self.touched[chosen] = True
        if label is not None:
            self.planted[label] = self.planted.get(label, 0) + int(chosen.size)
        return chosen


def simulate(
    config: SyntheticConfig,
    users: pd.DataFrame,
    calls: pd.DataFrame,
    planned: pd.DataFrame,
    carer_mode: np.ndarray,
    rng: np.random.Generator,
) -> Simulated:
    """Simulate check-ins and check-outs, write care notes, plant every anomaly kind."""
    tol = config.tolerances
    v = planned.sort_values(["carer", "day", "planned_min", "pos", "call"], kind="stable")
    v = v.reset_index(drop=True)
    n = len(v)
    user = v["user"].to_numpy()
    call = v["call"].to_numpy()
    carer = v["carer"].to_numpy()
    day = v["day"].to_numpy()
    dur_min = v["dur"].to_numpy()
    is_tc = calls["is_time_critical"].to_numpy()[call]
    is_double = calls["carers_required"].to_numpy()[call] == 2
    home_lat = users["lat"].to_numpy()[user]
    home_lon = users["lon"].to_numpy()[user]
    planned_s = (day * 86400 + v["planned_min"].to_numpy() * MIN).astype(np.int64)
    # Anomalies cluster: some providers are laxer than others (one audit found a provider
    # ~17.5% overpaid) and some people's calls are clipped week after week.
    n_providers = int(v["provider"].max()) + 1 if n else 1
    laxity = rng.lognormal(0.0, 0.7, n_providers)
    person = rng.lognormal(0.0, 0.7, len(users))
    p = _Planter(config, laxity[v["provider"].to_numpy()] * person[user], rng)

    # Natural durations: small overruns, underruns of at most a minute.
    over = np.where(rng.random(n) < 0.85, rng.uniform(-60, 240, n), rng.uniform(240, 600, n))
    dur_s = np.round(dur_min * MIN + over).astype(np.int64)
    short = p.pick(~is_double, p.count(FlagKind.SHORT_CALL, n), label="short_call")
    cut = np.maximum(rng.uniform(0.35, 0.7, short.size) * dur_min[short], 8.0)
    short_min = np.maximum(dur_min[short] - cut, 3.0)
    dur_s[short] = np.round(short_min * MIN - rng.uniform(0, 30, short.size)).astype(np.int64)

    # Lateness noise: most within ±15 min; ~1 in 10 over 30 min late (never on time-critical).
    u = rng.random(n)
    late = np.clip(rng.normal(0, 300, n), -600, 720)
    late = np.where(u > 0.93, rng.uniform(720, 1800, n), late)
    late = np.where(u > 0.99, rng.uniform(1800, 3000, n), late)
    late = np.where(is_tc, np.clip(rng.normal(0, 240, n), -480, 600), late)
    parking = rng.uniform(60, 180, n)
    first = np.concatenate([[True], (carer[1:] != carer[:-1]) | (day[1:] != day[:-1])])
    prev = np.maximum(np.arange(n) - 1, 0)
    dist = haversine_m(home_lat[prev], home_lon[prev], home_lat, home_lon)
    audit_travel = AUDIT_TRAVEL(home_lat[prev], home_lon[prev], home_lat, home_lon)
    mode = carer_mode[carer]
    speed = np.where(mode == "walk", 1.4, np.where(mode == "bike", 4.5, np.inf))
    travel = np.maximum(audit_travel, dist * 1.3 / speed)
    gap_needed = np.where(first, 0, np.ceil(travel + parking)).astype(np.int64)
    wanted = planned_s + np.round(late).astype(np.int64)
    pos = pd.Series(first).cumsum().to_numpy()
    pos = np.arange(n) - np.flatnonzero(first)[pos - 1]
    by_pos = [np.flatnonzero(pos == k) for k in range(int(pos.max()) + 1 if n else 0)]

    def run_days(wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_in = np.zeros(n, dtype=np.int64)
        check_out = np.zeros(n, dtype=np.int64)
        for k, idx in enumerate(by_pos):  # positions in a day (≈ 20), not visits
            if k == 0:
                check_in[idx] = wanted[idx]
            else:
                check_in[idx] = np.maximum(wanted[idx], check_out[idx - 1] + gap_needed[idx])
            check_out[idx] = check_in[idx] + dur_s[idx]
        return check_in, check_out

    check_in, check_out = run_days(wanted)
    # Double-ups: the first carer to arrive waits for the second, then both check in (a
    # second pass; rounds that waited start their later calls a little later).
    double_key = np.where(is_double, call * 100_000 + day, -1)
    group_code, group_inv = np.unique(double_key, return_inverse=True)
    if is_double.any():
        both = np.zeros(group_code.size, dtype=np.int64)
        np.maximum.at(both, group_inv[is_double], check_in[is_double])
        jitter = rng.integers(0, 3 * MIN, n)
        wanted = np.where(is_double, both[group_inv] + jitter, wanted)
        check_in, check_out = run_days(wanted)
        # The provider plans a double-up for when both carers can be there.
        first_in = np.full(group_code.size, np.iinfo(np.int64).max)
        np.minimum.at(first_in, group_inv[is_double], check_in[is_double])
        replanned = first_in[group_inv] - rng.integers(0, 10 * MIN, group_code.size)[group_inv]
        planned_s = np.where(is_double, (replanned // (5 * MIN)) * (5 * MIN), planned_s)

    # Missed and cancelled visits (unbilled), and missed visits billed anyway (planted).
    status = np.full(n, "completed", dtype=object)
    billed = dur_min.astype(np.int64).copy()
    missed = p.pick(~is_double, round(config.missed_share * n))
    status[missed] = "missed"
    cancelled = p.pick(~is_double, round(config.cancelled_share * n))
    status[cancelled] = "cancelled"
    billed[missed] = 0
    billed[cancelled] = 0
    n_billed = p.count(FlagKind.BILLED_ABOVE_VERIFIED, n)
    missed_billed = p.pick(~is_double, (n_billed + 1) // 2, label="billed_above_verified")
    status[missed_billed] = "missed"
    has_ci = status == "completed"

    # Deleted records: ECM not logged (note kept), note not written, double-up second carer absent.
    order = np.lexsort((check_in, user, carer))
    same = np.zeros(n, dtype=bool)
    oc, ou, oi, oh = carer[order], user[order], check_in[order], has_ci[order]
    same[1:] = (oc[1:] == oc[:-1]) & (ou[1:] == ou[:-1]) & oh[1:] & oh[:-1]
    gp = np.where(same, np.diff(oi, prepend=oi[0]), np.iinfo(np.int64).max)
    gap_next = np.concatenate([gp[1:], [np.iinfo(np.int64).max]])
    min_gap = np.empty(n, dtype=np.int64)
    min_gap[order] = np.minimum(gp, gap_next)
    spaced = has_ci & ~is_double & (min_gap >= MISSING_PLANT_SPACING_S)
    delete_ecm = np.zeros(n, dtype=bool)
    delete_note = np.zeros(n, dtype=bool)
    nwv = p.pick(spaced, p.count(FlagKind.NOTE_WITHOUT_VISIT, n), label="note_without_visit")
    delete_ecm[nwv] = True
    vwn = p.pick(spaced, p.count(FlagKind.VISIT_WITHOUT_NOTE, n), label="visit_without_note")
    delete_note[vwn] = True
    n_groups = int((group_code >= 0).sum())
    second = is_double & (v["pos"].to_numpy() == 1)
    dus = p.pick(second, p.count(FlagKind.DOUBLE_UP_SINGLE_CARER, n_groups))
    p.planted["double_up_single_carer"] = int(dus.size)
    delete_ecm[dus] = True
    delete_note[dus] = True
    p.touched[np.isin(group_inv, group_inv[dus]) & is_double] = True

    # Pairwise plants on consecutive logged visits of one carer (disjoint pairs).
    live = np.flatnonzero(has_ci & ~delete_ecm)
    live = live[np.lexsort((check_in[live], carer[live]))]
    a, b = live[:-1], live[1:]
    same_carer = carer[a] == carer[b]
    gap = check_in[b] - check_out[a]
    clean = same_carer & ~p.touched[a] & ~p.touched[b] & ~is_double[a] & ~is_double[b] & ~is_tc[b]
    clean &= user[a] != user[b]
    t_ab = AUDIT_TRAVEL(home_lat[a], home_lon[a], home_lat[b], home_lon[b])
    two_ok = clean & (dur_s[a] >= 25 * MIN) & (dur_s[b] >= 25 * MIN) & (gap <= 30 * MIN)
    trav_ok = clean & (t_ab >= 6 * MIN) & (gap <= 30 * MIN)
    chosen = np.zeros(a.size, dtype=bool)
    kinds = np.zeros(a.size, dtype=np.int8)
    for code, ok, kind in (
        (1, two_ok, FlagKind.CARER_IN_TWO_PLACES),
        (2, trav_ok, FlagKind.TRAVEL_INFEASIBLE),
    ):
        cands = np.flatnonzero(ok & ~chosen)
        k = min(p.count(kind, n), cands.size)
        pick = rng.choice(cands, size=k, replace=False)
        chosen[pick] = True
        kinds[pick] = code
    # A visit may be in one planted pair only: drop a pair whose "a" is another pair's "b".
    conflict = np.concatenate([[False], chosen[:-1]]) & chosen
    chosen &= ~conflict
    two = np.flatnonzero(chosen & (kinds == 1))
    trv = np.flatnonzero(chosen & (kinds == 2))
    new_in = check_out[a[two]] - rng.integers(12 * MIN, 18 * MIN + 1, two.size)
    shift = check_in[b[two]] - new_in
    check_in[b[two]] -= shift
    check_out[b[two]] -= shift
    slack = (t_ab[trv] - 5 * MIN).astype(np.int64)
    new_in = check_out[a[trv]] + (rng.random(trv.size) * np.maximum(slack, 0)).astype(np.int64)
    shift = check_in[b[trv]] - new_in
    check_in[b[trv]] -= shift
    check_out[b[trv]] -= shift
    p.touched[a[chosen]] = True
    p.touched[b[chosen]] = True
    p.planted["carer_in_two_places"] = int(two.size)
    p.planted["travel_infeasible"] = int(trv.size)

    # Care notes: written by the visit's carer a few minutes after the visit.
    with_note = has_ci & ~delete_note
    note_start = (check_in // MIN) * MIN - rng.integers(0, 2, n) * MIN
    note_end = -((-check_out) // MIN) * MIN + rng.integers(0, 3, n) * MIN
    alive = has_ci & ~delete_ecm & ~delete_note
    n_mis = p.count(FlagKind.DURATION_MISMATCH, n)
    mis = p.pick(alive, n_mis, label="duration_mismatch")
    shorter = mis[(rng.random(mis.size) < 0.3) & (dur_min[mis] >= 45)]
    longer = np.setdiff1d(mis, shorter)
    note_end[longer] += rng.integers(15, 36, longer.size) * MIN
    note_len = np.round(dur_min[shorter] * rng.uniform(0.3, 0.6, shorter.size)).astype(np.int64)
    note_end[shorter] = note_start[shorter] + note_len * MIN
    written = note_end + rng.integers(60, 20 * MIN, n)

    # Check-in method and location.
    method = rng.choice(np.array(["app", "nfc", "phone"], dtype=object), size=n, p=(0.6, 0.3, 0.1))
    r_m = np.where(
        method == "nfc",
        np.minimum(np.abs(rng.normal(0, 3, n)), 10),
        np.minimum(np.abs(rng.normal(0, 20, n)), 60),
    )
    ang = rng.uniform(0, 2 * np.pi, n)
    ci_lat, ci_lon = offset_m(home_lat, home_lon, r_m * np.cos(ang), r_m * np.sin(ang))
    ci_lat = np.where(method == "phone", np.nan, ci_lat)
    ci_lon = np.where(method == "phone", np.nan, ci_lon)
    manual = p.pick(alive, p.count(FlagKind.MANUAL_CHECK_IN, n), label="manual_check_in")
    method[manual] = "manual"
    ci_lat[manual] = np.nan
    ci_lon[manual] = np.nan
    far = p.pick(alive, p.count(FlagKind.CHECK_IN_FAR_FROM_HOME, n), label="check_in_far_from_home")
    far_m = tol.far_check_in_m * rng.uniform(3.0, 12.0, far.size)
    ang = rng.uniform(0, 2 * np.pi, far.size)
    method[far] = "app"
    ci_lat[far], ci_lon[far] = offset_m(
        home_lat[far], home_lon[far], far_m * np.cos(ang), far_m * np.sin(ang)
    )
    method = np.where(has_ci, method, np.array(None, dtype=object))
    ci_lat = np.where(has_ci, ci_lat, np.nan)
    ci_lon = np.where(has_ci, ci_lon, np.nan)

    # Time-critical calls: a round that ran late was re-planned (natural lateness stays
    # within 20 min); planted late starts are 40-75 min late or 40-60 min early.
    lateness = check_in - planned_s
    drift = is_tc & has_ci & (np.abs(lateness) > 20 * MIN)
    replanned = ((check_in - rng.integers(0, 10 * MIN, n)) // (5 * MIN)) * (5 * MIN)
    planned_s = np.where(drift, replanned, planned_s)
    lt = p.pick(is_tc & alive, p.count(FlagKind.LATE_TIME_CRITICAL, n), label="late_time_critical")
    tl = int(tol.late_time_critical_min * MIN)
    early = rng.random(lt.size) < 0.2
    late_by = rng.integers(tl + 10 * MIN, tl + 45 * MIN, lt.size)
    early_by = rng.integers(tl + 10 * MIN, tl + 30 * MIN, lt.size)
    planned_s[lt] = np.where(
        early,
        -((-(check_in[lt] + early_by)) // MIN) * MIN,
        ((check_in[lt] - late_by) // MIN) * MIN,
    )

    # Over-billing: billed well above what was delivered (verified = ECM minutes here).
    ob = p.pick(alive, n_billed - missed_billed.size, label="billed_above_verified")
    ecm_min = (check_out - check_in) / MIN
    billed[ob] = np.maximum(dur_min[ob], np.ceil(ecm_min[ob])).astype(np.int64) + rng.integers(
        int(tol.billed_above_verified_min) + 5, int(tol.billed_above_verified_min) + 26, ob.size
    )
    billed[missed_billed] = dur_min[missed_billed]

    slot = v["slot"].to_numpy()
    tasks, text = tasks_and_text(
        slot,
        medication=users["_needs_medication"].to_numpy()[user] & np.isin(slot, [0, 1, 3]),
        double_up=is_double,
        catheter=users["_needs_catheter"].to_numpy()[user],
        rng=rng,
    )
    visits = pd.DataFrame(
        {
            "provider": v["provider"].to_numpy(),
            "user": user,
            "carer": carer,
            "call": call,
            "planned_s": planned_s,
            "planned_duration_min": dur_min.astype(np.int64),
            "check_in_s": check_in,
            "check_out_s": check_out,
            "has_check_in": has_ci,
            "method": method,
            "check_in_lat": np.round(ci_lat, 6),
            "check_in_lon": np.round(ci_lon, 6),
            "double_group": np.where(is_double, group_inv, -1),
            "billed_min": billed,
            "status": status,
            "deleted": delete_ecm,
        }
    )
    nv = np.flatnonzero(with_note)
    notes = pd.DataFrame(
        {
            "visit": nv,
            "user": user[nv],
            "carer": carer[nv],
            "written_s": written[nv],
            "start_s": note_start[nv],
            "end_s": note_end[nv],
            "tasks": tasks[nv],
            "text": text[nv],
        }
    )
    return Simulated(visits=visits, notes=notes, planted=p.planted)
