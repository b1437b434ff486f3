"""Repositories: the queries the API and jobs run against import batches and audit runs.

They take the caller's Session and never commit; the request dependency or job runner does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.storage._models import AuditRun, ImportBatch


class ImportBatchRepository:
    """Import batches, newest first."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, batch_id: int) -> ImportBatch | None:
        """One batch by id."""
        return self.session.get(ImportBatch, batch_id)

    def page(
        self, *, offset: int = 0, limit: int = 50, status: str | None = None
    ) -> Sequence[ImportBatch]:
        """A page of batches, newest first, optionally of one status."""
        statement = select(ImportBatch).order_by(ImportBatch.id.desc())
        if status is not None:
            statement = statement.where(ImportBatch.status == status)
        return self.session.scalars(statement.offset(offset).limit(limit)).all()

    def count(self, *, status: str | None = None) -> int:
        """How many batches (of one status)."""
        statement = select(func.count()).select_from(ImportBatch)
        if status is not None:
            statement = statement.where(ImportBatch.status == status)
        return int(self.session.scalar(statement) or 0)

    def by_sha256(self, sha256: str) -> ImportBatch | None:
        """The live (not failed) batch that imported content with this hash."""
        return self.session.scalars(
            select(ImportBatch).where(ImportBatch.sha256 == sha256, ImportBatch.status != "failed")
        ).first()


class AuditRunRepository:
    """Audit runs, newest first (their outputs are read with ``read_audit_table``)."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, run_id: int) -> AuditRun | None:
        """One run by id."""
        return self.session.get(AuditRun, run_id)

    def page(self, *, offset: int = 0, limit: int = 50) -> Sequence[AuditRun]:
        """A page of runs, newest first."""
        statement = select(AuditRun).order_by(AuditRun.id.desc()).offset(offset).limit(limit)
        return self.session.scalars(statement).all()
