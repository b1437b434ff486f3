"""Placement of a new package, re-allocation jobs and their proposals, capacity and savings."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from app.api._placement import placement_proposals
from app.api.deps import (
    AccessLogDep,
    AreaFilter,
    PageDep,
    PeriodDep,
    SessionDep,
    SettingsDep,
    require,
)
from app.api.errors import Conflict, NotFound
from app.api.routes.jobs import visible_job
from app.api.schemas import (
    ERROR_RESPONSES,
    CapacityOut,
    ImpactOut,
    JobOut,
    MoveOut,
    PlacementIn,
    PlacementOut,
    PlacementProposalOut,
    ProviderCapacityOut,
    ReallocationIn,
    ReallocationOut,
    SavingsOut,
)
from app.auth import Permission, Principal
from app.jobs.runner import enqueue
from data.storage import reads as q
from data.storage.jobs import JobRepository

router = APIRouter(tags=["brokerage"], responses=ERROR_RESPONSES)


@router.post("/api/brokerage/placements", response_model=PlacementOut)
async def place_package(
    body: PlacementIn,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.PLACEMENT))],
    log: AccessLogDep,
) -> PlacementOut:
    """Ranked proposals for where a new package fits in today's rounds, least added travel first."""
    principal.require_area(body.area)
    started = time.perf_counter()
    proposals, reasons = await run_in_threadpool(
        placement_proposals, request.app.state.planning_context, body
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.read(principal, subject_ids=[], filters={"area": body.area, "day": str(body.day)})
    return PlacementOut(
        area=body.area,
        day=body.day,
        proposals=[PlacementProposalOut.model_validate(p) for p in proposals],
        unplaced_reasons=list(reasons),
        elapsed_ms=round(elapsed_ms, 2),
    )


@router.post("/api/brokerage/reallocations", response_model=JobOut, status_code=202)
def request_reallocation(
    body: ReallocationIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.REALLOCATION_RUN))],
) -> JobOut:
    """Queue a re-allocation of an area's calls for a day across providers, as a job."""
    principal.require_area(body.area)
    job = enqueue(
        session,
        settings,
        "reallocation",
        {
            "area": body.area,
            "day": body.day.isoformat(),
            "time_limit_s": body.time_limit_s,
            "max_provider_changes": body.max_provider_changes,
        },
        created_by=principal.username,
        time_limit_s=(body.time_limit_s + 60) if body.time_limit_s else None,
    )
    return JobOut.model_validate(job)


@router.get("/api/brokerage/reallocations/{job_id}", response_model=ReallocationOut)
def reallocation_proposal(
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.REALLOCATION_READ))],
    log: AccessLogDep,
    page: PageDep,
) -> ReallocationOut:
    """A re-allocation's proposed moves and their impact (hours freed, travel, savings)."""
    job = visible_job(session, principal, job_id)
    if job.kind != "reallocation":
        raise NotFound(f"Job {job_id} is not a re-allocation.")
    principal.require_area(job.params.get("area"))
    result = job.result or {}
    if job.status in ("failed", "cancelled"):
        raise Conflict(f"Re-allocation job {job_id} {job.status}: {job.error or 'no detail'}")
    moves = result.get("moves", [])
    window = moves[page.offset : page.offset + page.limit]
    log.read(principal, subject_ids=[m.get("service_user_id") for m in window])
    impact = result.get("impact")
    return ReallocationOut(
        job_id=job.id,
        area=job.params["area"],
        day=date.fromisoformat(job.params["day"]),
        status=job.status,
        impact=ImpactOut.model_validate(impact) if impact else None,
        provider_impact=result.get("provider_impact", []),
        moves=[MoveOut.model_validate(m) for m in window],
        total_moves=len(moves),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/api/capacity", response_model=CapacityOut)
def capacity(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.CAPACITY_READ))],
    period: PeriodDep,
    area: AreaFilter = None,
) -> CapacityOut:
    """Contracted, commissioned and delivered hours per provider; waiting list; savings."""
    figures = q.capacity(session, area=area, start=period.start, end=period.end)
    providers = [ProviderCapacityOut(**row) for row in figures["providers"]]
    run_id = q.latest_audit_run_id(session)
    variance = (
        q.variance_gbp(session, run_id, start=period.start, end=period.end) if run_id else None
    )
    job = JobRepository(session).latest_succeeded("reallocation", area=area) if area else None
    impact = (job.result or {}).get("impact") if job else None
    return CapacityOut(
        area=area,
        start=period.start,
        end=period.end,
        providers=providers,
        contracted_hours_per_week=round(sum(p.contracted_hours_per_week for p in providers), 2),
        commissioned_hours_per_week=round(sum(p.commissioned_hours_per_week for p in providers), 2),
        delivered_hours=round(sum(p.delivered_hours for p in providers), 2),
        waiting_people=figures["waiting_people"],
        waiting_hours_per_week=figures["waiting_hours_per_week"],
        savings=SavingsOut(
            billed_minus_verified_gbp=None if variance is None else round(variance, 2),
            hours_freed_per_week=impact.get("hours_freed_per_week") if impact else None,
            savings_gbp_per_year=impact.get("savings_gbp_per_year") if impact else None,
            from_reallocation_job=job.id if job else None,
        ),
    )
