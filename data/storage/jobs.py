"""Durable jobs: long solves and audits queued in the database, so a restart loses nothing.

A job moves queued -> running -> succeeded | failed | cancelled. A worker claims a queued job
with a conditional UPDATE (one winner on SQLite and PostgreSQL alike), then beats a heartbeat
while it runs. A running job whose heartbeat went stale belonged to a worker that died: it is
queued again while attempts remain, otherwise failed with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from data.storage._base import Base

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")


class Job(Base):
    """One unit of long-running work and everything needed to run, watch or resume it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="status_known",
        ),
        Index(None, "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Double, default=0.0)
    progress_message: Mapped[str | None] = mapped_column(String(200))
    time_limit_s: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=2)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_id: Mapped[str | None] = mapped_column(String(80))

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class JobRepository:
    """Every query on jobs. Callers own the transaction (commit after each call)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        now: datetime,
        time_limit_s: int,
        created_by: str | None = None,
        max_attempts: int = 2,
    ) -> Job:
        if time_limit_s <= 0:
            raise ValueError("Expected time_limit_s > 0.")
        job = Job(
            kind=kind,
            status="queued",
            params=params,
            progress=0.0,
            time_limit_s=time_limit_s,
            created_by=created_by,
            created_at=now,
            attempts=0,
            max_attempts=max_attempts,
            cancel_requested=False,
        )
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, job_id: int) -> Job | None:
        return self.session.get(Job, job_id)

    def page(
        self,
        *,
        limit: int,
        offset: int,
        created_by: str | None = None,
        kind: str | None = None,
        status: str | None = None,
    ) -> tuple[list[Job], int]:
        query = select(Job)
        if created_by is not None:
            query = query.where(Job.created_by == created_by)
        if kind is not None:
            query = query.where(Job.kind == kind)
        if status is not None:
            query = query.where(Job.status == status)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset))
        return list(rows), total

    def latest_succeeded(self, kind: str, **params: Any) -> Job | None:
        """The newest succeeded job of a kind whose params include every given pair."""
        rows = self.session.scalars(
            select(Job)
            .where(Job.kind == kind, Job.status == "succeeded")
            .order_by(Job.id.desc())
            .limit(200)
        )
        for job in rows:
            if all(job.params.get(k) == v for k, v in params.items()):
                return job
        return None

    def claim_next(self, worker_id: str, *, now: datetime, kinds: tuple[str, ...]) -> Job | None:
        """Take the oldest queued job of the given kinds; None when there is none to take."""
        candidates = self.session.scalars(
            select(Job.id)
            .where(Job.status == "queued", Job.kind.in_(kinds))
            .order_by(Job.id)
            .limit(5)
        ).all()
        for job_id in candidates:
            result = self.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="running",
                    worker_id=worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    attempts=Job.attempts + 1,
                    error=None,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                job = self.session.get(Job, job_id, populate_existing=True)
                return job
        return None

    def heartbeat(
        self,
        job_id: int,
        worker_id: str,
        *,
        now: datetime,
        progress: float | None = None,
        message: str | None = None,
    ) -> bool:
        """Record liveness (and progress); returns whether cancellation was requested.

        Raises LookupError when the job is no longer this worker's running job.
        """
        values: dict[str, Any] = {"heartbeat_at": now}
        if progress is not None:
            values["progress"] = max(0.0, min(1.0, progress))
        if message is not None:
            values["progress_message"] = message[:200]
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LookupError(f"Job {job_id} is no longer running on worker {worker_id}.")
        return bool(self.session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

    def finish(
        self,
        job_id: int,
        worker_id: str,
        *,
        now: datetime,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Close a running job; False if another worker took it over meanwhile."""
        if status not in FINISHED_STATUSES:
            raise ValueError(f"Expected a finished status, not {status!r}.")
        values: dict[str, Any] = {
            "status": status,
            "finished_at": now,
            "heartbeat_at": now,
            "result": result,
            "error": error,
        }
        if status == "succeeded":
            values["progress"] = 1.0
        outcome = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return outcome.rowcount == 1  # type: ignore[attr-defined]

    def release(self, job_id: int, worker_id: str, *, reason: str) -> bool:
        """Hand a running job back to the queue (its worker is shutting down)."""
        outcome = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")
            .values(status="queued", worker_id=None, progress=0.0, progress_message=reason[:200])
            .execution_options(synchronize_session=False)
        )
        return outcome.rowcount == 1  # type: ignore[attr-defined]

    def request_cancel(self, job_id: int, *, now: datetime) -> Job | None:
        """Cancel a queued job at once; ask the worker to stop a running one."""
        self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="cancelled", finished_at=now, error="Cancelled before it started.")
            .execution_options(synchronize_session=False)
        )
        self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
        return self.session.get(Job, job_id, populate_existing=True)

    def recover_stale(self, *, now: datetime, stale_before: datetime) -> list[tuple[int, str]]:
        """Requeue or fail running jobs whose heartbeat is older than ``stale_before``.

        Returns (job id, new status) for each job recovered.
        """
        stale = self.session.scalars(
            select(Job).where(
                Job.status == "running",
                (Job.heartbeat_at.is_(None)) | (Job.heartbeat_at < stale_before),
            )
        ).all()
        recovered = []
        for job in stale:
            beat = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "never"
            reason = f"Worker {job.worker_id} stopped (last heartbeat {beat})"
            if job.cancel_requested:
                values: dict[str, Any] = {
                    "status": "cancelled",
                    "finished_at": now,
                    "error": f"{reason}; cancelled as requested.",
                }
            elif job.attempts < job.max_attempts:
                values = {
                    "status": "queued",
                    "worker_id": None,
                    "progress": 0.0,
                    "progress_message": f"{reason}; queued again.",
                }
            else:
                values = {
                    "status": "failed",
                    "finished_at": now,
                    "error": f"{reason}; gave up after {job.attempts} attempt(s).",
                }
            result = self.session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running", Job.worker_id == job.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                recovered.append((job.id, values["status"]))
        return recovered
