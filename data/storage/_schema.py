"""What Alembic compares: the models, minus what PostGIS owns or adds on PostgreSQL only."""

from __future__ import annotations

from typing import Any

import geoalchemy2  # noqa: F401  (teaches SQLAlchemy to reflect PostGIS geometry columns)

from data.storage._models import POSTGIS_POINTS

POSTGIS_TABLES = frozenset({"spatial_ref_sys", "geometry_columns", "geography_columns"})


def geom_index_name(table: str) -> str:
    """Name of the GiST index on a table's PostGIS point."""
    return f"ix_{table}_geom"


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Leave PostGIS's own tables out of autogenerate comparisons."""
    return not (type_ == "table" and name in POSTGIS_TABLES)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, _compare_to: Any
) -> bool:
    """Leave out the PostgreSQL-only geometry columns and their indexes (see POSTGIS_POINTS)."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    if type_ == "column" and name == "geom" and obj.table.name in POSTGIS_POINTS:
        return False
    return not (
        type_ == "index" and reflected and name in {geom_index_name(t) for t in POSTGIS_POINTS}
    )
