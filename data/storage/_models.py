"""ORM models: one table per record kind of ``data.records``, import batches and audit outputs.

Record tables use the source export's id (the record kind's natural key) as primary key, so
importing a record twice is a no-op, and keep ``source_file``, ``source_row`` and
``import_batch_id`` so every figure traces back to the provider's own record. List columns
are stored as their ``;``-joined text. References between record kinds are checked by
ingestion (against the file and the database) rather than by foreign keys, which would cost
a trigger call per row on bulk loads; relationships are view-only and ``lazy="raise"``.

On PostgreSQL the migrations add a PostGIS ``geom geometry(Point, 4326)`` column, generated
in SQL from lat/lon, to providers, carers and service users (``POSTGIS_POINTS``; ECM visits
had one until migration 0004, unread and a cost on every bulk load of check-ins). It is not
mapped here: SQLite has no such column, and geometry queries live in repositories.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from data.storage._base import Base

# table -> (lat column, lon column) of the PostGIS point the migration adds on PostgreSQL.
POSTGIS_POINTS: dict[str, tuple[str, str]] = {
    "providers": ("base_lat", "base_lon"),
    "carers": ("start_lat", "start_lon"),
    "service_users": ("lat", "lon"),
}

IMPORT_STATUSES = ("importing", "imported", "failed")


class ImportBatch(Base):
    """One attempt to import one file. A file's sha256 is unique among batches not failed."""

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint("status IN ('importing', 'imported', 'failed')", name="status_known"),
        # Concurrent importers of one file race on this index; the loser sees "already imported".
        Index(
            "uq_import_batches_sha256_live",
            "sha256",
            unique=True,
            sqlite_where=text("status != 'failed'"),
            postgresql_where=text("status <> 'failed'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    record_kind: Mapped[str] = mapped_column(String(32))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    error_message: Mapped[str | None] = mapped_column(Text)


class _FromSource:
    """Where a stored record came from."""

    source_file: Mapped[str] = mapped_column(String(255))
    source_row: Mapped[int] = mapped_column(Integer)
    import_batch_id: Mapped[int] = mapped_column(Integer)


class Provider(_FromSource, Base):
    """A care provider (agency) under contract with the council."""

    __tablename__ = "providers"

    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contract_type: Mapped[str] = mapped_column(String(200))
    rate_gbp_per_hour: Mapped[float] = mapped_column(Double)
    base_lat: Mapped[float | None] = mapped_column(Double)
    base_lon: Mapped[float | None] = mapped_column(Double)

    carers: Mapped[list[Carer]] = relationship(
        primaryjoin=lambda: Provider.provider_id == foreign(Carer.provider_id),
        viewonly=True,
        lazy="raise",
    )


class Carer(_FromSource, Base):
    """A care worker employed by a provider."""

    __tablename__ = "carers"
    __table_args__ = (Index(None, "provider_id"),)

    carer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    start_lat: Mapped[float] = mapped_column(Double)
    start_lon: Mapped[float] = mapped_column(Double)
    working_weekdays: Mapped[str] = mapped_column(String(40))
    shift_start: Mapped[time] = mapped_column(Time)
    shift_end: Mapped[time] = mapped_column(Time)
    contracted_hours_per_week: Mapped[float] = mapped_column(Double)
    skills: Mapped[str | None] = mapped_column(String(400))
    gender: Mapped[str] = mapped_column(String(200))
    travel_mode: Mapped[str] = mapped_column(String(200))

    provider: Mapped[Provider] = relationship(
        primaryjoin=lambda: foreign(Carer.provider_id) == Provider.provider_id,
        viewonly=True,
        lazy="raise",
    )


class ServiceUser(_FromSource, Base):
    """A person receiving care, known by a pseudonymous id."""

    __tablename__ = "service_users"

    service_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    postcode: Mapped[str | None] = mapped_column(String(10))
    area: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(200))
    hospital_discharge_date: Mapped[date | None] = mapped_column(Date)
    required_skills: Mapped[str | None] = mapped_column(String(400))
    carer_gender_preference: Mapped[str | None] = mapped_column(String(200))

    packages: Mapped[list[Package]] = relationship(
        primaryjoin=lambda: ServiceUser.service_user_id == foreign(Package.service_user_id),
        viewonly=True,
        lazy="raise",
    )


class Package(_FromSource, Base):
    """Commissioned care for one service user, delivered by one provider."""

    __tablename__ = "packages"
    __table_args__ = (Index(None, "service_user_id"), Index(None, "provider_id"))

    package_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_user_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    rate_gbp_per_hour: Mapped[float] = mapped_column(Double)

    calls: Mapped[list[Call]] = relationship(
        primaryjoin=lambda: Package.package_id == foreign(Call.package_id),
        viewonly=True,
        lazy="raise",
    )


class Call(_FromSource, Base):
    """One commissioned call of a package (weekdays, time window, duration, carers)."""

    __tablename__ = "calls"
    __table_args__ = (Index(None, "package_id"),)

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    package_id: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[str] = mapped_column(String(40))
    window_start: Mapped[time] = mapped_column(Time)
    window_end: Mapped[time] = mapped_column(Time)
    duration_min: Mapped[int] = mapped_column(Integer)
    carers_required: Mapped[int] = mapped_column(Integer)
    is_time_critical: Mapped[bool | None] = mapped_column()


class EcmVisit(_FromSource, Base):
    """One visit as Electronic Call Monitoring recorded it."""

    __tablename__ = "ecm_visits"
    # Few indexes: each one slows the bulk load of a million visits noticeably. A period alone
    # covers most of the table anyway, so only the provider's period has an index.
    __table_args__ = (Index(None, "provider_id", "planned_start"),)

    visit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    service_user_id: Mapped[str] = mapped_column(String(64))
    carer_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(64))
    planned_start: Mapped[datetime] = mapped_column(DateTime)
    planned_duration_min: Mapped[int] = mapped_column(Integer)
    check_in: Mapped[datetime | None] = mapped_column(DateTime)
    check_out: Mapped[datetime | None] = mapped_column(DateTime)
    method: Mapped[str | None] = mapped_column(String(200))
    check_in_lat: Mapped[float | None] = mapped_column(Double)
    check_in_lon: Mapped[float | None] = mapped_column(Double)
    double_up_group: Mapped[str | None] = mapped_column(String(64))
    billed_min: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(200))


