"""Audit runs, provider-month money, flags with evidence, review priority, CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.api.deps import (
    AccessLogDep,
    AreaFilter,
    MonthFilter,
    PageDep,
    ProviderFilter,
    SessionDep,
    SettingsDep,
    now,
    require,
)
from app.api.errors import NotFound
from app.api.schemas import (
    ERROR_RESPONSES,
    AuditFlagOut,
    AuditRunIn,
    AuditRunOut,
    JobOut,
    NoteExcerptOut,
    Page,
    ProviderMonthOut,
    ReviewPriorityOut,
    VisitOutcomeOut,
)
from app.auth import NotPermitted, Permission, Principal
from app.jobs.runner import enqueue
from data.records import FlagKind
from data.storage import reads as q

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=ERROR_RESPONSES)

Aggregate = Annotated[Principal, Depends(require(Permission.AUDIT_AGGREGATE))]
Identifiable = Annotated[Principal, Depends(require(Permission.AUDIT_IDENTIFIABLE))]
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Audit run id.")]
EXCERPT_CHARS = 280
CSV_MAX_ROWS = 1_000_000


def _run_or_404(session, run_id: int):  # type: ignore[no-untyped-def]
    run = q.audit_run(session, run_id)
    if run is None:
        raise NotFound(f"No audit run {run_id}.")
    return run


def _run_out(run: Any) -> AuditRunOut:
    params = run.params or {}
    return AuditRunOut(
        id=run.id,
        created_at=run.created_at,
        provider_id=params.get("provider_id"),
        month=params.get("month"),
    )


def _page(schema: type[BaseModel], rows: list, total: int, page: Any) -> Any:
    return Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/runs", response_model=Page[AuditRunOut])
def list_runs(session: SessionDep, principal: Aggregate, page: PageDep) -> Page[AuditRunOut]:
    """Audit runs, newest first."""
    rows, total = q.paged(session, q.audit_runs(), limit=page.limit, offset=page.offset)
    return Page[AuditRunOut](
        items=[_run_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/runs", response_model=JobOut, status_code=202)
def run_audit(
    body: AuditRunIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.AUDIT_RUN))],
) -> JobOut:
    """Queue an audit (reconcile ECM with care notes) as a job; poll it under /api/jobs."""
    job = enqueue(
        session,
        settings,
        "audit",
        {"provider_id": body.provider_id, "month": body.month},
        created_by=principal.username,
        time_limit_s=body.time_limit_s,
    )
    return JobOut.model_validate(job)


@router.get("/runs/{run_id}", response_model=AuditRunOut)
def get_run(run_id: RunId, session: SessionDep, principal: Aggregate) -> AuditRunOut:
    """One audit run and what it covered."""
    return _run_out(_run_or_404(session, run_id))


@router.get("/runs/{run_id}/provider-months", response_model=Page[ProviderMonthOut])
def provider_months(
    run_id: RunId,
    session: SessionDep,
    principal: Aggregate,
    page: PageDep,
    provider_id: ProviderFilter = None,
    month: MonthFilter = None,
) -> Page[ProviderMonthOut]:
    """Billed, verified and variance in £ per provider per month (largest variance first)."""
    _run_or_404(session, run_id)
    query = q.provider_months(run_id, provider_id=provider_id, month=month)
    rows, total = q.paged(session, query, limit=page.limit, offset=page.offset)
    return _page(ProviderMonthOut, rows, total, page)  # type: ignore[no-any-return]


@router.get("/runs/{run_id}/flags", response_model=Page[AuditFlagOut])
def list_flags(
    run_id: RunId,
    session: SessionDep,
    principal: Identifiable,
    log: AccessLogDep,
    page: PageDep,
    provider_id: ProviderFilter = None,
    month: MonthFilter = None,
    flag_kind: Annotated[FlagKind | None, Query()] = None,
    service_user_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditFlagOut]:
    """Flags with their evidence and money at stake (largest amount first)."""
    _run_or_404(session, run_id)
    query = q.flags(
        run_id,
        provider_id=provider_id,
        month=month,
        flag_kind=flag_kind.value if flag_kind else None,
        service_user_id=service_user_id,
    )
    rows, total = q.paged(session, query, limit=page.limit, offset=page.offset)
    log.read(principal, subject_ids=[r.service_user_id for r in rows])
    return _page(AuditFlagOut, rows, total, page)  # type: ignore[no-any-return]


@router.get("/runs/{run_id}/flags/{flag_id}/note-excerpt", response_model=NoteExcerptOut)
def note_excerpt(
    run_id: RunId,
    flag_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.NOTE_EXCERPT))],
    log: AccessLogDep,
    x_purpose: Annotated[
        str, Header(min_length=3, max_length=200, description="Why the excerpt is needed.")
    ],
) -> NoteExcerptOut:
    """The flagged care note's excerpt, for a contract manager granted note evidence."""
    if not principal.may_read_note_text:
        raise NotPermitted(f"User {principal.username} has no grant to read care-note text.")
    flag = q.flag(session, run_id, flag_id)
    if flag is None:
        raise NotFound(f"No flag {flag_id} in audit run {run_id}.")
    note_id = flag.record_id if flag.record_kind == "care_note" else None
    if note_id is None:
        outcome = session.execute(
            q.visit_outcomes(run_id, provider_id=None, month=None, outcome=None).where(
                q.AuditVisitOutcome.visit_id == flag.record_id
            )
        ).first()
        note_id = outcome.matched_note_id if outcome is not None else None
    text = q.note_text(session, note_id) if note_id else None
    if note_id is None or text is None:
        raise NotFound(f"Flag {flag_id} has no care note to quote.")
    log.read(principal, subject_ids=[flag.service_user_id], action="read_note")
    return NoteExcerptOut(flag_id=flag_id, note_id=note_id, excerpt=text[:EXCERPT_CHARS])


