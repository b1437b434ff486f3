"""Durable jobs: status, progress, cancellation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.api.deps import PageDep, SessionDep, now, require
from app.api.errors import NotFound
from app.api.schemas import ERROR_RESPONSES, JobOut, Page
from app.auth import Permission, Principal
from data.storage.jobs import Job, JobRepository

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERROR_RESPONSES)

Reader = Annotated[Principal, Depends(require(Permission.JOBS_READ))]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def visible_job(session, principal: Principal, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    """The job if the caller created it (or may see every job); 404 otherwise."""
    job = JobRepository(session).get(job_id)
    if job is None or not (
        principal.can(Permission.JOBS_READ_ALL) or job.created_by == principal.username
    ):
        raise NotFound(f"No job {job_id}.")
    return job


@router.get("", response_model=Page[JobOut])
def list_jobs(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    status: Annotated[
        str | None, Query(pattern="^(queued|running|succeeded|failed|cancelled)$")
    ] = None,
    kind: Annotated[str | None, Query(pattern="^(audit|reallocation)$")] = None,
) -> Page[JobOut]:
    """Jobs, newest first: yours, or every job for an admin."""
    created_by = None if principal.can(Permission.JOBS_READ_ALL) else principal.username
    rows, total = JobRepository(session).page(
        limit=page.limit, offset=page.offset, created_by=created_by, kind=kind, status=status
    )
    return Page[JobOut](
        items=[JobOut.model_validate(j) for j in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: JobId, session: SessionDep, principal: Reader) -> JobOut:
    """One job's status, progress and error."""
    return JobOut.model_validate(visible_job(session, principal, job_id))


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: JobId, session: SessionDep, principal: Reader) -> JobOut:
    """Cancel a queued job now, or ask the worker to stop a running one."""
    visible_job(session, principal, job_id)
    job = JobRepository(session).request_cancel(job_id, now=now())
    return JobOut.model_validate(job)
