"""Read queries on the records and audit tables, for the API's routes, paginated in SQL.

Functions returning a ``Select`` leave paging to ``paged``; the others take the caller's
Session. None of them commits; the request dependency does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from data.storage._models import (
    AuditFlag,
    AuditProviderMonth,
    AuditReviewPriority,
    AuditRun,
    AuditVisitOutcome,
    Call,
    CareNote,
    Carer,
    EcmVisit,
    ImportBatch,
    Package,
    Provider,
    ServiceUser,
)

M = TypeVar("M")


def paged(session: Session, query: Select[Any], *, limit: int, offset: int) -> tuple[list, int]:
    """A page of rows and the total. Queries select table columns (Core rows, not ORM
    entities): a page of 100 rows costs ~2 ms instead of ~16 ms of identity-map work."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.execute(query.limit(limit).offset(offset)).all())
    return rows, int(total or 0)


def import_batches(session: Session, *, status: str | None, kind: str | None) -> Select[Any]:
    query = select(ImportBatch.__table__).order_by(ImportBatch.id.desc())
    if status is not None:
        query = query.where(ImportBatch.status == status)
    if kind is not None:
        query = query.where(ImportBatch.record_kind == kind)
    return query


def audit_runs() -> Select[Any]:
    return select(AuditRun.__table__).order_by(AuditRun.id.desc())


def audit_run(session: Session, run_id: int) -> AuditRun | None:
    return session.get(AuditRun, run_id)


def latest_audit_run_id(session: Session) -> int | None:
    return session.scalar(select(func.max(AuditRun.id)))


def _of_run(model: Any, run_id: int, provider_id: str | None, month: str | None) -> Select[Any]:
    query = select(model.__table__).where(model.audit_run_id == run_id)
    if provider_id is not None:
        query = query.where(model.provider_id == provider_id)
    if month is not None:
        query = query.where(model.month == month)
    return query


def provider_months(run_id: int, *, provider_id: str | None, month: str | None) -> Select[Any]:
    return _of_run(AuditProviderMonth, run_id, provider_id, month).order_by(
        AuditProviderMonth.variance_gbp.desc(), AuditProviderMonth.id
    )


def flags(
    run_id: int,
    *,
    provider_id: str | None,
    month: str | None,
    flag_kind: str | None,
    service_user_id: str | None,
) -> Select[Any]:
    query = _of_run(AuditFlag, run_id, provider_id, month)
    if flag_kind is not None:
        query = query.where(AuditFlag.flag_kind == flag_kind)
    if service_user_id is not None:
        query = query.where(AuditFlag.service_user_id == service_user_id)
    return query.order_by(AuditFlag.amount_gbp.desc(), AuditFlag.id)


def flag(session: Session, run_id: int, flag_id: int) -> AuditFlag | None:
    row = session.get(AuditFlag, flag_id)
    return row if row is not None and row.audit_run_id == run_id else None


def visit_outcomes(
    run_id: int, *, provider_id: str | None, month: str | None, outcome: str | None
) -> Select[Any]:
    query = _of_run(AuditVisitOutcome, run_id, provider_id, month)
    if outcome is not None:
        query = query.where(AuditVisitOutcome.outcome == outcome)
    return query.order_by(AuditVisitOutcome.variance_gbp.desc(), AuditVisitOutcome.id)


def review_priorities(run_id: int, *, provider_id: str | None, area: str | None) -> Select[Any]:
    query = select(AuditReviewPriority.__table__).where(AuditReviewPriority.audit_run_id == run_id)
    if provider_id is not None:
        query = query.where(AuditReviewPriority.provider_id == provider_id)
    if area is not None:
        query = query.where(AuditReviewPriority.area == area)
    return query.order_by(AuditReviewPriority.rank)


def note_text(session: Session, note_id: str) -> str | None:
    return session.scalar(select(CareNote.text).where(CareNote.note_id == note_id))


def providers(*, provider_id: str | None) -> Select[Any]:
    query = select(Provider.__table__).order_by(Provider.provider_id)
    if provider_id is not None:
        query = query.where(Provider.provider_id == provider_id)
    return query


def service_users(
    session: Session, *, provider_id: str | None, area: str | None, limit: int, offset: int
) -> tuple[list[tuple[ServiceUser, list[str]]], int]:
    """Located service users with the providers of their packages, by pseudonymous id."""
    query = select(ServiceUser.__table__).where(
        ServiceUser.lat.is_not(None), ServiceUser.lon.is_not(None)
    )
    if area is not None:
        query = query.where(ServiceUser.area == area)
    if provider_id is not None:
        query = query.where(
            ServiceUser.service_user_id.in_(
                select(Package.service_user_id).where(Package.provider_id == provider_id)
            )
        )
    users, total = paged(
        session, query.order_by(ServiceUser.service_user_id), limit=limit, offset=offset
    )
    ids = [u.service_user_id for u in users]
    by_user: dict[str, set[str]] = defaultdict(set)
    if ids:
        for su, prov in session.execute(
            select(Package.service_user_id, Package.provider_id).where(
                Package.service_user_id.in_(ids), Package.provider_id.is_not(None)
            )
        ):
            if prov is not None:
                by_user[su].add(prov)
    return [(u, sorted(by_user[u.service_user_id])) for u in users], total


