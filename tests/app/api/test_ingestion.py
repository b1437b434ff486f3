"""Uploading export files: loads, idempotence, errors that say where, size limit."""

from __future__ import annotations

from tests.app.api.conftest import auth

PROVIDERS = (
    b"provider_id,name,contract_type,rate_gbp_per_hour,base_lat,base_lon\n"
    b"P9,Fenland Care,framework,23.26,52.66,0.16\n"
    b"P10,Ouse Homecare,spot,25.10,52.33,-0.07\n"
)


def _upload(client, token, content: bytes, name: str = "providers.csv", **data):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/imports",
        headers=auth(token),
        files={"file": (name, content, "text/csv")},
        data=data,
    )


def test_upload_loads_once(client, tokens):
    """A file loads its rows; the same file again loads nothing and says so."""
    token = tokens.by_role["service_account"]
    first = _upload(client, token, PROVIDERS, kind="provider")
    assert first.status_code == 201, first.text
    assert first.json()["rows"] == 2
    assert first.json()["already_imported"] is False
    again = _upload(client, token, PROVIDERS, kind="provider")
    assert again.json()["already_imported"] is True
    batches = client.get("/api/imports", headers=auth(token)).json()
    assert batches["total"] == 1
    assert batches["items"][0]["status"] == "imported"


def test_rejected_file_names_file_row_and_column(client, tokens):
    """A bad value is a 422 whose body says which file, row and column; the batch shows it."""
    token = tokens.by_role["contract_manager"]
    bad = PROVIDERS.replace(b"spot", b"cheapest")
    response = _upload(client, token, bad, name="prov export.csv", kind="provider")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_file"
    assert error["where"] == {"file": "prov_export.csv", "row": 3, "column": "contract_type"}
    failed = client.get("/api/imports?status=failed", headers=auth(token)).json()
    assert failed["total"] == 1
    assert "contract_type" in failed["items"][0]["error_message"]


def test_oversized_upload_refused_with_413(client, tokens):
    """A body over max_upload_bytes is refused before it is stored."""
    big = PROVIDERS + b"P11,X,spot,1,52.0,0.1\n" * 5000
    response = _upload(client, tokens.by_role["service_account"], big, kind="provider")
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "payload_too_large"


def test_oversized_json_body_refused_with_413(client, tokens):
    """Non-upload bodies have a smaller limit (placement requests are a few hundred bytes)."""
    body = {"area": "x" * 40_000, "day": "2026-10-05"}
    response = client.post(
        "/api/brokerage/reallocations", json=body, headers=auth(tokens.by_role["broker"])
    )
    assert response.status_code == 413


def test_missing_batch_is_404(client, tokens):
    """An unknown batch id is a 404 with the stable error body."""
    response = client.get("/api/imports/999", headers=auth(tokens.by_role["analyst"]))
    assert response.status_code == 404
    assert response.json() == {
        "error": {"type": "not_found", "message": "No import batch 999.", "where": None}
    }


def test_rejected_care_note_file_never_quotes_note_text(client, tokens):
    """An over-long note is rejected by row and column; neither the answer nor the batch quotes it."""
    text = "SECRET-NOTE " + "x" * 5000
    notes = (
        "note_id,service_user_id,carer_id,written_at,visit_start,visit_end,tasks,text\n"
        f"N1,SU1,C1,2026-10-05 08:00,2026-10-05 07:30,2026-10-05 07:55,meds,{text}\n"
    ).encode()
    sa = tokens.by_role["service_account"]
    response = _upload(client, sa, notes, name="care_notes.csv", kind="care_note")
    assert response.status_code == 422
    assert response.json()["error"]["where"]["row"] == 2
    assert "SECRET-NOTE" not in response.text
    for token in (sa, tokens.by_role["analyst"]):
        assert "SECRET-NOTE" not in client.get("/api/imports", headers=auth(token)).text
