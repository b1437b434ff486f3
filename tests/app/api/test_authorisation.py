"""Authorisation matrix: every endpoint × every role, anonymous, expired and revoked tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.app.api.conftest import County, Tokens, auth

B, CM, AN, AD, SA = "broker", "contract_manager", "analyst", "admin", "service_account"
ROLES = (B, CM, AN, AD, SA)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    allowed: frozenset[str]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def url(self, county: County) -> str:
        return self.path.format(
            run=county.run_id, flag=county.flag_id, job=county.job_id, batch=county.batch_id
        )


PLACEMENT = {
    "area": "Wisbech",
    "day": "2026-10-05",
    "lat": 52.664,
    "lon": 0.16,
    "calls": [{"window_start": "07:00", "window_end": "09:00", "duration_min": 30}],
}
CSV = {"files": {"file": ("providers.csv", b"provider_id,name\n")}, "data": {"kind": "provider"}}

ENDPOINTS = [
    Endpoint("POST", "/api/imports", frozenset({CM, SA}), CSV),
    Endpoint("GET", "/api/imports", frozenset({CM, AN, SA})),
    Endpoint("GET", "/api/imports/{batch}", frozenset({CM, AN, SA})),
    Endpoint("GET", "/api/audit/runs", frozenset({CM, AN})),
    Endpoint("POST", "/api/audit/runs", frozenset({CM, SA}), {"json": {"month": "2026-10"}}),
    Endpoint("GET", "/api/audit/runs/{run}", frozenset({CM, AN})),
    Endpoint("GET", "/api/audit/runs/{run}/provider-months", frozenset({CM, AN})),
    Endpoint("GET", "/api/audit/runs/{run}/flags", frozenset({CM})),
    Endpoint(
        "GET",
        "/api/audit/runs/{run}/flags/{flag}/note-excerpt",
        frozenset({CM}),
        {"headers": {"X-Purpose": "evidence for provider meeting"}},
    ),
    Endpoint("GET", "/api/audit/runs/{run}/visits", frozenset({CM})),
    Endpoint("GET", "/api/audit/runs/{run}/review-priority", frozenset({CM})),
    Endpoint("GET", "/api/audit/runs/{run}/provider-months.csv", frozenset({CM, AN})),
    Endpoint("GET", "/api/audit/runs/{run}/flags.csv", frozenset({CM})),
    Endpoint("GET", "/api/audit/runs/{run}/visits.csv", frozenset({CM})),
    Endpoint("GET", "/api/audit/runs/{run}/review-priority.csv", frozenset({CM})),
    Endpoint("GET", "/api/geo/providers", frozenset({B, CM, AN})),
    Endpoint("GET", "/api/geo/service-users", frozenset({B, CM})),
    Endpoint("GET", "/api/geo/hotspots", frozenset({B, CM, AN})),
    Endpoint("POST", "/api/brokerage/placements", frozenset({B}), {"json": PLACEMENT}),
    Endpoint(
        "POST",
        "/api/brokerage/reallocations",
        frozenset({B, SA}),
        {"json": {"area": "Wisbech", "day": "2026-10-05"}},
    ),
    Endpoint("GET", "/api/brokerage/reallocations/{job}", frozenset({B})),
    Endpoint("GET", "/api/capacity", frozenset({B, CM, AN})),
    Endpoint("GET", "/api/jobs", frozenset({B, CM, AD, SA})),
    Endpoint("GET", "/api/jobs/{job}", frozenset({B, CM, AD, SA})),
    Endpoint("POST", "/api/jobs/{job}/cancel", frozenset({B, CM, AD, SA})),
    Endpoint("GET", "/api/me", frozenset(ROLES)),
    Endpoint("GET", "/api/admin/users", frozenset({AD})),
    Endpoint(
        "POST",
        "/api/admin/users",
        frozenset({AD}),
        {"json": {"username": "new", "role": "analyst"}},
    ),
    Endpoint("POST", "/api/admin/users/1/tokens", frozenset({AD}), {"json": {}}),
    Endpoint("POST", "/api/admin/tokens/1/revoke", frozenset({AD})),
    Endpoint("GET", "/api/admin/access-log", frozenset({AD})),
    Endpoint("GET", "/api/admin/config", frozenset({AD})),
]
# Outcomes that show the caller got past authorisation (the resource may still be missing, or
# a capability absent from this build, e.g. a job visible only to its creator).
PAST_AUTH = {200, 201, 202, 204, 404, 409, 422, 503}


def _call(client, endpoint: Endpoint, county: County, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    kwargs = dict(endpoint.kwargs)
    kwargs["headers"] = {**kwargs.get("headers", {}), **headers}
    return client.request(endpoint.method, endpoint.url(county), **kwargs)


def _token_for(tokens: Tokens, role: str) -> str:
    # The contract manager of the matrix holds the note grant, so the role rule is what's tested.
    return tokens.cm_granted if role == CM else tokens.by_role[role]


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_allows_or_refuses_the_role(client, tokens, two_providers_same_street, role):
    """The role gets past authorisation exactly where the matrix allows it, else 403."""
    mismatches = []
    for endpoint in ENDPOINTS:
        response = _call(
            client, endpoint, two_providers_same_street, auth(_token_for(tokens, role))
        )
        allowed = role in endpoint.allowed
        ok = response.status_code in PAST_AUTH if allowed else response.status_code == 403
        if not ok:
            mismatches.append(
                (endpoint.method, endpoint.path, response.status_code, response.text[:200])
            )
    assert mismatches == []


def test_anonymous_expired_and_revoked_tokens_refused(client, tokens, two_providers_same_street):
    """No token, an expired, a revoked or an unknown token, or Basic auth: 401 everywhere."""
    mismatches = []
    for endpoint in ENDPOINTS:
        for name, headers in (
            ("anonymous", {}),
            ("expired", auth(tokens.expired)),
            ("revoked", auth(tokens.revoked)),
            ("unknown", auth("crt_not-a-token")),
            ("basic", {"Authorization": "Basic dXNlcjpwYXNz"}),
        ):
            response = _call(client, endpoint, two_providers_same_street, headers)
            if not (
                response.status_code == 401
                and response.headers.get("www-authenticate") == "Bearer"
                and response.json()["error"]["type"] == "not_authenticated"
            ):
                mismatches.append((endpoint.method, endpoint.path, name, response.status_code))
    assert mismatches == []


def test_health_needs_no_token(client):
    """The liveness probe answers without a token and carries no data."""
    assert client.get("/api/health").json() == {"status": "ok"}


def test_contract_manager_without_grant_cannot_read_note_excerpt(
    client, tokens, two_providers_same_street
):
    """The role alone is not enough for care-note text: the user needs the grant."""
    county = two_providers_same_street
    response = client.get(
        f"/api/audit/runs/{county.run_id}/flags/{county.flag_id}/note-excerpt",
        headers={**auth(tokens.by_role[CM]), "X-Purpose": "evidence"},
    )
    assert response.status_code == 403


def test_broker_bound_to_area_refused_elsewhere(client, tokens, two_providers_same_street):
    """A broker working March cannot read or plan Wisbech."""
    headers = auth(tokens.broker_in_area)
    assert client.get("/api/geo/service-users?area=Wisbech", headers=headers).status_code == 403
    body = {"area": "Wisbech", "day": "2026-10-05"}
    assert (
        client.post("/api/brokerage/reallocations", json=body, headers=headers).status_code == 403
    )
    own = client.get("/api/geo/service-users", headers=headers).json()
    assert {f["properties"]["area"] for f in own["features"]} == {"March"}


def test_jobs_visible_only_to_their_creator(client, tokens, two_providers_same_street):
    """Another role's job is 404 to a non-admin, visible to an admin."""
    job = two_providers_same_street.job_id
    assert client.get(f"/api/jobs/{job}", headers=auth(tokens.by_role[SA])).status_code == 404
    assert client.get(f"/api/jobs/{job}", headers=auth(tokens.by_role[AD])).status_code == 200
