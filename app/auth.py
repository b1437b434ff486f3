"""Roles, what each may do (need to know), and bearer tokens.

A role grants permissions; routes ask for a permission, never for a role, so the matrix below
is the single place that says who may read what (docs/security.md prints it). Tokens are
256-bit random strings; only their SHA-256 digest is stored, so a copy of the database
cannot be used to call the API.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BROKER = "broker"
    CONTRACT_MANAGER = "contract_manager"
    ANALYST = "analyst"
    ADMIN = "admin"
    SERVICE_ACCOUNT = "service_account"


class Permission(StrEnum):
    """One thing a caller may do. 'Identifiable' reads name service users (pseudonymously)."""

    INGEST = "ingest"  # upload export files
    IMPORTS_READ = "imports_read"  # import batches and their errors
    AUDIT_RUN = "audit_run"  # queue an audit job
    AUDIT_AGGREGATE = "audit_aggregate"  # runs, provider-month figures
    AUDIT_IDENTIFIABLE = "audit_identifiable"  # flags, visit outcomes, review priority
    NOTE_EXCERPT = "note_excerpt"  # flagged care-note excerpt (needs the user's grant too)
    PROVIDERS_READ = "providers_read"
    SERVICE_USERS_READ = "service_users_read"  # locations by pseudonymous id
    HOTSPOTS_READ = "hotspots_read"  # overlap hot-spots (aggregates)
    PLACEMENT = "placement"
    REALLOCATION_RUN = "reallocation_run"
    REALLOCATION_READ = "reallocation_read"  # proposals as moves of named service users
    CAPACITY_READ = "capacity_read"  # capacity and savings (aggregates)
    JOBS_READ = "jobs_read"
    JOBS_READ_ALL = "jobs_read_all"
    USERS_ADMIN = "users_admin"
    ACCESS_LOG_READ = "access_log_read"
    CONFIG_READ = "config_read"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.BROKER: frozenset(
        {
            P.PROVIDERS_READ,
            P.SERVICE_USERS_READ,
            P.HOTSPOTS_READ,
            P.PLACEMENT,
            P.REALLOCATION_RUN,
            P.REALLOCATION_READ,
            P.CAPACITY_READ,
            P.JOBS_READ,
        }
    ),
    Role.CONTRACT_MANAGER: frozenset(
        {
            P.INGEST,
            P.IMPORTS_READ,
            P.AUDIT_RUN,
            P.AUDIT_AGGREGATE,
            P.AUDIT_IDENTIFIABLE,
            P.NOTE_EXCERPT,
            P.PROVIDERS_READ,
            P.SERVICE_USERS_READ,
            P.HOTSPOTS_READ,
            P.CAPACITY_READ,
            P.JOBS_READ,
        }
    ),
    Role.ANALYST: frozenset(
        {
            P.IMPORTS_READ,
            P.AUDIT_AGGREGATE,
            P.PROVIDERS_READ,
            P.HOTSPOTS_READ,
            P.CAPACITY_READ,
        }
    ),
    Role.ADMIN: frozenset(
        {P.USERS_ADMIN, P.ACCESS_LOG_READ, P.CONFIG_READ, P.JOBS_READ, P.JOBS_READ_ALL}
    ),
    Role.SERVICE_ACCOUNT: frozenset(
        {P.INGEST, P.IMPORTS_READ, P.AUDIT_RUN, P.REALLOCATION_RUN, P.JOBS_READ}
    ),
}

# Why an identifiable read happens when the caller does not say (the X-Purpose header).
DEFAULT_PURPOSE: dict[Role, str] = {
    Role.BROKER: "brokerage of care packages",
    Role.CONTRACT_MANAGER: "contract monitoring",
    Role.ANALYST: "service analysis",
    Role.ADMIN: "administration",
    Role.SERVICE_ACCOUNT: "batch processing",
}

TOKEN_PREFIX = "crt_"


class AuthError(Exception):
    """Base class of authentication and authorisation failures."""


class NotAuthenticated(AuthError):
    """No token, or a token that is unknown, expired or revoked."""


class NotPermitted(AuthError, PermissionError):
    """The caller's role (or grant, or area) does not allow this."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user behind a live token."""

    user_id: int
    username: str
    role: Role
    area: str | None = None
    may_read_note_text: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise NotPermitted(f"Role {self.role.value} may not {permission.value}.")

    def require_area(self, area: str | None) -> None:
        """A broker bound to an area may act only in that area."""
        if self.role is Role.BROKER and self.area is not None and area != self.area:
            raise NotPermitted(f"Broker {self.username} works area {self.area!r}, not {area!r}.")

    @property
    def default_purpose(self) -> str:
        return DEFAULT_PURPOSE[self.role]


def new_token() -> str:
    """A fresh bearer token (shown once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256 hex (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
