"""Users, tokens, the access log and configuration (admin), and who am I (everyone)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.api.deps import PageDep, SessionDep, SettingsDep, current_principal, now, require
from app.api.errors import Conflict, NotFound
from app.api.schemas import (
    ERROR_RESPONSES,
    AccessLogOut,
    ConfigOut,
    MeOut,
    Page,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from app.auth import ROLE_PERMISSIONS, Permission, Principal, hash_token, new_token
from data.storage.access import AccessLogRepository, UserRepository

router = APIRouter(tags=["admin"], responses=ERROR_RESPONSES)

Admin = Annotated[Principal, Depends(require(Permission.USERS_ADMIN))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/api/me", response_model=MeOut)
def me(principal: Annotated[Principal, Depends(current_principal)]) -> MeOut:
    """The caller's user, role and permissions."""
    return MeOut(
        username=principal.username,
        role=principal.role,
        area=principal.area,
        may_read_note_text=principal.may_read_note_text,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
    )


@router.get("/api/admin/users", response_model=Page[UserOut])
def list_users(session: SessionDep, principal: Admin, page: PageDep) -> Page[UserOut]:
    """Users and their roles."""
    rows, total = UserRepository(session).page(limit=page.limit, offset=page.offset)
    return Page[UserOut](
        items=[UserOut.model_validate(u) for u in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/api/admin/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, principal: Admin) -> UserOut:
    """Create a user with one role."""
    users = UserRepository(session)
    if users.by_username(body.username) is not None:
        raise Conflict(f"A user named {body.username!r} already exists.")
    user = users.create(
        body.username,
        body.role.value,
        now=now(),
        area=body.area,
        may_read_note_text=body.may_read_note_text,
    )
    return UserOut.model_validate(user)


@router.post("/api/admin/users/{user_id}/tokens", response_model=TokenOut, status_code=201)
def issue_token(user_id: Id, body: TokenIn, session: SessionDep, principal: Admin) -> TokenOut:
    """Issue a bearer token for a user (shown once)."""
    users = UserRepository(session)
    user = users.get(user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    token = new_token()
    issued = now()
    row = users.add_token(
        user,
        hash_token(token),
        now=issued,
        expires_at=issued + timedelta(days=body.ttl_days),
        label=body.label,
    )
    return TokenOut(token_id=row.id, token=token, expires_at=row.expires_at)


@router.post("/api/admin/tokens/{token_id}/revoke", status_code=204)
def revoke_token(token_id: Id, session: SessionDep, principal: Admin) -> None:
    """Revoke a token at once."""
    if not UserRepository(session).revoke_token(token_id, now=now()):
        raise NotFound(f"No live token {token_id}.")


@router.get("/api/admin/access-log", response_model=Page[AccessLogOut])
def access_log(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.ACCESS_LOG_READ))],
    page: PageDep,
    username: Annotated[str | None, Query(max_length=80)] = None,
) -> Page[AccessLogOut]:
    """Who read identifiable data, when, what and why (newest first)."""
    rows, total = AccessLogRepository(session).page(
        limit=page.limit, offset=page.offset, username=username
    )
    return Page[AccessLogOut](
        items=[AccessLogOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/api/admin/config", response_model=ConfigOut)
def config(
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.CONFIG_READ))],
) -> ConfigOut:
    """The running configuration, without secrets."""
    return ConfigOut(
        environment=settings.environment,
        database_backend=settings.database_url.split(":", 1)[0],
        api=settings.api.model_dump(),
        audit=settings.audit.model_dump(),
    )
