"""Brokerage: placement proposals, and a re-allocation run as a job from request to moves."""

from __future__ import annotations

from app.jobs.runner import Worker
from tests.app.api.conftest import auth

PLACEMENT = {
    "area": "Wisbech",
    "day": "2026-10-05",
    "lat": 52.6645,
    "lon": 0.1605,
    "calls": [{"window_start": "10:00", "window_end": "12:00", "duration_min": 30}],
}


def test_placement_ranks_proposals_by_added_travel(client, tokens, two_providers_same_street):
    """Both Wisbech providers can take a late-morning call; least added travel ranks first."""
    response = client.post(
        "/api/brokerage/placements", json=PLACEMENT, headers=auth(tokens.by_role["broker"])
    )
    assert response.status_code == 200, response.text
    body = response.json()
    ranks = [p["rank"] for p in body["proposals"]]
    assert ranks == list(range(1, len(ranks) + 1))
    assert {p["provider_id"] for p in body["proposals"]} == {"P1", "P2"}
    travel = [p["added_travel_min"] for p in body["proposals"]]
    assert travel == sorted(travel)
    call = body["proposals"][0]["calls"][0]
    assert "10:00:00" <= call["start"] <= "11:30:00"


def test_placement_on_a_day_without_rounds_is_422(client, tokens, two_providers_same_street):
    """A day with no ECM visits in the area cannot be planned; the body says which field."""
    body = {**PLACEMENT, "day": "2026-10-06"}
    response = client.post(
        "/api/brokerage/placements", json=body, headers=auth(tokens.by_role["broker"])
    )
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "not_plannable"


def test_placement_window_must_be_ordered(client, tokens):
    """A call window ending before it starts is refused before any planning."""
    body = {
        **PLACEMENT,
        "calls": [{"window_start": "12:00", "window_end": "10:00", "duration_min": 30}],
    }
    response = client.post(
        "/api/brokerage/placements", json=body, headers=auth(tokens.by_role["broker"])
    )
    assert response.status_code == 422


def test_reallocation_from_request_to_moves(
    client, engine, api_settings, tokens, two_providers_same_street
):
    """A broker's request becomes a job; the worker solves it; the proposal shows impact."""
    headers = auth(tokens.by_role["broker"])
    job = client.post(
        "/api/brokerage/reallocations",
        json={"area": "Wisbech", "day": "2026-10-05", "time_limit_s": 2},
        headers=headers,
    ).json()
    assert job["status"] == "queued"
    assert Worker(api_settings, engine=engine).run_once() == job["id"]
    polled = client.get(f"/api/jobs/{job['id']}", headers=headers).json()
    assert polled["status"] == "succeeded", polled["error"]
    proposal = client.get(f"/api/brokerage/reallocations/{job['id']}", headers=headers).json()
    assert proposal["impact"]["travel_saved_min"] >= 0
    assert proposal["area"] == "Wisbech"
    assert proposal["total_moves"] == len(proposal["moves"])
