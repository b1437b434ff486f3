"""Users, their roles and API tokens, and the log of reads of identifiable data.

Tokens are stored only as a hash (the caller hashes; this module never sees a secret it could
leak). The access log answers "who read what about whom, when and why" (Caldicott, UK GDPR
Art. 5(2)); it is append-only from the product's side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from data.storage._base import Base

ROLES = ("broker", "contract_manager", "analyst", "admin", "service_account")


class User(Base):
    """A person or service account that may call the API, with one role."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('broker', 'contract_manager', 'analyst', 'admin', 'service_account')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    # A broker works one area; None means every area.
    area: Mapped[str | None] = mapped_column(String(80))
    # Contract managers may be granted the flagged care-note excerpt as evidence.
    may_read_note_text: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer token of one user, stored as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AccessLogEntry(Base):
    """One read of identifiable data: who, when, what (endpoint, filters, subjects) and why."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # "read" | "export"
    resource: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    record_count: Mapped[int] = mapped_column(Integer)
    # ";"-joined pseudonymous service-user ids the response named (capped; see record_count).
    subject_ids: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(200))


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """The user a live token belongs to, as the API needs it."""

    user_id: int
    username: str
    role: str
    area: str | None
    may_read_note_text: bool
    token_id: int


class UserRepository:
    """Users and their tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        username: str,
        role: str,
        *,
        now: datetime,
        area: str | None = None,
        may_read_note_text: bool = False,
    ) -> User:
        """Add a user; raises ValueError for an unknown role or a taken username."""
        if role not in ROLES:
            raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
        if self.by_username(username) is not None:
            raise ValueError(f"A user named {username!r} already exists.")
        user = User(
            username=username,
            role=role,
            area=area,
            may_read_note_text=may_read_note_text,
            is_active=True,
            created_at=now,
        )
        self.session.add(user)
        self.session.flush()
        return user

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()

    def page(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        total = self.session.scalar(select(func.count()).select_from(User)) or 0
        rows = self.session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))
        return list(rows), total

    def add_token(
        self,
        user: User,
        token_hash: str,
        *,
        now: datetime,
        expires_at: datetime | None,
        label: str | None = None,
    ) -> ApiToken:
        token = ApiToken(
            user_id=user.id,
            token_hash=token_hash,
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
        self.session.add(token)
        self.session.flush()
        return token

    def revoke_token(self, token_id: int, *, now: datetime) -> bool:
        """Revoke a token; False when there is no such live token."""
        result = self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def owner_of(self, token_hash: str, *, now: datetime) -> TokenOwner | None:
        """The active user of a live (not expired, not revoked) token, or None."""
        row = self.session.execute(
            select(User, ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        user, token_id, expires_at, revoked_at = row
        if revoked_at is not None or not user.is_active:
            return None
        if expires_at is not None and expires_at <= now:
            return None
        return TokenOwner(
            user_id=user.id,
            username=user.username,
            role=user.role,
            area=user.area,
            may_read_note_text=user.may_read_note_text,
            token_id=token_id,
        )


class AccessLogRepository:
    """Append and page through the access log."""

    MAX_SUBJECTS = 2000

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        *,
        at: datetime,
        user_id: int | None,
        username: str,
        role: str,
        action: str,
        resource: str,
        filters: dict[str, Any],
        subject_ids: list[str],
        purpose: str,
        record_count: int | None = None,
    ) -> AccessLogEntry:
        unique = sorted(set(subject_ids))
        entry = AccessLogEntry(
            at=at,
            user_id=user_id,
            username=username,
            role=role,
            action=action,
            resource=resource[:200],
            filters=filters,
            record_count=len(subject_ids) if record_count is None else record_count,
            subject_ids=";".join(unique[: self.MAX_SUBJECTS]) or None,
            purpose=purpose[:200],
        )
        self.session.add(entry)
        self.session.flush()
        return entry

    def page(
        self, *, limit: int, offset: int, username: str | None = None
    ) -> tuple[list[AccessLogEntry], int]:
        query = select(AccessLogEntry)
        if username is not None:
            query = query.where(AccessLogEntry.username == username)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(AccessLogEntry.id.desc()).limit(limit).offset(offset)
        )
        return list(rows), total