class CareNote(_FromSource, Base):
    """A carer's note of a visit. ``text`` is sensitive health data."""

    __tablename__ = "care_notes"

    note_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_user_id: Mapped[str] = mapped_column(String(64))
    carer_id: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(DateTime)
    visit_start: Mapped[datetime] = mapped_column(DateTime)
    visit_end: Mapped[datetime] = mapped_column(DateTime)
    tasks: Mapped[str | None] = mapped_column(String(400))
    text: Mapped[str | None] = mapped_column(String(4000))


# Record kind (data.records) -> model.
RECORD_MODELS: dict[str, type[Base]] = {
    "provider": Provider,
    "carer": Carer,
    "service_user": ServiceUser,
    "package": Package,
    "call": Call,
    "ecm_visit": EcmVisit,
    "care_note": CareNote,
}


class AuditRun(Base):
    """One reconciliation run; its outputs live in the four audit tables."""

    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)


class _OfAuditRun:
    """A row of an audit output, belonging to one run."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_run_id: Mapped[int] = mapped_column(
        ForeignKey("audit_runs.id", ondelete="CASCADE"), index=True
    )


class AuditVisitOutcome(_OfAuditRun, Base):
    """One ECM visit's audit outcome (AUDIT_OUTPUT_COLUMNS["visit_outcome"])."""

    __tablename__ = "audit_visit_outcomes"
    # Reports and the API read one provider of one run at a time.
    __table_args__ = (Index("ix_audit_visit_outcomes_run_provider", "audit_run_id", "provider_id"),)

    visit_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    service_user_id: Mapped[str | None] = mapped_column(String(64))
    carer_id: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[str | None] = mapped_column(String(7))
    outcome: Mapped[str | None] = mapped_column(String(16))
    matched_note_id: Mapped[str | None] = mapped_column(String(64))
    planned_min: Mapped[float | None] = mapped_column(Double)
    ecm_min: Mapped[float | None] = mapped_column(Double)
    note_min: Mapped[float | None] = mapped_column(Double)
    verified_min: Mapped[float | None] = mapped_column(Double)
    billed_min: Mapped[float | None] = mapped_column(Double)
    rate_gbp_per_hour: Mapped[float | None] = mapped_column(Double)
    billed_gbp: Mapped[float | None] = mapped_column(Double)
    verified_gbp: Mapped[float | None] = mapped_column(Double)
    variance_gbp: Mapped[float | None] = mapped_column(Double)
    flag_kinds: Mapped[str | None] = mapped_column(Text)


