"""The nightly batch: capacity released by re-allocation in every area, and the month's audit.

For one planning day it reconstructs today's rounds in each area, re-allocates them, and
reports per area: hours committed, travel, utilisation, capacity the proposal releases,
how many waiting-list packages that capacity absorbs, and projected savings. The month's
ECM audit runs beside it. Everything is written to a scratch directory first and published
by renaming, so a failed run leaves the previous report as it was; the solver stops on a
solution count rather than the clock, so a rerun on the same data gives the same report.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

import solver
from app.jobs.audit import run_audit
from app.planning import PlanningDay, PlanningError, build_planning_day, read_planning_records
from app.settings import Settings
from app.travel import matrices_for
from data import create_engine_for, read_records, upgrade_schema

SECONDS_PER_HOUR = 3600.0
# The statuses of people waiting for long-term care, and where each waits meanwhile.
WAITING_STATUSES = ("waiting", "interim", "bridging", "hospital")

_templates = Environment(
    loader=PackageLoader("app.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class NightlyParams:
    """How hard the nightly batch searches; a solution count keeps reruns identical."""

    solution_limit: int = 300
    time_limit_s_per_area: float = 300.0
    workers: int = 2
    seed: int = 0
    rates: solver.SavingsRates = field(default_factory=solver.SavingsRates)


@dataclass(frozen=True)
class NightlyOutcome:
    day: date
    report_dir: Path
    capacity: pd.DataFrame
    audit_run_id: int


def latest_planning_day(settings: Settings) -> date:
    """The most recent day with ECM visits stored."""
    engine = create_engine_for(settings.database_url)
    try:
        planned = read_records(engine, "ecm_visit", columns=["planned_start"])["planned_start"]
    finally:
        engine.dispose()
    if planned.empty:
        raise ValueError("No ECM visits stored; run `carerounds ingest` first.")
    return pd.Timestamp(planned.max()).date()


def area_capacity(
    planning: PlanningDay, params: NightlyParams, *, waiting_people: int
) -> dict[str, object]:
    """One area's row: today's rounds against the re-allocation, with impact and savings."""
    problem = planning.problem
    today = solver.evaluate_rounds(problem, planning.today)
    proposal = solver.reallocate(
        problem,
        solver.ReallocationParams(
            time_limit_s=params.time_limit_s_per_area,
            solution_limit=params.solution_limit,
            workers=params.workers,
            seed=params.seed,
        ),
        initial=planning.today,
    )
    overall = solver.impact(problem, today, proposal, params.rates).overall
    absorbed = int(overall.packages_absorbed)
    return {
        "area": planning.area,
        "day": planning.day.isoformat(),
        "visits": problem.num_visits,
        "carers": problem.num_carers,
        "providers": problem.n_providers,
        "contact_hours": round(today.total.contact_s / SECONDS_PER_HOUR, 1),
        "travel_hours_today": round(today.total.travel_s / SECONDS_PER_HOUR, 1),
        "travel_hours_proposed": round(proposal.total.travel_s / SECONDS_PER_HOUR, 1),
        "utilisation_today": round(today.total.utilisation, 3),
        "utilisation_proposed": round(proposal.total.utilisation, 3),
        "calls_unserved_proposed": len(proposal.unserved),
        "hours_freed_per_week": round(overall.hours_freed_per_week, 1),
        "miles_saved_per_week": round(overall.miles_saved_per_week, 0),
        "people_changing_provider": overall.people_changing_provider,
        "packages_absorbed": absorbed,
        "waiting_people": waiting_people,
        "waiting_people_placeable": min(absorbed, waiting_people),
        "mileage_saved_gbp_per_week": round(overall.mileage_saved_gbp_per_week, 2),
        "interim_premium_avoided_gbp_per_week": round(
            overall.interim_premium_avoided_gbp_per_week, 2
        ),
    }


def _publish(scratch: Path, final: Path) -> None:
    """Replace ``final`` with ``scratch``; ``final`` is only touched once scratch is complete."""
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(scratch, final)
    if old.exists():
        shutil.rmtree(old)


def run_nightly(
    settings: Settings, *, day: date | None = None, params: NightlyParams | None = None
) -> NightlyOutcome:
    """Run the nightly batch for ``day`` (default: the latest day with ECM visits)."""
    params = params or NightlyParams()
    upgrade_schema(settings.database_url)
    day = day or latest_planning_day(settings)
    engine = create_engine_for(settings.database_url)
    try:
        records = read_planning_records(engine, day)
    finally:
        engine.dispose()
    users = records["service_user"]
    waiting = users[users["status"].isin(WAITING_STATUSES)].groupby("area").size()
    matrices = matrices_for(settings)
    rows = []
    for area in sorted(users["area"].dropna().unique()):
        try:
            planning = build_planning_day(records, day, matrices=matrices, area=str(area))
        except PlanningError:
            continue  # no visits in this area on the day
        rows.append(area_capacity(planning, params, waiting_people=int(waiting.get(area, 0))))
    if not rows:
        raise ValueError(f"No ECM visits on {day.isoformat()} in any area.")
    capacity = pd.DataFrame(rows)

    root = settings.reports_dir / "nightly"
    root.mkdir(parents=True, exist_ok=True)
    final = root / day.isoformat()
    scratch = root / f".{day.isoformat()}.tmp-{os.getpid()}"
    if scratch.exists():
        shutil.rmtree(scratch)
    try:
        audit = run_audit(
            settings,
            out_dir=scratch / "audit",
            month=day.strftime("%Y-%m"),
            generated_at=datetime.combine(day, time.max),
            report_title=f"ECM against care notes, {day.strftime('%B %Y')}",
        )
        capacity.to_csv(scratch / "capacity.csv", index=False)
        totals = capacity.select_dtypes("number").sum().round(2).to_dict()
        (scratch / "summary.json").write_text(
            json.dumps({"day": day.isoformat(), "totals": totals}, indent=2, sort_keys=True),
            encoding="utf-8",
        )
        html = _templates.get_template("nightly_report.html").render(
            day=day.isoformat(), areas=capacity.to_dict("records"), totals=totals
        )
        (scratch / "nightly_report.html").write_text(html, encoding="utf-8")
        # Provenance that differs between reruns lives apart from the report's content.
        (scratch / "run.json").write_text(
            json.dumps(
                {"audit_run_id": audit.run_id, "finished_at": datetime.now().isoformat()},
                indent=2,
            ),
            encoding="utf-8",
        )
        _publish(scratch, final)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)
    return NightlyOutcome(day=day, report_dir=final, capacity=capacity, audit_run_id=audit.run_id)
