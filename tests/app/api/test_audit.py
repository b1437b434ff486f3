"""Audit endpoints: pagination, filters, CSV, queueing a run, and their error bodies."""

from __future__ import annotations

import csv
import io

import pytest

from tests.app.api.conftest import auth


@pytest.fixture
def cm(tokens) -> dict[str, str]:
    """Headers of a contract manager."""
    return auth(tokens.by_role["contract_manager"])


def test_flags_paginate_and_filter(client, cm, two_providers_same_street):
    """limit/offset page through flags; provider and kind filters narrow them."""
    run = two_providers_same_street.run_id
    first = client.get(f"/api/audit/runs/{run}/flags?limit=1", headers=cm).json()
    second = client.get(f"/api/audit/runs/{run}/flags?limit=1&offset=1", headers=cm).json()
    assert first["total"] == second["total"] == 2
    assert first["items"][0]["id"] != second["items"][0]["id"]
    p2 = client.get(f"/api/audit/runs/{run}/flags?provider_id=P2", headers=cm).json()
    assert [f["record_id"] for f in p2["items"]] == ["N1"]
    kind = client.get(f"/api/audit/runs/{run}/flags?flag_kind=short_call", headers=cm).json()
    assert [f["record_id"] for f in kind["items"]] == ["V0"]


@pytest.mark.parametrize("limit", [0, 501, 10_000])
def test_page_size_above_500_is_422(client, cm, two_providers_same_street, limit):
    """A page size outside 1..500 is refused, naming the parameter."""
    run = two_providers_same_street.run_id
    response = client.get(f"/api/audit/runs/{run}/flags?limit={limit}", headers=cm)
    assert response.status_code == 422
    assert response.json()["error"]["where"] == {"in": "query", "field": "limit"}


def test_bad_month_filter_is_422(client, cm, two_providers_same_street):
    """Months look like 2026-10; anything else names the month parameter."""
    run = two_providers_same_street.run_id
    response = client.get(f"/api/audit/runs/{run}/provider-months?month=2026-13", headers=cm)
    assert response.status_code == 422
    assert response.json()["error"]["where"]["field"] == "month"


def test_provider_months_money(client, tokens, two_providers_same_street):
    """An analyst sees the money per provider per month (aggregates only)."""
    run = two_providers_same_street.run_id
    body = client.get(
        f"/api/audit/runs/{run}/provider-months?month=2026-10",
        headers=auth(tokens.by_role["analyst"]),
    ).json()
    assert body["total"] == 2
    assert body["items"][0]["variance_gbp"] == pytest.approx(7.75)


def test_unknown_run_is_404(client, cm):
    """An audit run that does not exist is a 404, not an empty list."""
    assert client.get("/api/audit/runs/77/flags", headers=cm).status_code == 404


def test_flags_csv_download(client, cm, two_providers_same_street):
    """The CSV has the API's columns and one row per flag."""
    run = two_providers_same_street.run_id
    response = client.get(f"/api/audit/runs/{run}/flags.csv", headers=cm)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["record_id"] for r in rows} == {"V0", "N1"}
    assert "evidence" in rows[0]


def test_review_priority_lists_reasons(client, cm, two_providers_same_street):
    """The review list is ranked, each with its reasons."""
    run = two_providers_same_street.run_id
    items = client.get(f"/api/audit/runs/{run}/review-priority", headers=cm).json()["items"]
    assert items[0]["rank"] == 1
    assert items[0]["reasons"] == "Four or more calls a day"


def test_post_audit_run_queues_a_job(client, cm):
    """Running an audit returns a queued job the caller can poll and cancel."""
    job = client.post("/api/audit/runs", json={"month": "2026-10"}, headers=cm)
    assert job.status_code == 202
    assert job.json()["status"] == "queued"
    job_id = job.json()["id"]
    assert client.get(f"/api/jobs/{job_id}", headers=cm).json()["kind"] == "audit"
    cancelled = client.post(f"/api/jobs/{job_id}/cancel", headers=cm).json()
    assert cancelled["status"] == "cancelled"


def test_unknown_body_field_is_422(client, cm):
    """Request bodies reject fields they do not know (no silent typos)."""
    response = client.post("/api/audit/runs", json={"monht": "2026-10"}, headers=cm)
    assert response.status_code == 422
    assert response.json()["error"]["where"] == {"in": "body", "field": "monht"}
