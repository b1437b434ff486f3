"""Need to know: care-note text and names never leak; identifiable reads are in the access log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.storage.access import AccessLogEntry
from tests.app.api.conftest import SECRET_NOTE_TEXT, auth
from tests.app.api.test_authorisation import ENDPOINTS, ROLES, _call

SECRET_FRAGMENTS = (SECRET_NOTE_TEXT, "SECRET-NOTE", "Mrs Example", "insulin")


def test_note_text_and_names_never_reach_a_role_without_the_right(
    client, tokens, two_providers_same_street
):
    """Every endpoint, every role (note-grant holders included, except on the excerpt itself)."""
    leaks = []
    callers = {role: tokens.by_role[role] for role in ROLES} | {"cm-granted": tokens.cm_granted}
    for endpoint in ENDPOINTS:
        for who, token in callers.items():
            if who == "cm-granted" and endpoint.path.endswith("note-excerpt"):
                continue
            response = _call(client, endpoint, two_providers_same_street, auth(token))
            leaks += [(who, endpoint.path, s) for s in SECRET_FRAGMENTS if s in response.text]
    for page in ("/", "/openapi.json", "/static/app.js"):
        leaks += [("anonymous", page, s) for s in SECRET_FRAGMENTS if s in client.get(page).text]
    assert leaks == []


def test_granted_contract_manager_reads_only_the_flagged_excerpt(
    client, tokens, two_providers_same_street
):
    """The excerpt is the flagged note's, capped at 280 characters."""
    county = two_providers_same_street
    response = client.get(
        f"/api/audit/runs/{county.run_id}/flags/{county.note_flag_id}/note-excerpt",
        headers={**auth(tokens.cm_granted), "X-Purpose": "evidence for provider meeting"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["note_id"] == "N1"
    assert body["excerpt"].startswith(SECRET_NOTE_TEXT)
    assert len(body["excerpt"]) <= 280


def test_note_excerpt_requires_a_purpose(client, tokens, two_providers_same_street):
    """Reading care-note text without saying why is refused (422 naming the header)."""
    county = two_providers_same_street
    response = client.get(
        f"/api/audit/runs/{county.run_id}/flags/{county.flag_id}/note-excerpt",
        headers=auth(tokens.cm_granted),
    )
    assert response.status_code == 422
    assert response.json()["error"]["where"] == {"in": "header", "field": "x-purpose"}


IDENTIFIABLE_READS = [
    ("contract_manager", "/api/audit/runs/{run}/flags"),
    ("contract_manager", "/api/audit/runs/{run}/visits"),
    ("contract_manager", "/api/audit/runs/{run}/review-priority"),
    ("contract_manager", "/api/audit/runs/{run}/flags.csv"),
    ("contract_manager", "/api/audit/runs/{run}/visits.csv"),
    ("contract_manager", "/api/audit/runs/{run}/review-priority.csv"),
    ("contract_manager", "/api/geo/service-users"),
    ("broker", "/api/geo/service-users"),
    ("broker", "/api/brokerage/reallocations/{job}"),
    ("cm-granted", "/api/audit/runs/{run}/flags/{flag}/note-excerpt"),
]


def _log_rows(engine) -> list[AccessLogEntry]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))


def test_every_identifiable_read_is_logged_with_who_when_what_why(
    client, engine, tokens, two_providers_same_street
):
    """100% of identifiable reads write one entry naming user, time, resource, subjects, purpose."""
    county = two_providers_same_street
    for who, path in IDENTIFIABLE_READS:
        token = tokens.cm_granted if who == "cm-granted" else tokens.by_role[who]
        before = len(_log_rows(engine))
        url = path.format(run=county.run_id, job=county.job_id, flag=county.note_flag_id)
        response = client.get(url, headers={**auth(token), "X-Purpose": f"check {path}"})
        assert response.status_code == 200, (path, response.text)
        rows = _log_rows(engine)
        assert len(rows) == before + 1, path
        entry = rows[-1]
        assert entry.username == ("cm-granted" if who == "cm-granted" else f"{who}-1")
        assert entry.purpose == f"check {path}"
        assert entry.resource.startswith("GET /api/")
        assert entry.subject_ids, path
        assert entry.at is not None


def test_aggregate_reads_are_not_logged(client, engine, tokens, two_providers_same_street):
    """Provider-month money, hot-spots and capacity name nobody, so write no entry."""
    county = two_providers_same_street
    headers = auth(tokens.by_role["analyst"])
    for url in (
        f"/api/audit/runs/{county.run_id}/provider-months",
        "/api/geo/hotspots",
        "/api/capacity",
    ):
        assert client.get(url, headers=headers).status_code == 200
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == 0


def test_admin_reads_the_access_log(client, tokens, two_providers_same_street):
    """The admin sees who read what; the default purpose is the role's when none is given."""
    county = two_providers_same_street
    client.get(
        f"/api/audit/runs/{county.run_id}/flags", headers=auth(tokens.by_role["contract_manager"])
    )
    log = client.get("/api/admin/access-log", headers=auth(tokens.by_role["admin"])).json()
    assert log["total"] == 1
    assert log["items"][0]["purpose"] == "contract monitoring"
    assert log["items"][0]["subject_ids"] == "SU1;SU2"