class AuditFlag(_OfAuditRun, Base):
    """One flag with its evidence (AUDIT_OUTPUT_COLUMNS["audit_flag"]); never care-note text."""

    __tablename__ = "audit_flags"
    # Reports and the API read one provider of one run at a time.
    __table_args__ = (Index("ix_audit_flags_run_provider", "audit_run_id", "provider_id"),)

    flag_kind: Mapped[str] = mapped_column(String(40))
    record_kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    service_user_id: Mapped[str | None] = mapped_column(String(64))
    carer_id: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[str | None] = mapped_column(String(7))
    evidence: Mapped[str | None] = mapped_column(Text)
    minutes_at_stake: Mapped[float | None] = mapped_column(Double)
    amount_gbp: Mapped[float | None] = mapped_column(Double)
    related_record_id: Mapped[str | None] = mapped_column(String(64))


class AuditProviderMonth(_OfAuditRun, Base):
    """One provider's month (AUDIT_OUTPUT_COLUMNS["provider_month"])."""

    __tablename__ = "audit_provider_months"
    # Reports and the API read one provider of one run at a time.
    __table_args__ = (
        Index("ix_audit_provider_months_run_provider", "audit_run_id", "provider_id"),
    )

    provider_id: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    visits: Mapped[int | None] = mapped_column(Integer)
    flagged_visits: Mapped[int | None] = mapped_column(Integer)
    planned_min: Mapped[float | None] = mapped_column(Double)
    billed_min: Mapped[float | None] = mapped_column(Double)
    verified_min: Mapped[float | None] = mapped_column(Double)
    billed_gbp: Mapped[float | None] = mapped_column(Double)
    verified_gbp: Mapped[float | None] = mapped_column(Double)
    variance_gbp: Mapped[float | None] = mapped_column(Double)
    variance_pct: Mapped[float | None] = mapped_column(Double)
    paying_on_actuals_gbp: Mapped[float | None] = mapped_column(Double)


class AuditReviewPriority(_OfAuditRun, Base):
    """One service user's place in the reassessment queue (AUDIT_OUTPUT_COLUMNS["review_priority"])."""

    __tablename__ = "audit_review_priorities"
    # Reports and the API read one provider of one run at a time.
    __table_args__ = (
        Index("ix_audit_review_priorities_run_provider", "audit_run_id", "provider_id"),
    )

    rank: Mapped[int] = mapped_column(Integer)
    service_user_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    area: Mapped[str | None] = mapped_column(String(80))
    score: Mapped[float | None] = mapped_column(Double)
    calls_per_day: Mapped[float | None] = mapped_column(Double)
    days_since_discharge: Mapped[float | None] = mapped_column(Double)
    delivered_ratio: Mapped[float | None] = mapped_column(Double)
    reasons: Mapped[str | None] = mapped_column(Text)


# AUDIT_OUTPUT_COLUMNS key -> model.
AUDIT_MODELS: dict[str, type[Base]] = {
    "visit_outcome": AuditVisitOutcome,
    "audit_flag": AuditFlag,
    "provider_month": AuditProviderMonth,
    "review_priority": AuditReviewPriority,
}
