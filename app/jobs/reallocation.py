"""The re-allocation job: plan an area's day, re-allocate calls across providers, keep the moves.

Impact figures are computed here from the two solutions (today's rounds, the proposal) until
the solver's impact model lands; every rate is a constant below with its source.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import solver
from app.planning import build_planning_day, moves
from app.settings import Settings
from app.travel import matrices_for
from data.records import LOAD_ORDER
from data.storage import create_engine_for, read_records

Progress = Callable[[float, str | None], None]

# Typical package: 12-17 hours per person per week (DOMAIN.md); the middle of the range.
TYPICAL_PACKAGE_HOURS_PER_WEEK = 14.5
# HMRC approved mileage rate, £ per mile (DOMAIN.md).
MILEAGE_GBP_PER_MILE = 0.45
# Interim care is at least £2/h dearer than long-term homecare (DOMAIN.md, council papers).
INTERIM_PREMIUM_GBP_PER_HOUR = 2.0
METRES_PER_MILE = 1609.344
DAYS_PER_WEEK = 7
WEEKS_PER_YEAR = 52


def load_day_records(settings: Settings, day: date) -> dict[str, Any]:
    """Every record kind the planning day needs, ECM visits of ``day`` only (no note text)."""
    engine = create_engine_for(settings.database_url)
    try:
        start = datetime.combine(day, time())
        records = {}
        for kind in LOAD_ORDER:
            if kind == "care_note":
                continue
            if kind == "ecm_visit":
                records[kind] = read_records(
                    engine, kind, start=start, end=start + timedelta(days=1)
                )
            else:
                records[kind] = read_records(engine, kind)
        return records
    finally:
        engine.dispose()


def impact(base: solver.Solution, proposal: solver.Solution, moved: Any) -> dict[str, float]:
    """Hours freed, travel and miles saved, people moved, and savings of a proposal (per week/year)."""
    freed_s_per_day = (base.total.travel_s + base.total.waiting_s) - (
        proposal.total.travel_s + proposal.total.waiting_s
    )
    hours_per_week = freed_s_per_day / 3600 * DAYS_PER_WEEK
    miles_per_day = (base.total.distance_m - proposal.total.distance_m) / METRES_PER_MILE
    absorbed = max(0.0, hours_per_week) / TYPICAL_PACKAGE_HOURS_PER_WEEK
    mileage_gbp = miles_per_day * DAYS_PER_WEEK * WEEKS_PER_YEAR * MILEAGE_GBP_PER_MILE
    premium_gbp = (
        absorbed * TYPICAL_PACKAGE_HOURS_PER_WEEK * WEEKS_PER_YEAR * INTERIM_PREMIUM_GBP_PER_HOUR
    )
    return {
        "hours_freed_per_week": round(hours_per_week, 2),
        "travel_saved_min": round((base.total.travel_s - proposal.total.travel_s) / 60, 1),
        "miles_saved": round(miles_per_day, 2),
        "visits_moved": len(moved),
        "people_changing_provider": int(proposal.provider_changes),
        "people_changing_carer": int(moved["service_user_id"].nunique()) if len(moved) else 0,
        "waiting_packages_absorbed": round(absorbed, 2),
        "savings_gbp_per_year": round(mileage_gbp + premium_gbp, 2),
    }


def reallocation_job(
    settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Re-allocate ``params["area"]``'s calls on ``params["day"]``; returns moves and impact."""
    day = date.fromisoformat(params["day"])
    progress(0.02, "reading records")
    records = load_day_records(settings, day)
    progress(0.1, "building the planning day")
    planning = build_planning_day(
        records,
        day,
        matrices=matrices_for(settings),
        area=params["area"],
        max_provider_changes=params.get("max_provider_changes"),
    )
    base = solver.evaluate_rounds(planning.problem, planning.today)
    progress(0.2, f"re-allocating {planning.problem.num_visits} calls")
    time_limit_s = float(params.get("time_limit_s") or 30)
    proposal = solver.reallocate(
        planning.problem, solver.ReallocationParams(time_limit_s=time_limit_s, workers=1)
    )
    progress(0.95, "costing the proposal")
    moved = moves(planning, proposal)
    starts = proposal.start_of(planning.problem.num_visits)
    index = {v: i for i, v in enumerate(planning.visit_ids)}
    rows = []
    for row in moved.itertuples(index=False):
        s = int(starts[index[str(row.visit_id)]])
        rows.append(
            {
                "service_user_id": row.service_user_id,
                "visit_id": row.visit_id,
                "from_provider_id": row.from_provider_id or None,
                "to_provider_id": row.to_provider_id or None,
                "from_carer_id": row.from_carer_id or None,
                "to_carer_id": row.to_carer_id or None,
                "start": f"{s // 3600:02d}:{s % 3600 // 60:02d}" if s >= 0 else None,
            }
        )
    return {
        "impact": impact(base, proposal, moved),
        "provider_impact": [],
        "moves": rows,
        "unserved": [
            {"visit_id": planning.visit_ids[u.visit], "reason": str(u.reason)}
            for u in proposal.unserved
        ],
        "baseline_travel_min": round(base.total.travel_s / 60, 1),
        "proposal_travel_min": round(proposal.total.travel_s / 60, 1),
    }
