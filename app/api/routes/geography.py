"""Providers, service users by provider as GeoJSON, and overlap hot-spots."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

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
from data.storage import reads as q

router = APIRouter(prefix="/api/geo", tags=["geography"], responses=ERROR_RESPONSES)


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


HOTSPOT_CACHE_TTL_S = 300.0


def _hotspots(context: Any, session: Any, area: str | None) -> list[dict[str, Any]]:
    """geo's overlap ranking of the located service users (cached per area for 5 minutes)."""
    import time

    import pandas as pd

    import geo

    key = f"hotspots:{area}"
    cached = context.cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < HOTSPOT_CACHE_TTL_S:
        return cached[1]  # type: ignore[no-any-return]
    rows = q.located_service_users(session, area=area)
    spots: list[dict[str, Any]] = []
    if rows:
        points = pd.DataFrame(
            rows, columns=["service_user_id", "lat", "lon", "provider_id", "area"]
        ).drop_duplicates(["service_user_id", "provider_id"])
        network = None
        path = context.settings.road_network_path
        if path is not None and path.exists():
            from app.travel import _network

            network = _network(str(path), "drive")
        ranked = geo.overlap_hotspots(points, network=network)
        for r in ranked.to_dict("records"):
            spots.append(
                {
                    "level": str(r["level"]),
                    "rank": int(r["rank"]),
                    "place": str(r["name"]),
                    "area": area,
                    "lat": float(r["lat"]),
                    "lon": float(r["lon"]),
                    "people": int(r["people"]),
                    "providers": int(r["providers"]),
                    "provider_ids": sorted(str(r["provider_ids"]).split(",")),
                    "travel_min": float(r["travel_min"]),
                }
            )
    context.cache[key] = (time.monotonic(), spots)
    return spots


@router.get("/hotspots", response_model=Page[HotspotOut])
def hotspots(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.HOTSPOTS_READ))],
    page: PageDep,
    area: AreaFilter = None,
    min_people: Annotated[int, Query(ge=1, le=10_000)] = 2,
) -> Page[HotspotOut]:
    """Streets and cells served by two or more providers, best re-allocation prospects first."""
    context = request.app.state.planning_context
    spots = [s for s in _hotspots(context, session, area) if s["people"] >= min_people]
    window = spots[page.offset : page.offset + page.limit]
    return Page[HotspotOut](
        items=[HotspotOut(**s) for s in window],
        total=len(spots),
        limit=page.limit,
        offset=page.offset,
    )
