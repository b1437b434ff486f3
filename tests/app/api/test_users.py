"""First-install users: `carerounds users create` prints a working token, stores only its hash."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.api.users import create_user_with_token
from app.auth import hash_token
from app.cli import cli
from data.storage.access import ApiToken


def test_created_token_authenticates_and_only_its_hash_is_stored(client, engine, api_settings):
    """The printed token works on the API; the database holds its SHA-256, never the token."""
    token = create_user_with_token(api_settings, "ana", "contract_manager", may_read_note_text=True)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "contract_manager"
    assert me["may_read_note_text"] is True
    with Session(engine) as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [hash_token(token)]
    assert token not in stored


@pytest.mark.parametrize(
    ("role", "kwargs", "message"),
    [
        ("superuser", {}, "Unknown role"),
        ("broker", {"may_read_note_text": True}, "Only a contract manager"),
    ],
)
def test_refuses_unknown_roles_and_wrong_grants(api_settings, role, kwargs, message):
    """Roles are a closed list; only contract managers may hold the note grant."""
    with pytest.raises(ValueError, match=message):
        create_user_with_token(api_settings, "x", role, **kwargs)


def test_cli_prints_the_token(database_url, tmp_path, monkeypatch):
    """The CLI command creates the user and prints the token on standard output."""
    from app.settings import get_settings

    monkeypatch.setenv("CAREROUNDS_DATABASE_URL", database_url)
    monkeypatch.setenv("CAREROUNDS_WORK_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["users", "create", "bea", "--role", "broker"])
        again = CliRunner().invoke(cli, ["users", "create", "bea", "--role", "broker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("crt_")
    assert again.exit_code == 2
    assert "already exists" in again.output
