"""Request dependencies: the database session, the caller, pagination, filters, access log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth import NotAuthenticated, Permission, Principal, Role, hash_token
from app.settings import Settings
from data.storage.access import AccessLogRepository, UserRepository

MAX_PAGE_SIZE = 500
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

bearer = HTTPBearer(auto_error=False, description="An API token from `carerounds users create`.")


LONDON = ZoneInfo("Europe/London")


def now() -> datetime:
    """Wall-clock time as the database stores it: Europe/London, naive (DOMAIN.md)."""
    return datetime.now(LONDON).replace(tzinfo=None)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; committed when the handler returns, rolled back if it raises.

    Access-log entries the handler recorded are written after the reads, in a transaction
    of their own: on SQLite a transaction that reads and then writes fails when another
    writer committed in between, while one that starts by writing waits its turn.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
        entries = getattr(request.state, "access_log_entries", None)
        if entries:
            log = AccessLogRepository(session)
            for entry in entries:
                log.record(**entry)
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The user behind the bearer token; 401 when there is none or it is not live."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("A bearer token is required.")
    owner = UserRepository(session).owner_of(hash_token(credentials.credentials), now=now())
    if owner is None:
        raise NotAuthenticated("The token is unknown, expired or revoked.")
    return Principal(
        user_id=owner.user_id,
        username=owner.username,
        role=Role(owner.role),
        area=owner.area,
        may_read_note_text=owner.may_read_note_text,
    )


def require(permission: Permission) -> Callable[..., Any]:
    """A dependency admitting only callers whose role has ``permission``."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        principal.require(permission)
        return principal

    dependency.__name__ = f"require_{permission.value}"
    return dependency


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, 1 to {MAX_PAGE_SIZE}.")
    ] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]

ProviderFilter = Annotated[
    str | None, Query(max_length=64, description="Only this provider (source export id).")
]
AreaFilter = Annotated[str | None, Query(max_length=80, description="Only this area.")]
MonthFilter = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="Only this month, YYYY-MM.")
]


@dataclass(frozen=True, slots=True)
class Period:
    start: date | None
    end: date | None  # exclusive


async def period_params(
    start: Annotated[
        date | None,
        Query(ge=date(2000, 1, 1), le=date(2100, 12, 31), description="First day of the period."),
    ] = None,
    end: Annotated[
        date | None,
        Query(
            ge=date(2000, 1, 1),
            le=date(2100, 12, 31),
            description="Day after the period (exclusive).",
        ),
    ] = None,
) -> Period:
    if start is not None and end is not None and end <= start:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "end"),
                    "msg": "end must be after start",
                    "input": str(end),
                }
            ]
        )
    return Period(start=start, end=end)


PeriodDep = Annotated[Period, Depends(period_params)]


class AccessLog:
    """Writes one access-log entry per read of identifiable data (who, when, what, why)."""

    def __init__(self, session: Session, request: Request, purpose: str | None) -> None:
        self.session = session
        self.request = request
        self.purpose = purpose

    def read(
        self,
        principal: Principal,
        *,
        subject_ids: Iterable[str | None],
        filters: dict[str, Any] | None = None,
        action: str = "read",
        record_count: int | None = None,
    ) -> None:
        route = self.request.scope.get("route")
        resource = f"{self.request.method} {getattr(route, 'path', self.request.url.path)}"
        params = dict(self.request.path_params)
        params.update({k: v for k, v in self.request.query_params.items()})
        params.update({k: v for k, v in (filters or {}).items() if v is not None})
        ids = [s for s in subject_ids if s]
        if not hasattr(self.request.state, "access_log_entries"):
            self.request.state.access_log_entries = []
        self.request.state.access_log_entries.append(
            dict(
                at=now(),
                user_id=principal.user_id,
                username=principal.username,
                role=principal.role.value,
                action=action,
                resource=resource,
                filters={k: str(v) for k, v in params.items()},
                subject_ids=ids,
                record_count=len(ids) if record_count is None else record_count,
                purpose=(self.purpose or principal.default_purpose).strip()[:200]
                or principal.default_purpose,
            )
        )


async def access_log(
    request: Request,
    session: SessionDep,
    x_purpose: Annotated[
        str | None,
        Header(max_length=200, description="Why identifiable data is read (access log)."),
    ] = None,
) -> AccessLog:
    return AccessLog(session, request, x_purpose)


AccessLogDep = Annotated[AccessLog, Depends(access_log)]