@router.get("/runs/{run_id}/visits", response_model=Page[VisitOutcomeOut])
def list_visits(
    run_id: RunId,
    session: SessionDep,
    principal: Identifiable,
    log: AccessLogDep,
    page: PageDep,
    provider_id: ProviderFilter = None,
    month: MonthFilter = None,
    outcome: Annotated[str | None, Query(pattern="^(verified|flagged|missed|cancelled)$")] = None,
) -> Page[VisitOutcomeOut]:
    """Each ECM visit's outcome: verified minutes and money, with its flags."""
    _run_or_404(session, run_id)
    query = q.visit_outcomes(run_id, provider_id=provider_id, month=month, outcome=outcome)
    rows, total = q.paged(session, query, limit=page.limit, offset=page.offset)
    log.read(principal, subject_ids=[r.service_user_id for r in rows])
    return _page(VisitOutcomeOut, rows, total, page)  # type: ignore[no-any-return]


@router.get("/runs/{run_id}/review-priority", response_model=Page[ReviewPriorityOut])
def review_priority(
    run_id: RunId,
    session: SessionDep,
    principal: Identifiable,
    log: AccessLogDep,
    page: PageDep,
    provider_id: ProviderFilter = None,
    area: AreaFilter = None,
) -> Page[ReviewPriorityOut]:
    """Service users whose reassessment should come first, each with why."""
    _run_or_404(session, run_id)
    query = q.review_priorities(run_id, provider_id=provider_id, area=area)
    rows, total = q.paged(session, query, limit=page.limit, offset=page.offset)
    log.read(principal, subject_ids=[r.service_user_id for r in rows])
    return _page(ReviewPriorityOut, rows, total, page)  # type: ignore[no-any-return]


CSV_TABLES: dict[str, tuple[type[BaseModel], Permission]] = {
    "provider-months": (ProviderMonthOut, Permission.AUDIT_AGGREGATE),
    "flags": (AuditFlagOut, Permission.AUDIT_IDENTIFIABLE),
    "visits": (VisitOutcomeOut, Permission.AUDIT_IDENTIFIABLE),
    "review-priority": (ReviewPriorityOut, Permission.AUDIT_IDENTIFIABLE),
}


def _csv(schema: type[BaseModel], rows: list) -> Iterator[str]:
    fields = list(schema.model_fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for i, row in enumerate(rows, 1):
        record = schema.model_validate(row).model_dump()
        writer.writerow(["" if record[f] is None else record[f] for f in fields])
        if i % 5000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/runs/{run_id}/{table}.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The table as CSV."}},
)
def download_csv(
    run_id: RunId,
    table: Annotated[str, Path(pattern="^(provider-months|flags|visits|review-priority)$")],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.AUDIT_AGGREGATE))],
    log: AccessLogDep,
    provider_id: ProviderFilter = None,
    month: MonthFilter = None,
) -> StreamingResponse:
    """Download one audit table as CSV (flags, visits and review priority need the right)."""
    schema, permission = CSV_TABLES[table]
    principal.require(permission)
    _run_or_404(session, run_id)
    if table == "provider-months":
        query = q.provider_months(run_id, provider_id=provider_id, month=month)
    elif table == "flags":
        query = q.flags(
            run_id, provider_id=provider_id, month=month, flag_kind=None, service_user_id=None
        )
    elif table == "visits":
        query = q.visit_outcomes(run_id, provider_id=provider_id, month=month, outcome=None)
    else:
        query = q.review_priorities(run_id, provider_id=provider_id, area=None)
    rows = list(session.execute(query.limit(CSV_MAX_ROWS)).all())
    if permission is Permission.AUDIT_IDENTIFIABLE:
        log.read(principal, subject_ids=[r.service_user_id for r in rows], action="export")
    stamp = now().strftime("%Y%m%d")
    return StreamingResponse(
        _csv(schema, rows),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{run_id}-{table}-{stamp}.csv"'
        },
    )
