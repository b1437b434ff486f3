"""API fixtures: an app on the test database, one token per role, and a tiny audited county."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.api import create_app
from app.auth import Role, hash_token, new_token
from app.settings import Settings
from data.storage import (
    AuditFlag,
    AuditProviderMonth,
    AuditReviewPriority,
    AuditRun,
    AuditVisitOutcome,
    Call,
    CareNote,
    Carer,
    EcmVisit,
    ImportBatch,
    Package,
    Provider,
    ServiceUser,
)
from data.storage.access import UserRepository

# Planted in every care note: no response may carry it except the granted excerpt.
SECRET_NOTE_TEXT = "SECRET-NOTE Mrs Example was tearful and her insulin was refused"
NOW = datetime(2026, 10, 20, 12, 0)


@dataclass(frozen=True)
class Tokens:
    by_role: dict[str, str]
    cm_granted: str
    broker_in_area: str
    expired: str
    revoked: str


@pytest.fixture
def api_settings(database_url: str, tmp_path) -> Settings:
    """Settings for the test app: the test database, a scratch work dir, small limits."""
    return Settings(
        environment="test",
        database_url=database_url,
        work_dir=tmp_path / "var",
        api={"max_upload_bytes": 64 * 1024, "max_body_bytes": 16 * 1024},  # type: ignore[arg-type]
    )


@pytest.fixture
def app(engine: Engine, api_settings: Settings):  # type: ignore[no-untyped-def]
    """The application on the test engine."""
    return create_app(api_settings, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A test client (no network: requests go straight to the ASGI app)."""
    with TestClient(app) as c:
        yield c


def _token(users: UserRepository, username: str, role: str, **kw) -> str:  # type: ignore[no-untyped-def]
    expires = kw.pop("expires_at", NOW + timedelta(days=3650))
    user = users.create(username, role, now=NOW, **kw)
    token = new_token()
    users.add_token(user, hash_token(token), now=NOW, expires_at=expires)
    return token


@pytest.fixture
def tokens(engine: Engine) -> Tokens:
    """One live token per role, plus a granted contract manager, an area broker, dead tokens."""
    with Session(engine) as session, session.begin():
        users = UserRepository(session)
        by_role = {r.value: _token(users, f"{r.value}-1", r.value) for r in Role}
        granted = _token(users, "cm-granted", "contract_manager", may_read_note_text=True)
        in_area = _token(users, "broker-march", "broker", area="March")
        expired = _token(users, "expired", "admin", expires_at=NOW - timedelta(days=1))
        revoked_user = users.create("revoked", "admin", now=NOW)
        revoked = new_token()
        row = users.add_token(revoked_user, hash_token(revoked), now=NOW, expires_at=None)
        users.revoke_token(row.id, now=NOW)
    return Tokens(by_role, granted, in_area, expired, revoked)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class County:
    run_id: int
    flag_id: int
    note_flag_id: int
    job_id: int
    batch_id: int


def _src(i: int) -> dict[str, object]:
    return {"source_file": "fixture.csv", "source_row": i + 2, "import_batch_id": 1}


