"""The input contract: canonical record kinds, their columns, and the flag kinds an audit raises.

Every module in ``data`` speaks these names. Exports from real ECM systems use other headers
and date formats; ingestion maps them onto these columns (see ``data.ingestion``). Frames
passed between ingestion, storage, reconciliation and the synthetic generator carry exactly
these columns (plus ``source_file`` and ``source_row`` once ingested).

Times are local wall-clock times (Europe/London) without a zone, as ECM systems export them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

ValueKind = Literal["str", "int", "float", "datetime", "date", "time", "bool", "list"]


@dataclass(frozen=True, slots=True)
class Column:
    """One canonical column of a record kind.

    ``choices`` restricts a str column to a closed vocabulary; ``min_value``/``max_value``
    bound numeric columns; ``max_length`` bounds str and list columns (characters).
    """

    name: str
    kind: ValueKind
    required: bool = True
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    max_length: int = 200


@dataclass(frozen=True, slots=True)
class RecordKind:
    """A record kind: its name, its natural key (the source export's id) and its columns."""

    name: str
    key: str
    columns: tuple[Column, ...]
    sensitive_columns: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"Record kind {self.name!r} has no column {name!r}.")


CONTRACT_TYPES = ("framework", "dps", "block", "spot")
TRAVEL_MODES = ("car", "walk", "bike")
GENDERS = ("female", "male", "other")
GENDER_PREFERENCES = ("female", "male", "none")
SERVICE_USER_STATUSES = ("long_term", "waiting", "interim", "bridging", "hospital")
CHECK_IN_METHODS = ("app", "phone", "nfc", "manual")
VISIT_STATUSES = ("completed", "missed", "cancelled")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _lat(name: str, *, required: bool = True) -> Column:
    """A latitude column bounded to Great Britain (with the Isles of Scilly)."""
    return Column(name, "float", required=required, min_value=49.8, max_value=60.9)


def _lon(name: str, *, required: bool = True) -> Column:
    """A longitude column bounded to Great Britain."""
    return Column(name, "float", required=required, min_value=-8.7, max_value=1.8)


PROVIDER = RecordKind(
    name="provider",
    key="provider_id",
    columns=(
        Column("provider_id", "str", max_length=64),
        Column("name", "str"),
        Column("contract_type", "str", choices=CONTRACT_TYPES),
        Column("rate_gbp_per_hour", "float", min_value=0, max_value=500),
        _lat("base_lat", required=False),
        _lon("base_lon", required=False),
    ),
)

CARER = RecordKind(
    name="carer",
    key="carer_id",
    columns=(
        Column("carer_id", "str", max_length=64),
        Column("provider_id", "str", max_length=64),
        _lat("start_lat"),
        _lon("start_lon"),
        # Weekdays worked, e.g. "mon;tue;wed"; the same shift each working day.
        Column("working_weekdays", "list", max_length=40),
        Column("shift_start", "time"),
        Column("shift_end", "time"),
        Column("contracted_hours_per_week", "float", min_value=0, max_value=80),
        Column("skills", "list", required=False, max_length=400),
        Column("gender", "str", choices=GENDERS),
        Column("travel_mode", "str", choices=TRAVEL_MODES),
    ),
)

SERVICE_USER = RecordKind(
    name="service_user",
    key="service_user_id",
    columns=(
        Column("service_user_id", "str", max_length=64),  # pseudonymous
        _lat("lat", required=False),
        _lon("lon", required=False),
        Column("postcode", "str", required=False, max_length=10),
        Column("area", "str", max_length=80),
        Column("status", "str", choices=SERVICE_USER_STATUSES),
        Column("hospital_discharge_date", "date", required=False),
        Column("required_skills", "list", required=False, max_length=400),
        Column("carer_gender_preference", "str", required=False, choices=GENDER_PREFERENCES),
    ),
)

PACKAGE = RecordKind(
    name="package",
    key="package_id",
    columns=(
        Column("package_id", "str", max_length=64),
        Column("service_user_id", "str", max_length=64),
        Column("provider_id", "str", required=False, max_length=64),  # empty while waiting
        Column("start_date", "date"),
        Column("end_date", "date", required=False),
        Column("rate_gbp_per_hour", "float", min_value=0, max_value=500),
    ),
)

# One row per commissioned call of a package ("morning call, mon-sun, 07:00-09:00, 30 min").
CALL = RecordKind(
    name="call",
    key="call_id",
    columns=(
        Column("call_id", "str", max_length=64),
        Column("package_id", "str", max_length=64),
        Column("weekdays", "list", max_length=40),
        Column("window_start", "time"),
        Column("window_end", "time"),
        Column("duration_min", "int", min_value=1, max_value=12 * 60),
        Column("carers_required", "int", min_value=1, max_value=2),
        Column("is_time_critical", "bool", required=False),
    ),
)