def located_service_users(
    session: Session, *, area: str | None
) -> list[tuple[str, float, float, str, str]]:
    """(service user, lat, lon, provider, area) per package with a provider, for hot-spots."""
    query = (
        select(
            ServiceUser.service_user_id,
            ServiceUser.lat,
            ServiceUser.lon,
            Package.provider_id,
            ServiceUser.area,
        )
        .join(Package, Package.service_user_id == ServiceUser.service_user_id)
        .where(
            ServiceUser.lat.is_not(None),
            ServiceUser.lon.is_not(None),
            Package.provider_id.is_not(None),
        )
    )
    if area is not None:
        query = query.where(ServiceUser.area == area)
    return [tuple(r) for r in session.execute(query)]  # type: ignore[misc]


def _hours(start: time, end: time) -> float:
    return max(
        0.0, (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds / 3600
    )


def capacity(
    session: Session, *, area: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    """Contracted, commissioned and delivered hours per provider, and the waiting list."""
    area_users = select(ServiceUser.service_user_id)
    if area is not None:
        area_users = area_users.where(ServiceUser.area == area)

    # Commissioned hours per week per provider: each call's duration × weekdays × carers.
    commissioned: dict[str, float] = defaultdict(float)
    waiting_hours = 0.0
    calls = select(
        Package.provider_id, Call.weekdays, Call.duration_min, Call.carers_required
    ).join(Call, Call.package_id == Package.package_id)
    if area is not None:
        calls = calls.where(Package.service_user_id.in_(area_users))
    if start is not None:
        calls = calls.where((Package.end_date.is_(None)) | (Package.end_date >= start))
    if end is not None:
        calls = calls.where(Package.start_date < end)
    for provider_id, weekdays, duration_min, carers_required in session.execute(calls):
        days = len([d for d in (weekdays or "").split(";") if d])
        hours = days * duration_min * carers_required / 60
        if provider_id is None:
            waiting_hours += hours
        else:
            commissioned[provider_id] += hours

    waiting_people = (
        select(func.count()).select_from(ServiceUser).where(ServiceUser.status == "waiting")
    )
    if area is not None:
        waiting_people = waiting_people.where(ServiceUser.area == area)

    delivered: dict[str, float] = defaultdict(float)
    visits = select(EcmVisit.provider_id, EcmVisit.check_in, EcmVisit.check_out).where(
        EcmVisit.status == "completed", EcmVisit.check_in.is_not(None)
    )
    if area is not None:
        visits = visits.where(EcmVisit.service_user_id.in_(area_users))
    if start is not None:
        visits = visits.where(EcmVisit.planned_start >= datetime.combine(start, time()))
    if end is not None:
        visits = visits.where(EcmVisit.planned_start < datetime.combine(end, time()))
    for provider_id, check_in, check_out in session.execute(visits):
        if check_in is not None and check_out is not None and check_out > check_in:
            delivered[provider_id] += (check_out - check_in).total_seconds() / 3600

    carers: dict[str, list[float]] = defaultdict(list)
    for provider_id, hours in session.execute(
        select(Carer.provider_id, Carer.contracted_hours_per_week)
    ):
        carers[provider_id].append(hours)

    provider_ids = sorted(set(commissioned) | set(delivered))
    rows = []
    for provider_id in provider_ids:
        contracted = float(sum(carers.get(provider_id, [])))
        rows.append(
            {
                "provider_id": provider_id,
                "carers": len(carers.get(provider_id, [])),
                "contracted_hours_per_week": round(contracted, 2),
                "commissioned_hours_per_week": round(commissioned[provider_id], 2),
                "delivered_hours": round(delivered[provider_id], 2),
                "utilisation": round(commissioned[provider_id] / contracted, 4)
                if contracted
                else None,
            }
        )
    return {
        "providers": rows,
        "waiting_people": int(session.scalar(waiting_people) or 0),
        "waiting_hours_per_week": round(waiting_hours, 2),
    }


def variance_gbp(session: Session, run_id: int, *, start: date | None, end: date | None) -> float:
    query = select(func.sum(AuditProviderMonth.variance_gbp)).where(
        AuditProviderMonth.audit_run_id == run_id
    )
    if start is not None:
        query = query.where(AuditProviderMonth.month >= start.strftime("%Y-%m"))
    if end is not None:
        last = end.strftime("%Y-%m")
        if end.day == 1:
            query = query.where(AuditProviderMonth.month < last)
        else:
            query = query.where(AuditProviderMonth.month <= last)
    return float(session.scalar(query) or 0.0)
