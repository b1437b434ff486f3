"""The re-allocation job: plan an area's day, re-allocate calls across providers, keep the moves.

Impact and savings come from ``solver.impact`` (every rate a ``SavingsRates`` parameter with
its source); this module only reads the records and shapes the result for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import solver
from app.planning import PlanningDay, build_planning_day, moves, read_planning_records
from app.settings import Settings
from app.travel import matrices_for
from data import create_engine_for

Progress = Callable[[float, str | None], None]
WEEKS_PER_YEAR = 52


def _figures(figures: solver.ProviderImpact, rates: solver.SavingsRates) -> dict[str, Any]:
    """One ``ProviderImpact`` as the API's impact figures (per day where the API says so)."""
    per_day = 1 / rates.days_per_week
    savings_per_week = (
        figures.mileage_saved_gbp_per_week + figures.interim_premium_avoided_gbp_per_week
    )
    return {
        "hours_freed_per_week": round(figures.hours_freed_per_week, 2),
        "travel_saved_min": round(figures.travel_saved_hours_per_week * 60 * per_day, 1),
        "miles_saved": round(figures.miles_saved_per_week * per_day, 2),
        "visits_moved": figures.visits_moved,
        "people_changing_provider": figures.people_changing_provider,
        "people_changing_carer": figures.people_changing_carer,
        "waiting_packages_absorbed": float(figures.packages_absorbed),
        "savings_gbp_per_year": round(savings_per_week * WEEKS_PER_YEAR, 2),
    }


def impact_figures(
    planning: PlanningDay,
    today: solver.Solution,
    proposal: solver.Solution,
    rates: solver.SavingsRates | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Overall and per-provider impact of a proposal against today's rounds."""
    rates = rates or solver.SavingsRates()
    effect = solver.impact(planning.problem, today, proposal, rates)
    per_provider = [
        {"provider_id": planning.provider_ids[p.provider], **_figures(p, rates)}
        for p in effect.providers
    ]
    return _figures(effect.overall, rates), per_provider


def reallocation_job(
    settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Re-allocate ``params["area"]``'s calls on ``params["day"]``; returns moves and impact."""
    day = date.fromisoformat(params["day"])
    progress(0.02, "reading records")
    engine = create_engine_for(settings.database_url)
    try:
        records = read_planning_records(engine, day)
    finally:
        engine.dispose()
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
        planning.problem,
        solver.ReallocationParams(time_limit_s=time_limit_s, workers=1),
        initial=planning.today,
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
    overall, per_provider = impact_figures(planning, base, proposal)
    return {
        "impact": overall,
        "provider_impact": per_provider,
        "moves": rows,
        "unserved": [
            {"visit_id": planning.visit_ids[u.visit], "reason": str(u.reason)}
            for u in proposal.unserved
        ],
        "baseline_travel_min": round(base.total.travel_s / 60, 1),
        "proposal_travel_min": round(proposal.total.travel_s / 60, 1),
    }