@pytest.fixture
def two_providers_same_street(engine: Engine) -> County:
    """Two providers serving three people on one Wisbech street (and one in March), audited."""
    with Session(engine) as session, session.begin():
        session.add(
            ImportBatch(
                id=1,
                file_name="fixture.csv",
                sha256="0" * 64,
                record_kind="provider",
                row_count=2,
                rows_inserted=2,
                status="imported",
                started_at=NOW,
                finished_at=NOW,
            )
        )
        for i, (pid, lat) in enumerate([("P1", 52.664), ("P2", 52.665)]):
            session.add(
                Provider(
                    provider_id=pid,
                    name=f"Provider {pid}",
                    contract_type="framework",
                    rate_gbp_per_hour=23.26,
                    base_lat=lat,
                    base_lon=0.160,
                    **_src(i),
                )
            )
            session.add(
                Carer(
                    carer_id=f"C{i + 1}",
                    provider_id=pid,
                    start_lat=lat,
                    start_lon=0.161,
                    working_weekdays="mon;tue;wed;thu;fri",
                    shift_start=time(7),
                    shift_end=time(15),
                    contracted_hours_per_week=37.5,
                    skills=None,
                    gender="female",
                    travel_mode="car",
                    **_src(i),
                )
            )
        people = [
            ("SU1", 52.6641, 0.1601, "Wisbech", "P1"),
            ("SU2", 52.6642, 0.1602, "Wisbech", "P2"),
            ("SU3", 52.6643, 0.1603, "Wisbech", "P1"),
            ("SU4", 52.5510, 0.0880, "March", "P2"),
        ]
        for i, (su, lat, lon, area, pid) in enumerate(people):
            session.add(
                ServiceUser(
                    service_user_id=su,
                    lat=lat,
                    lon=lon,
                    postcode=None,
                    area=area,
                    status="long_term",
                    hospital_discharge_date=None,
                    required_skills=None,
                    carer_gender_preference=None,
                    **_src(i),
                )
            )
            session.add(
                Package(
                    package_id=f"PK{i}",
                    service_user_id=su,
                    provider_id=pid,
                    start_date=date(2026, 1, 1),
                    end_date=None,
                    rate_gbp_per_hour=23.26,
                    **_src(i),
                )
            )
            session.add(
                Call(
                    call_id=f"CL{i}",
                    package_id=f"PK{i}",
                    weekdays="mon;tue;wed;thu;fri;sat;sun",
                    window_start=time(7),
                    window_end=time(9),
                    duration_min=30,
                    carers_required=1,
                    is_time_critical=False,
                    **_src(i),
                )
            )
            start = datetime(2026, 10, 5, 7, 30) + timedelta(minutes=40 * i)
            session.add(
                EcmVisit(
                    visit_id=f"V{i}",
                    provider_id=pid,
                    service_user_id=su,
                    carer_id="C1" if pid == "P1" else "C2",
                    call_id=f"CL{i}",
                    planned_start=start,
                    planned_duration_min=30,
                    check_in=start,
                    check_out=start + timedelta(minutes=20),
                    method="app",
                    check_in_lat=lat,
                    check_in_lon=lon,
                    double_up_group=None,
                    billed_min=30,
                    status="completed",
                    **_src(i),
                )
            )
            session.add(
                CareNote(
                    note_id=f"N{i}",
                    service_user_id=su,
                    carer_id="C1" if pid == "P1" else "C2",
                    written_at=start + timedelta(minutes=25),
                    visit_start=start,
                    visit_end=start + timedelta(minutes=20),
                    tasks="meds;meal",
                    text=f"{SECRET_NOTE_TEXT} ({su})",
                    **_src(i),
                )
            )
        run = AuditRun(created_at=NOW, params={"provider_id": None, "month": "2026-10"})
        session.add(run)
        session.flush()
        for i, (su, _lat, _lon, _area, pid) in enumerate(people):
            session.add(
                AuditVisitOutcome(
                    audit_run_id=run.id,
                    visit_id=f"V{i}",
                    provider_id=pid,
                    service_user_id=su,
                    carer_id="C1",
                    month="2026-10",
                    outcome="flagged",
                    matched_note_id=f"N{i}",
                    planned_min=30,
                    ecm_min=20,
                    note_min=20,
                    verified_min=20,
                    billed_min=30,
                    rate_gbp_per_hour=23.26,
                    billed_gbp=11.63,
                    verified_gbp=7.75,
                    variance_gbp=3.88,
                    flag_kinds="short_call",
                )
            )
        flag = AuditFlag(
            audit_run_id=run.id,
            flag_kind="short_call",
            record_kind="ecm_visit",
            record_id="V0",
            provider_id="P1",
            service_user_id="SU1",
            carer_id="C1",
            month="2026-10",
            evidence="Verified 20 min of 30 planned (67%).",
            minutes_at_stake=10.0,
            amount_gbp=3.88,
            related_record_id=None,
        )
        note_flag = AuditFlag(
            audit_run_id=run.id,
            flag_kind="note_without_visit",
            record_kind="care_note",
            record_id="N1",
            provider_id="P2",
            service_user_id="SU2",
            carer_id="C2",
            month="2026-10",
            evidence="Care note with no ECM visit within 90 min.",
            minutes_at_stake=20.0,
            amount_gbp=0.0,
            related_record_id=None,
        )
        session.add_all([flag, note_flag])
        for pid in ("P1", "P2"):
            session.add(
                AuditProviderMonth(
                    audit_run_id=run.id,
                    provider_id=pid,
                    month="2026-10",
                    visits=2,
                    flagged_visits=2,
                    planned_min=60,
                    billed_min=60,
                    verified_min=40,
                    billed_gbp=23.26,
                    verified_gbp=15.51,
                    variance_gbp=7.75,
                    variance_pct=33.3,
                    paying_on_actuals_gbp=15.51,
                )
            )
        session.add(
            AuditReviewPriority(
                audit_run_id=run.id,
                rank=1,
                service_user_id="SU1",
                provider_id="P1",
                area="Wisbech",
                score=2.0,
                calls_per_day=4,
                days_since_discharge=10,
                delivered_ratio=0.67,
                reasons="Four or more calls a day",
            )
        )
        from data.storage.jobs import JobRepository

        job = JobRepository(session).enqueue(
            "reallocation",
            {"area": "Wisbech", "day": "2026-10-05"},
            now=NOW,
            time_limit_s=60,
            created_by="broker-1",
        )
        job.status = "succeeded"
        job.result = {
            "impact": {
                "hours_freed_per_week": 3.5,
                "travel_saved_min": 30.0,
                "miles_saved": 12.0,
                "visits_moved": 1,
                "people_changing_provider": 1,
                "people_changing_carer": 1,
                "waiting_packages_absorbed": 0.25,
                "savings_gbp_per_year": 1234.0,
            },
            "provider_impact": [],
            "moves": [
                {
                    "service_user_id": "SU2",
                    "visit_id": "V1",
                    "from_provider_id": "P2",
                    "to_provider_id": "P1",
                    "from_carer_id": "C2",
                    "to_carer_id": "C1",
                    "start": "08:10",
                }
            ],
        }
        session.flush()
        ids = County(run.id, flag.id, note_flag.id, job.id, 1)
    return ids
