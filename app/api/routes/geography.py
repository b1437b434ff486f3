"""Providers, service users by provider as GeoJSON, and overlap hot-spots."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.api import _queries as q
from app.api.deps import AccessLogDep, AreaFilter, PageDep, ProviderFilter, SessionDep, require
from app.api.schemas import (
    ERROR_RESPONSES,
    HotspotOut,
    Page,
    PointGeometry,
    ProviderOut,
    ServiceUserCollection,
    ServiceUserFeature,
    ServiceUserProperties,
)
from app.auth import Permission, Principal

router = APIRouter(prefix="/api/geo", tags=["geography"], responses=ERROR_RESPONSES)

# Grid cell for hot-spots when geo's street-level analysis is not available (~550 m N-S).
CELL_DEG = 0.005


@router.get("/providers", response_model=Page[ProviderOut])
def list_providers(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.PROVIDERS_READ))],
    page: PageDep,
    provider_id: ProviderFilter = None,
) -> Page[ProviderOut]:
    """Providers with their contract type, hourly rate and base."""
    rows, total = q.paged(
        session, q.providers(provider_id=provider_id), limit=page.limit, offset=page.offset
    )
    return Page[ProviderOut](
        items=[ProviderOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/service-users", response_model=ServiceUserCollection)
def service_users(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.SERVICE_USERS_READ))],
    log: AccessLogDep,
    page: PageDep,
    provider_id: ProviderFilter = None,
    area: AreaFilter = None,
) -> ServiceUserCollection:
    """Service users by pseudonymous id and provider, as a GeoJSON FeatureCollection."""
    if principal.area is not None and principal.role.value == "broker":
        principal.require_area(area if area is not None else principal.area)
        area = principal.area
    rows, total = q.service_users(
        session, provider_id=provider_id, area=area, limit=page.limit, offset=page.offset
    )
    features = [
        ServiceUserFeature(
            geometry=PointGeometry(coordinates=(float(u.lon), float(u.lat))),  # type: ignore[arg-type]
            properties=ServiceUserProperties(
                service_user_id=u.service_user_id,
                area=u.area,
                status=u.status,
                provider_ids=providers,
            ),
        )
        for u, providers in rows
    ]
    log.read(principal, subject_ids=[u.service_user_id for u, _ in rows])
    return ServiceUserCollection(
        features=features, total=total, limit=page.limit, offset=page.offset
    )


def _grid_hotspots(points: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    cells: dict[tuple[int, int], dict[str, Any]] = defaultdict(
        lambda: {"people": set(), "providers": set(), "areas": set(), "lat": [], "lon": []}
    )
    for su, lat, lon, provider, area in points:
        cell = cells[(int(lat / CELL_DEG), int(lon / CELL_DEG))]
        cell["people"].add(su)
        cell["providers"].add(provider)
        cell["areas"].add(area)
        cell["lat"].append(lat)
        cell["lon"].append(lon)
    spots = []
    for (i, j), cell in cells.items():
        if len(cell["providers"]) < 2:
            continue
        spots.append(
            {
                "place": f"cell {i}:{j}",
                "area": sorted(cell["areas"])[0] if cell["areas"] else None,
                "lat": sum(cell["lat"]) / len(cell["lat"]),
                "lon": sum(cell["lon"]) / len(cell["lon"]),
                "people": len(cell["people"]),
                "providers": len(cell["providers"]),
                "provider_ids": sorted(cell["providers"]),
                "travel_min": None,
            }
        )
    spots.sort(key=lambda s: (-s["providers"], -s["people"], s["place"]))
    return spots


@router.get("/hotspots", response_model=Page[HotspotOut])
def hotspots(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.HOTSPOTS_READ))],
    page: PageDep,
    area: AreaFilter = None,
    min_people: Annotated[int, Query(ge=1, le=10_000)] = 2,
) -> Page[HotspotOut]:
    """Small areas served by two or more providers: people, providers (aggregates only)."""
    spots = [
        s
        for s in _grid_hotspots(q.located_service_users(session, area=area))
        if s["people"] >= min_people
    ]
    window = spots[page.offset : page.offset + page.limit]
    return Page[HotspotOut](
        items=[HotspotOut(**s) for s in window],
        total=len(spots),
        limit=page.limit,
        offset=page.offset,
    )
