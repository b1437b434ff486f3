"""audit outputs: index (run, provider), the way reports and the API read them

Revision ID: 0003_audit_provider
Revises: 0002_access_jobs
Create Date: 2026-11-23 03:50:00
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0003_audit_provider"
down_revision: Union[str, None] = "0002_access_jobs"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = (
    "audit_visit_outcomes",
    "audit_flags",
    "audit_provider_months",
    "audit_review_priorities",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"ix_{table}_run_provider", ["audit_run_id", "provider_id"], unique=False
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_run_provider")
