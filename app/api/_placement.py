"""Placement proposals for a broker: where a new package fits in an area's rounds on a day.

Interim composition until ``solver.place_package`` lands: cheapest insertion into today's
rounds (reconstructed from ECM by ``app.planning``), one call at a time, without moving
anyone else's visit. Legs to and from the new home use the straight-line estimate of the
audit settings; legs between existing stops use the planning day's matrix. The planning day
of each (area, day) is built once and cached for ``CACHE_TTL_S``, so a broker's repeated
questions cost milliseconds.
"""

from __future__ import annotations

import threading
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np

import solver
from app.api.schemas import PlacementIn
from app.settings import Settings
from data.travel_estimate import straight_line_travel

CACHE_TTL_S = 300.0
_lock = threading.Lock()


@dataclass(frozen=True)
class _Day:
    planning: Any  # app.planning.PlanningDay
    routes: tuple[solver.Route, ...]
    provider_of_carer: np.ndarray
    built_at: float


def _build_day(settings: Settings, area: str, day: date) -> _Day:
    from app.jobs.reallocation import load_day_records
    from app.planning import build_planning_day
    from app.travel import matrices_for

    records = load_day_records(settings, day)
    planning = build_planning_day(records, day, matrices=matrices_for(settings), area=area)
    today = solver.evaluate_rounds(planning.problem, planning.today)
    providers = np.array([c.provider for c in planning.problem.carers], dtype=np.int64)
    return _Day(planning, today.routes, providers, clock.monotonic())


def planning_day(context: Any, area: str, day: date) -> _Day:
    """The cached planning day for ``area`` on ``day`` (built on first use)."""
    key = f"placement:{area}:{day.isoformat()}"
    with _lock:
        cached = context.cache.get(key)
        if cached is not None and clock.monotonic() - cached.built_at < CACHE_TTL_S:
            return cached  # type: ignore[no-any-return]
    built = _build_day(context.settings, area, day)
    with _lock:
        context.cache[key] = built
    return built


def _seconds(t: dtime) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _clock(s: int) -> dtime:
    return (datetime.min + timedelta(seconds=int(s))).time()


def placement_proposals(context: Any, body: PlacementIn) -> tuple[list[dict[str, Any]], list[str]]:
    """Ranked proposals (least added travel first) and, when there are none, why not."""
    day = planning_day(context, body.area, body.day)
    planning = day.planning
    problem = planning.problem
    audit = context.settings.audit
    travel = straight_line_travel(
        circuity=audit.travel_circuity, speed_m_per_s=audit.travel_speed_m_per_s
    )
    lat, lon = planning.location_lat, planning.location_lon
    new_to = np.rint(
        travel(np.full(len(lat), body.lat), np.full(len(lon), body.lon), lat, lon)
    ).astype(np.int64)
    skills = frozenset(body.required_skills)
    gender = body.carer_gender_preference if body.carer_gender_preference != "none" else None

    # best[provider][call] = list of (added_s, carer, start_s) sorted, one per carer.
    best: dict[int, dict[int, list[tuple[int, int, int]]]] = {}
    for k, carer in enumerate(problem.carers):
        if not skills <= carer.skills or (gender is not None and carer.gender != gender):
            continue
        matrix = problem.travel_s[carer.travel_mode]
        route = day.routes[k]
        stops = [problem.visits[i] for i in route.visits]
        for c, call in enumerate(body.calls):
            ws, we = _seconds(call.window_start), _seconds(call.window_end)
            duration = call.duration_min * 60
            choice = _best_insertion(route, stops, carer, matrix, new_to, ws, we, duration)
            if choice is not None:
                added, start = choice
                best.setdefault(int(day.provider_of_carer[k]), {}).setdefault(c, []).append(
                    (added, k, start)
                )

    proposals = []
    for provider, per_call in best.items():
        calls_out, total_added = [], 0
        for c, call in enumerate(body.calls):
            options = sorted(per_call.get(c, []))
            if len(options) < call.carers_required:
                break
            chosen = options[: call.carers_required]
            added = sum(o[0] for o in chosen)
            start = max(o[2] for o in chosen)
            total_added += added
            calls_out.append(
                {
                    "call_index": c,
                    "carer_ids": [planning.carer_ids[o[1]] for o in chosen],
                    "start": _clock(start),
                    "added_travel_min": round(added / 60, 1),
                    "lateness_min": 0.0,
                }
            )
        else:
            first_carer = per_call[0][0][1] if per_call.get(0) else None
            home = problem.carers[first_carer].start_location if first_carer is not None else None
            proposals.append(
                {
                    "provider_id": planning.provider_ids[provider],
                    "added_travel_min": round(total_added / 60, 1),
                    "lateness_min": 0.0,
                    "calls": calls_out,
                    "carer_lat": float(lat[home]) if home is not None else None,
                    "carer_lon": float(lon[home]) if home is not None else None,
                }
            )
    proposals.sort(key=lambda p: (p["added_travel_min"], p["provider_id"]))
    ranked = [{"rank": i + 1, **p} for i, p in enumerate(proposals[: body.top_k])]
    reasons = (
        []
        if ranked
        else [
            f"No provider in {body.area} has carers free for every call without moving other "
            "visits; try another day or re-allocate the area first."
        ]
    )
    return ranked, reasons


def _best_insertion(
    route: solver.Route,
    stops: list[Any],
    carer: Any,
    matrix: np.ndarray,
    new_to: np.ndarray,
    ws: int,
    we: int,
    duration: int,
) -> tuple[int, int] | None:
    """(added travel s, start s) of the cheapest feasible position in one round, or None."""
    best: tuple[int, int] | None = None
    n = len(stops)
    for pos in range(n + 1):
        if pos == 0:
            prev_loc, prev_end = carer.start_location, carer.shift_start_s
        else:
            prev_loc = stops[pos - 1].location
            prev_end = route.start_s[pos - 1] + stops[pos - 1].duration_s
        if pos == n:
            next_loc, next_start = carer.end_location, carer.shift_end_s
        else:
            next_loc, next_start = stops[pos].location, route.start_s[pos]
        if prev_end > we:
            break
        start = max(ws, prev_end + int(new_to[prev_loc]))
        end = start + duration
        if end > we or end + int(new_to[next_loc]) > next_start:
            continue
        added = int(new_to[prev_loc] + new_to[next_loc] - matrix[prev_loc, next_loc])
        if best is None or added < best[0]:
            best = (added, start)
    return best