ECM_VISIT = RecordKind(
    name="ecm_visit",
    key="visit_id",
    columns=(
        Column("visit_id", "str", max_length=64),
        Column("provider_id", "str", max_length=64),
        Column("service_user_id", "str", max_length=64),
        Column("carer_id", "str", max_length=64),
        Column("call_id", "str", required=False, max_length=64),
        Column("planned_start", "datetime"),
        Column("planned_duration_min", "int", min_value=1, max_value=12 * 60),
        Column("check_in", "datetime", required=False),  # empty when missed or cancelled
        Column("check_out", "datetime", required=False),
        Column("method", "str", required=False, choices=CHECK_IN_METHODS),
        _lat("check_in_lat", required=False),
        _lon("check_in_lon", required=False),
        Column("double_up_group", "str", required=False, max_length=64),
        Column("billed_min", "int", min_value=0, max_value=12 * 60),
        Column("status", "str", choices=VISIT_STATUSES),
    ),
)

CARE_NOTE = RecordKind(
    name="care_note",
    key="note_id",
    columns=(
        Column("note_id", "str", max_length=64),
        Column("service_user_id", "str", max_length=64),
        Column("carer_id", "str", max_length=64),
        Column("written_at", "datetime"),
        Column("visit_start", "datetime"),
        Column("visit_end", "datetime"),
        Column("tasks", "list", required=False, max_length=400),
        Column("text", "str", required=False, max_length=4000),
    ),
    sensitive_columns=("text",),
)

RECORD_KINDS: dict[str, RecordKind] = {
    k.name: k for k in (PROVIDER, CARER, SERVICE_USER, PACKAGE, CALL, ECM_VISIT, CARE_NOTE)
}

# Ingestion order that satisfies references (a visit names a provider, a carer, ...).
LOAD_ORDER: tuple[str, ...] = (
    "provider",
    "carer",
    "service_user",
    "package",
    "call",
    "ecm_visit",
    "care_note",
)

LIST_SEPARATOR = ";"


class FlagKind(StrEnum):
    """What a contract manager wants flagged. Each flag attaches to one record (see below)."""

    VISIT_WITHOUT_NOTE = "visit_without_note"  # on the ECM visit
    NOTE_WITHOUT_VISIT = "note_without_visit"  # on the care note
    DURATION_MISMATCH = "duration_mismatch"  # on the ECM visit (ECM vs matched note)
    SHORT_CALL = "short_call"  # on the ECM visit (verified vs planned)
    CARER_IN_TWO_PLACES = "carer_in_two_places"  # on both overlapping ECM visits
    TRAVEL_INFEASIBLE = "travel_infeasible"  # on the later visit of the pair
    DOUBLE_UP_SINGLE_CARER = "double_up_single_carer"  # on the one logged visit of the group
    MANUAL_CHECK_IN = "manual_check_in"  # on the ECM visit
    CHECK_IN_FAR_FROM_HOME = "check_in_far_from_home"  # on the ECM visit
    BILLED_ABOVE_VERIFIED = "billed_above_verified"  # on the ECM visit
    LATE_TIME_CRITICAL = "late_time_critical"  # on the ECM visit


FLAG_RECORD_KIND: dict[FlagKind, str] = {
    k: ("care_note" if k is FlagKind.NOTE_WITHOUT_VISIT else "ecm_visit") for k in FlagKind
}


# --- Audit outputs -------------------------------------------------------------------------
# The reconciliation returns frames with exactly these columns; storage persists them (one
# table each, plus the audit run they belong to); reports and the API read them back.

AUDIT_OUTPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    # One row per ECM visit in the audited period.
    "visit_outcome": (
        "visit_id",
        "provider_id",
        "service_user_id",
        "carer_id",
        "month",  # "YYYY-MM" of planned_start
        "outcome",  # "verified" | "flagged" | "missed" | "cancelled"
        "matched_note_id",  # empty when no care note matched
        "planned_min",
        "ecm_min",  # check_out - check_in
        "note_min",  # matched note's visit_end - visit_start
        "verified_min",  # minutes the council should pay for
        "billed_min",
        "rate_gbp_per_hour",
        "billed_gbp",
        "verified_gbp",
        "variance_gbp",  # billed_gbp - verified_gbp
        "flag_kinds",  # ";"-joined FlagKind values raised on this visit
    ),
    # One row per flag: the evidence a contract manager reads, and the money at stake.
    "audit_flag": (
        "flag_kind",  # FlagKind value
        "record_kind",  # "ecm_visit" | "care_note"
        "record_id",  # visit_id or note_id from the source export
        "provider_id",
        "service_user_id",
        "carer_id",
        "month",
        "evidence",  # short human sentence with the figures; never care-note text
        "minutes_at_stake",
        "amount_gbp",
        "related_record_id",  # the other visit/note of a pair, when there is one
    ),
    # One row per provider per month.
    "provider_month": (
        "provider_id",
        "month",
        "visits",
        "flagged_visits",
        "planned_min",
        "billed_min",
        "verified_min",
        "billed_gbp",
        "verified_gbp",
        "variance_gbp",
        "variance_pct",
        "paying_on_actuals_gbp",  # what paying verified minutes would cost
    ),
    # Ranked list of service users whose reassessment should come first.
    "review_priority": (
        "rank",
        "service_user_id",
        "provider_id",
        "area",
        "score",
        "calls_per_day",
        "days_since_discharge",
        "delivered_ratio",  # verified / commissioned minutes
        "reasons",  # ";"-joined plain sentences
    ),
}
