"""ECM visits: drop the PostGIS point, which nothing reads and every bulk load paid to generate

Revision ID: 0004_drop_ecm_point
Revises: 0003_audit_provider
Create Date: 2026-11-23 11:40:00

PostgreSQL only; SQLite never had the column. Downgrade restores it as 0001 made it:
generated from the check-in lat/lon, without an index (0001 indexes no ECM visit point).
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0004_drop_ecm_point"
down_revision: Union[str, None] = "0003_audit_provider"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgresql():
        return
    op.execute("DROP INDEX IF EXISTS ix_ecm_visits_geom")
    op.execute("ALTER TABLE ecm_visits DROP COLUMN geom")


def downgrade() -> None:
    if not _is_postgresql():
        return
    # As 0001's add_postgis_points() for ecm_visits, duplicated so this script stays frozen.
    op.execute(
        "ALTER TABLE ecm_visits ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS "
        "(ST_SetSRID(ST_MakePoint(check_in_lon, check_in_lat), 4326)) STORED"
    )
