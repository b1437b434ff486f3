"""initial schema: records, import batches, audit outputs

Revision ID: 0001
Revises:
Create Date: 2026-11-23 02:02:44

On PostgreSQL, also enables PostGIS and adds a geometry(Point, 4326) column ``geom``, generated
from lat/lon, with a GiST index, to providers, carers, service users and ECM visits.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> (lat column, lon column); frozen here, as a migration must not follow the models.
POSTGIS_POINTS = {
    "providers": ("base_lat", "base_lon"),
    "carers": ("start_lat", "start_lon"),
    "service_users": ("lat", "lon"),
    "ecm_visits": ("check_in_lat", "check_in_lon"),
}

# Spatial look-ups are of people, carers and providers; a GiST index on a million check-ins
# would triple the time it takes to load them.
GIST_INDEXED = ("providers", "carers", "service_users")


def add_postgis_points() -> None:
    """PostgreSQL only: a point column kept in step with lat/lon by the database itself."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    for table, (lat, lon) in POSTGIS_POINTS.items():
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN geom geometry(Point, 4326) "
            f"GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)) STORED"
        )
        if table in GIST_INDEXED:
            op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING gist (geom)")


def upgrade() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_runs")),
    )
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("weekdays", sa.String(length=40), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("carers_required", sa.Integer(), nullable=False),
        sa.Column("is_time_critical", sa.Boolean(), nullable=True),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_package_id"), ["package_id"], unique=False)

    op.create_table(
        "care_notes",
        sa.Column("note_id", sa.String(length=64), nullable=False),
        sa.Column("service_user_id", sa.String(length=64), nullable=False),
        sa.Column("carer_id", sa.String(length=64), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("visit_start", sa.DateTime(), nullable=False),
        sa.Column("visit_end", sa.DateTime(), nullable=False),
        sa.Column("tasks", sa.String(length=400), nullable=True),
        sa.Column("text", sa.String(length=4000), nullable=True),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_care_notes")),
    )
    op.create_table(
        "carers",
        sa.Column("carer_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("start_lat", sa.Double(), nullable=False),
        sa.Column("start_lon", sa.Double(), nullable=False),
        sa.Column("working_weekdays", sa.String(length=40), nullable=False),
        sa.Column("shift_start", sa.Time(), nullable=False),
        sa.Column("shift_end", sa.Time(), nullable=False),
        sa.Column("contracted_hours_per_week", sa.Double(), nullable=False),
        sa.Column("skills", sa.String(length=400), nullable=True),
        sa.Column("gender", sa.String(length=200), nullable=False),
        sa.Column("travel_mode", sa.String(length=200), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("carer_id", name=op.f("pk_carers")),
    )
    with op.batch_alter_table("carers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carers_provider_id"), ["provider_id"], unique=False)

    op.create_table(
        "ecm_visits",
        sa.Column("visit_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("service_user_id", sa.String(length=64), nullable=False),
        sa.Column("carer_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("planned_start", sa.DateTime(), nullable=False),
        sa.Column("planned_duration_min", sa.Integer(), nullable=False),
        sa.Column("check_in", sa.DateTime(), nullable=True),
        sa.Column("check_out", sa.DateTime(), nullable=True),
        sa.Column("method", sa.String(length=200), nullable=True),
        sa.Column("check_in_lat", sa.Double(), nullable=True),
        sa.Column("check_in_lon", sa.Double(), nullable=True),
        sa.Column("double_up_group", sa.String(length=64), nullable=True),
        sa.Column("billed_min", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_ecm_visits")),
    )
    with op.batch_alter_table("ecm_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ecm_visits_provider_id_planned_start"),
            ["provider_id", "planned_start"],
            unique=False,
        )

    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("record_kind", sa.String(length=32), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rows_inserted", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('importing', 'imported', 'failed')",
            name=op.f("ck_import_batches_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index(
            "uq_import_batches_sha256_live",
            ["sha256"],
            unique=True,
            sqlite_where=sa.text("status != 'failed'"),
            postgresql_where=sa.text("status <> 'failed'"),
        )

    op.create_table(
        "packages",
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("service_user_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("rate_gbp_per_hour", sa.Double(), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_packages")),
    )
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_packages_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_packages_service_user_id"), ["service_user_id"], unique=False
        )

    op.create_table(
        "providers",
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contract_type", sa.String(length=200), nullable=False),
        sa.Column("rate_gbp_per_hour", sa.Double(), nullable=False),
        sa.Column("base_lat", sa.Double(), nullable=True),
        sa.Column("base_lon", sa.Double(), nullable=True),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_providers")),
    )
    op.create_table(
        "service_users",
        sa.Column("service_user_id", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("area", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("hospital_discharge_date", sa.Date(), nullable=True),
        sa.Column("required_skills", sa.String(length=400), nullable=True),
        sa.Column("carer_gender_preference", sa.String(length=200), nullable=True),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service_user_id", name=op.f("pk_service_users")),
    )
    op.create_table(
        "audit_flags",
        sa.Column("flag_kind", sa.String(length=40), nullable=False),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("service_user_id", sa.String(length=64), nullable=True),
        sa.Column("carer_id", sa.String(length=64), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("minutes_at_stake", sa.Double(), nullable=True),
        sa.Column("amount_gbp", sa.Double(), nullable=True),
        sa.Column("related_record_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("audit_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_run_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_flags_audit_run_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_flags")),
    )
    with op.batch_alter_table("audit_flags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_flags_audit_run_id"), ["audit_run_id"], unique=False
        )

    op.create_table(
        "audit_provider_months",
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=True),
        sa.Column("flagged_visits", sa.Integer(), nullable=True),
        sa.Column("planned_min", sa.Double(), nullable=True),
        sa.Column("billed_min", sa.Double(), nullable=True),
        sa.Column("verified_min", sa.Double(), nullable=True),
        sa.Column("billed_gbp", sa.Double(), nullable=True),
        sa.Column("verified_gbp", sa.Double(), nullable=True),
        sa.Column("variance_gbp", sa.Double(), nullable=True),
        sa.Column("variance_pct", sa.Double(), nullable=True),
        sa.Column("paying_on_actuals_gbp", sa.Double(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("audit_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_run_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_provider_months_audit_run_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_provider_months")),
    )
    with op.batch_alter_table("audit_provider_months", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_provider_months_audit_run_id"), ["audit_run_id"], unique=False
        )

    op.create_table(
        "audit_review_priorities",
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("service_user_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("area", sa.String(length=80), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("calls_per_day", sa.Double(), nullable=True),
        sa.Column("days_since_discharge", sa.Double(), nullable=True),
        sa.Column("delivered_ratio", sa.Double(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("audit_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_run_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_review_priorities_audit_run_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_review_priorities")),
    )
    with op.batch_alter_table("audit_review_priorities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_review_priorities_audit_run_id"), ["audit_run_id"], unique=False
        )

    op.create_table(
        "audit_visit_outcomes",
        sa.Column("visit_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("service_user_id", sa.String(length=64), nullable=True),
        sa.Column("carer_id", sa.String(length=64), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("matched_note_id", sa.String(length=64), nullable=True),
        sa.Column("planned_min", sa.Double(), nullable=True),
        sa.Column("ecm_min", sa.Double(), nullable=True),
        sa.Column("note_min", sa.Double(), nullable=True),
        sa.Column("verified_min", sa.Double(), nullable=True),
        sa.Column("billed_min", sa.Double(), nullable=True),
        sa.Column("rate_gbp_per_hour", sa.Double(), nullable=True),
        sa.Column("billed_gbp", sa.Double(), nullable=True),
        sa.Column("verified_gbp", sa.Double(), nullable=True),
        sa.Column("variance_gbp", sa.Double(), nullable=True),
        sa.Column("flag_kinds", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("audit_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_run_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_visit_outcomes_audit_run_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_visit_outcomes")),
    )
    with op.batch_alter_table("audit_visit_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_visit_outcomes_audit_run_id"), ["audit_run_id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        add_postgis_points()


def downgrade() -> None:
    with op.batch_alter_table("audit_visit_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_visit_outcomes_audit_run_id"))

    op.drop_table("audit_visit_outcomes")
    with op.batch_alter_table("audit_review_priorities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_review_priorities_audit_run_id"))

    op.drop_table("audit_review_priorities")
    with op.batch_alter_table("audit_provider_months", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_provider_months_audit_run_id"))

    op.drop_table("audit_provider_months")
    with op.batch_alter_table("audit_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_flags_audit_run_id"))

    op.drop_table("audit_flags")
    op.drop_table("service_users")
    op.drop_table("providers")
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packages_service_user_id"))
        batch_op.drop_index(batch_op.f("ix_packages_provider_id"))

    op.drop_table("packages")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_import_batches_sha256_live",
            sqlite_where=sa.text("status != 'failed'"),
            postgresql_where=sa.text("status <> 'failed'"),
        )

    op.drop_table("import_batches")
    with op.batch_alter_table("ecm_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ecm_visits_provider_id_planned_start"))

    op.drop_table("ecm_visits")
    with op.batch_alter_table("carers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carers_provider_id"))

    op.drop_table("carers")
    op.drop_table("care_notes")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_package_id"))

    op.drop_table("calls")
    op.drop_table("audit_runs")
