"""Placement proposals for a broker: where a new package fits in an area's rounds on a day.

Today's rounds are reconstructed from ECM by ``app.planning``; the new home is appended to
the day's travel matrices and ``solver``'s vectorised placement index ranks, per provider,
the cheapest feasible insertion of every call (double-ups on two carers arriving together)
without moving anyone else's visit. The planning day of each (area, day) is built once and
cached for ``CACHE_TTL_S``, so a broker's repeated questions cost milliseconds.
"""

from __future__ import annotations

import threading
import time as clock
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np

import solver
from app.api.schemas import PlacementIn
from solver.insertion import PlacementIndex

CACHE_TTL_S = 300.0
# Both carers of a double-up arrive within this many seconds of each other.
DOUBLE_UP_TOLERANCE_S = 10 * 60
_lock = threading.Lock()


@dataclass(frozen=True)
class _Day:
    planning: Any  # app.planning.PlanningDay
    today: solver.Solution
    provider_of_carer: np.ndarray
    built_at: float


def _build_day(context: Any, area: str, day: date) -> _Day:
    from app.planning import build_planning_day, read_planning_records
    from app.travel import matrices_for

    records = read_planning_records(context.engine, day)
    planning = build_planning_day(records, day, matrices=matrices_for(context.settings), area=area)
    today = solver.evaluate_rounds(planning.problem, planning.today)
    providers = np.array([c.provider for c in planning.problem.carers], dtype=np.int64)
    return _Day(planning, today, providers, clock.monotonic())


def planning_day(context: Any, area: str, day: date) -> _Day:
    """The cached planning day for ``area`` on ``day`` (built on first use)."""
    key = f"placement:{area}:{day.isoformat()}"
    with _lock:
        cached = context.cache.get(key)
        if cached is not None and clock.monotonic() - cached.built_at < CACHE_TTL_S:
            return cached  # type: ignore[no-any-return]
    built = _build_day(context, area, day)
    with _lock:
        context.cache[key] = built
    return built


def _seconds(t: dtime) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _clock(s: int) -> dtime:
    return (datetime.min + timedelta(seconds=int(s))).time()


def _with_new_home(context: Any, day: _Day, lat: float, lon: float) -> tuple[Any, int]:
    """The day's problem with the new home appended as the last location, and its index."""
    from app.travel import matrices_for

    planning = day.planning
    all_lat = np.append(planning.location_lat, lat)
    all_lon = np.append(planning.location_lon, lon)
    travel_s, distance_m = matrices_for(context.settings)(all_lat, all_lon)
    problem = replace(planning.problem, travel_s=travel_s, distance_m=distance_m)
    return problem, len(all_lat) - 1


def package_calls(body: PlacementIn, location: int, *, double_up_tolerance_s: int) -> list[Any]:
    """The package's calls as solver visits; a double-up is two visits sharing a sync group."""
    skills = frozenset(body.required_skills)
    gender = body.carer_gender_preference if body.carer_gender_preference != "none" else None
    visits = []
    for c, call in enumerate(body.calls):
        for _ in range(call.carers_required):
            visits.append(
                solver.Visit(
                    location=location,
                    window_start_s=_seconds(call.window_start),
                    window_end_s=_seconds(call.window_end),
                    duration_s=call.duration_min * 60,
                    skills=skills,
                    gender=gender,
                    sync_group=c if call.carers_required == 2 else -1,
                    sync_min_gap_s=-double_up_tolerance_s if call.carers_required == 2 else 0,
                    sync_max_gap_s=double_up_tolerance_s if call.carers_required == 2 else 0,
                )
            )
    return visits


def placement_proposals(context: Any, body: PlacementIn) -> tuple[list[dict[str, Any]], list[str]]:
    """Ranked proposals (least added travel first) and, when there are none, why not."""
    day = planning_day(context, body.area, body.day)
    planning = day.planning
    problem, home = _with_new_home(context, day, body.lat, body.lon)
    visits = package_calls(body, home, double_up_tolerance_s=DOUBLE_UP_TOLERANCE_S)
    call_of_visit = [c for c, call in enumerate(body.calls) for _ in range(call.carers_required)]
    index = PlacementIndex(problem, day.today)
    found = index.place(visits, solver.PlacementParams(top_k=body.top_k))
    lat, lon = planning.location_lat, planning.location_lon
    ranked = []
    for rank, placement in enumerate(found, start=1):
        by_call: dict[int, list[Any]] = {}
        for ins in placement.insertions:
            by_call.setdefault(call_of_visit[ins.call], []).append(ins)
        calls_out = [
            {
                "call_index": c,
                "carer_ids": [planning.carer_ids[i.carer] for i in inserted],
                "start": _clock(max(i.start_s for i in inserted)),
                "added_travel_min": round(sum(i.added_travel_s for i in inserted) / 60, 1),
                "lateness_min": round(max(i.lateness_s for i in inserted) / 60, 1),
            }
            for c, inserted in sorted(by_call.items())
        ]
        first = problem.carers[placement.insertions[0].carer].start_location
        ranked.append(
            {
                "rank": rank,
                "provider_id": planning.provider_ids[placement.provider],
                "added_travel_min": round(placement.added_travel_s / 60, 1),
                "lateness_min": round(placement.lateness_s / 60, 1),
                "calls": calls_out,
                "carer_lat": float(lat[first]),
                "carer_lon": float(lon[first]),
            }
        )
    reasons = (
        []
        if ranked
        else [
            f"No provider in {body.area} has carers free for every call without moving other "
            "visits; try another day or re-allocate the area first."
        ]
    )
    return ranked, reasons
