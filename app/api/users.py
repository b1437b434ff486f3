"""First-install user management outside the API (the CLI's ``users create``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.auth import Role, hash_token, new_token
from app.settings import Settings
from data.storage import create_engine_for, upgrade_schema
from data.storage.access import UserRepository


def create_user_with_token(
    settings: Settings,
    username: str,
    role: str,
    *,
    area: str | None = None,
    may_read_note_text: bool = False,
    ttl_days: int = 90,
) -> str:
    """Create a user with one role and return a new bearer token for them."""
    try:
        Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise ValueError(f"Unknown role {role!r}; expected one of {roles}.") from None
    if may_read_note_text and role != Role.CONTRACT_MANAGER:
        raise ValueError("Only a contract manager may be granted care-note excerpts.")
    if ttl_days < 1:
        raise ValueError("--ttl-days must be at least 1.")
    upgrade_schema(settings.database_url)
    engine = create_engine_for(settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            users = UserRepository(session)
            now = datetime.now()
            user = users.create(
                username, role, now=now, area=area, may_read_note_text=may_read_note_text
            )
            token = new_token()
            users.add_token(
                user,
                hash_token(token),
                now=now,
                expires_at=now + timedelta(days=ttl_days),
                label="cli",
            )
    finally:
        engine.dispose()
    return token
