"""API schemas: one per direction (``...In`` read from a request, ``...Out`` written to one).

Responses name service users only by their pseudonymous id; no schema here has a field for
care-note text except ``NoteExcerptOut``, served only to a contract manager with the grant.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.auth import Role

T = TypeVar("T")

# Stored times are Europe/London wall-clock (DOMAIN.md); responses carry the offset (RFC 3339).
LONDON = ZoneInfo("Europe/London")


def _london(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=LONDON)


Timestamp = Annotated[datetime, AfterValidator(_london)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(Out, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching the filters, across every page.")
    limit: int
    offset: int


# --- Identity ------------------------------------------------------------------------------


class MeOut(Out):
    username: str
    role: Role
    area: str | None
    may_read_note_text: bool
    permissions: list[str]


class UserIn(In):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role
    area: str | None = Field(default=None, max_length=80)
    may_read_note_text: bool = False


class UserOut(Out):
    id: int
    username: str
    role: Role
    area: str | None
    may_read_note_text: bool
    is_active: bool
    created_at: Timestamp


class TokenIn(In):
    label: str | None = Field(default=None, max_length=80)
    ttl_days: int = Field(default=90, ge=1, le=3650)


class TokenOut(Out):
    token_id: int
    token: str = Field(description="Shown once; only its hash is stored.")
    expires_at: Timestamp | None


class AccessLogOut(Out):
    id: int
    at: Timestamp
    username: str
    role: str
    action: str
    resource: str
    filters: dict[str, str]
    record_count: int
    subject_ids: str | None
    purpose: str


class ConfigOut(Out):
    environment: str
    database_backend: str
    api: dict[str, Any]
    audit: dict[str, Any]


# --- Ingestion -----------------------------------------------------------------------------

RecordKindName = Literal[
    "provider", "carer", "service_user", "package", "call", "ecm_visit", "care_note"
]


class ImportOut(Out):
    batch_id: int | None
    file_name: str
    kind: str
    rows: int
    already_imported: bool


class ImportBatchOut(Out):
    id: int
    file_name: str
    record_kind: str
    row_count: int
    rows_inserted: int
    status: str
    started_at: Timestamp
    finished_at: Timestamp | None
    error_message: str | None


# --- Audit ---------------------------------------------------------------------------------


class AuditRunIn(In):
    provider_id: str | None = Field(default=None, max_length=64)
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    time_limit_s: int | None = Field(default=None, ge=1, le=24 * 3600)


class AuditRunOut(Out):
    id: int
    created_at: Timestamp
    provider_id: str | None
    month: str | None


class ProviderMonthOut(Out):
    provider_id: str
    month: str
    visits: int | None
    flagged_visits: int | None
    planned_min: float | None
    billed_min: float | None
    verified_min: float | None
    billed_gbp: float | None
    verified_gbp: float | None
    variance_gbp: float | None
    variance_pct: float | None
    paying_on_actuals_gbp: float | None


class AuditFlagOut(Out):
    id: int
    flag_kind: str
    record_kind: str
    record_id: str
    provider_id: str | None
    service_user_id: str | None
    carer_id: str | None
    month: str | None
    evidence: str | None
    minutes_at_stake: float | None
    amount_gbp: float | None
    related_record_id: str | None


class VisitOutcomeOut(Out):
    visit_id: str
    provider_id: str | None
    service_user_id: str | None
    carer_id: str | None
    month: str | None
    outcome: str | None
    matched_note_id: str | None
    planned_min: float | None
    ecm_min: float | None
    note_min: float | None
    verified_min: float | None
    billed_min: float | None
    billed_gbp: float | None
    verified_gbp: float | None
    variance_gbp: float | None
    flag_kinds: str | None


class ReviewPriorityOut(Out):
    rank: int
    service_user_id: str
    provider_id: str | None
    area: str | None
    score: float | None
    calls_per_day: float | None
    days_since_discharge: float | None
    delivered_ratio: float | None
    reasons: str | None


class NoteExcerptOut(Out):
    flag_id: int
    note_id: str
    excerpt: str = Field(description="At most 280 characters of the flagged care note.")


# --- Geography -----------------------------------------------------------------------------


class ProviderOut(Out):
    provider_id: str
    name: str
    contract_type: str
    rate_gbp_per_hour: float
    base_lat: float | None
    base_lon: float | None


class PointGeometry(Out):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[longitude, latitude]")


class ServiceUserProperties(Out):
    service_user_id: str
    area: str
    status: str
    provider_ids: list[str]


class ServiceUserFeature(Out):
    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: ServiceUserProperties


class ServiceUserCollection(Out):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ServiceUserFeature]
    total: int
    limit: int
    offset: int


class HotspotOut(Out):
    level: Literal["street", "cell"]
    rank: int = Field(description="1 = best re-allocation prospect within the level.")
    place: str = Field(description="Street name, or grid cell id (British National Grid).")
    area: str | None
    lat: float | None
    lon: float | None
    people: int
    providers: int
    provider_ids: list[str]
    travel_min: float | None


# --- Brokerage -----------------------------------------------------------------------------


class CallIn(In):
    window_start: time
    window_end: time
    duration_min: int = Field(ge=1, le=720)
    carers_required: int = Field(default=1, ge=1, le=2)

    @model_validator(mode="after")
    def _window_fits(self) -> CallIn:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self


FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


class PlacementIn(In):
    area: str = Field(min_length=1, max_length=80)
    day: date = Field(ge=FIRST_DAY, le=LAST_DAY)
    lat: float = Field(ge=49.8, le=60.9)
    lon: float = Field(ge=-8.7, le=1.8)
    calls: list[CallIn] = Field(min_length=1, max_length=8)
    required_skills: list[str] = Field(default_factory=list, max_length=20)
    carer_gender_preference: Literal["female", "male", "none"] = "none"
    top_k: int = Field(default=5, ge=1, le=20)


class InsertedCallOut(Out):
    call_index: int
    carer_ids: list[str]
    start: time
    added_travel_min: float
    lateness_min: float


class PlacementProposalOut(Out):
    rank: int
    provider_id: str
    added_travel_min: float
    lateness_min: float
    calls: list[InsertedCallOut]
    carer_lat: float | None = None
    carer_lon: float | None = None


class PlacementOut(Out):
    area: str
    day: date
    proposals: list[PlacementProposalOut]
    unplaced_reasons: list[str]
    elapsed_ms: float


class ReallocationIn(In):
    area: str = Field(min_length=1, max_length=80)
    day: date = Field(ge=FIRST_DAY, le=LAST_DAY)
    time_limit_s: int | None = Field(default=None, ge=1, le=24 * 3600)
    max_provider_changes: int | None = Field(default=None, ge=0, le=100_000)


class JobOut(Out):
    id: int
    kind: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float
    progress_message: str | None
    time_limit_s: int
    created_by: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    heartbeat_at: Timestamp | None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    error: str | None


class ImpactOut(Out):
    hours_freed_per_week: float
    travel_saved_min: float
    miles_saved: float
    visits_moved: int
    people_changing_provider: int
    people_changing_carer: int
    waiting_packages_absorbed: float
    savings_gbp_per_year: float


class MoveOut(Out):
    service_user_id: str
    visit_id: str | None
    from_provider_id: str | None
    to_provider_id: str | None
    from_carer_id: str | None
    to_carer_id: str | None
    start: str | None


class ReallocationOut(Out):
    job_id: int
    area: str
    day: date
    status: str
    impact: ImpactOut | None
    provider_impact: list[dict[str, Any]]
    moves: list[MoveOut]
    total_moves: int
    limit: int
    offset: int


# --- Capacity ------------------------------------------------------------------------------


class ProviderCapacityOut(Out):
    provider_id: str
    carers: int
    contracted_hours_per_week: float
    commissioned_hours_per_week: float
    delivered_hours: float
    utilisation: float | None


class SavingsOut(Out):
    billed_minus_verified_gbp: float | None = Field(
        description="Billed but not verified in the period (latest audit run)."
    )
    hours_freed_per_week: float | None
    savings_gbp_per_year: float | None
    from_reallocation_job: int | None


class CapacityOut(Out):
    area: str | None
    start: date | None
    end: date | None
    providers: list[ProviderCapacityOut]
    contracted_hours_per_week: float
    commissioned_hours_per_week: float
    delivered_hours: float
    waiting_people: int
    waiting_hours_per_week: float
    savings: SavingsOut


# --- Errors --------------------------------------------------------------------------------


class ErrorDetailOut(Out):
    type: str = Field(description="Stable machine name, e.g. not_found, invalid_file.")
    message: str
    where: dict[str, Any] | None = Field(
        description="file/row/column of a rejected upload, or in/field of a request parameter."
    )
    details: list[dict[str, Any]] | None = None


class ErrorOut(Out):
    error: ErrorDetailOut


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        401: "No token, or an unknown, expired or revoked one.",
        403: "The caller's role, grant or area does not allow this.",
        404: "No such resource (or not visible to the caller).",
        409: "The resource's state does not allow this.",
        413: "Request body over the limit.",
        422: "Invalid request: what and where.",
        503: "A capability this request needs is unavailable.",
    }.items()
}
