"""Geography endpoints: service users as GeoJSON by pseudonymous id, hot-spots, providers."""

from __future__ import annotations

from tests.app.api.conftest import auth


def test_service_users_geojson(client, tokens, two_providers_same_street):
    """A FeatureCollection of points [lon, lat] with pseudonymous ids and their providers."""
    body = client.get(
        "/api/geo/service-users?provider_id=P1", headers=auth(tokens.by_role["broker"])
    ).json()
    assert body["type"] == "FeatureCollection"
    assert body["total"] == 2
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    assert 52 < lat < 53 and 0 < lon < 1
    assert set(feature["properties"]) == {"service_user_id", "area", "status", "provider_ids"}
    assert feature["properties"]["provider_ids"] == ["P1"]


def test_hotspot_where_two_providers_share_a_street(client, tokens, two_providers_same_street):
    """The Wisbech street served by P1 and P2 is a hot-spot; March (one provider) is not."""
    body = client.get("/api/geo/hotspots", headers=auth(tokens.by_role["analyst"])).json()
    assert body["total"] == 1
    spot = body["items"][0]
    assert spot["level"] == "cell"
    assert spot["provider_ids"] == ["P1", "P2"]
    assert spot["people"] == 3
    assert 52.66 < spot["lat"] < 52.67


def test_providers_listed(client, tokens, two_providers_same_street):
    """Providers with rate and base, filterable by id."""
    body = client.get(
        "/api/geo/providers?provider_id=P2", headers=auth(tokens.by_role["analyst"])
    ).json()
    assert [p["provider_id"] for p in body["items"]] == ["P2"]


def test_capacity_for_an_area(client, tokens, two_providers_same_street):
    """Commissioned hours per week per provider, delivered hours in the period, savings."""
    body = client.get(
        "/api/capacity?area=Wisbech&start=2026-10-01&end=2026-11-01",
        headers=auth(tokens.by_role["broker"]),
    ).json()
    by_provider = {p["provider_id"]: p for p in body["providers"]}
    assert by_provider["P1"]["commissioned_hours_per_week"] == 7.0  # 2 people × 7 × 30 min
    assert body["delivered_hours"] > 0
    assert body["savings"]["hours_freed_per_week"] == 3.5
    assert body["savings"]["billed_minus_verified_gbp"] == 15.5


def test_capacity_period_end_before_start_is_422(client, tokens):
    """A period must end after it starts."""
    response = client.get(
        "/api/capacity?start=2026-10-10&end=2026-10-01", headers=auth(tokens.by_role["analyst"])
    )
    assert response.status_code == 422
    assert response.json()["error"]["where"] == {"in": "query", "field": "end"}


def test_reallocation_proposal_moves_and_impact(client, tokens, two_providers_same_street):
    """The broker sees the moves (pseudonymous ids) and hours freed and savings."""
    job = two_providers_same_street.job_id
    body = client.get(
        f"/api/brokerage/reallocations/{job}", headers=auth(tokens.by_role["broker"])
    ).json()
    assert body["impact"]["hours_freed_per_week"] == 3.5
    assert body["moves"][0]["to_provider_id"] == "P1"
    assert body["total_moves"] == 1
