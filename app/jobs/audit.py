"""The audit job: read stored records, reconcile, store the results, write reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from app.reports import render_audit_report, write_audit_csvs
from app.settings import Settings
from data import (
    AuditResult,
    create_engine_for,
    read_records,
    reconcile,
    upgrade_schema,
    write_audit_run,
)
from data.records import LOAD_ORDER
from data.travel_estimate import straight_line_travel

EDGE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AuditOutcome:
    run_id: int
    result: AuditResult
    report_path: Path
    csv_paths: dict[str, Path]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``"2026-10"`` -> (2026-10-01 00:00, 2026-11-01 00:00)."""
    try:
        first = datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ValueError(f"--month must look like 2026-10, not {month!r}.") from None
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, datetime.combine(after, datetime.min.time())


def for_provider(result: AuditResult, provider_id: str) -> AuditResult:
    """The rows of an audit that concern one provider."""
    frames = {
        name: frame[frame["provider_id"] == provider_id].reset_index(drop=True)
        for name, frame in result.frames().items()
    }
    if frames["provider_month"].empty:
        raise ValueError(f"Provider {provider_id!r} has no ECM visits in this period.")
    return AuditResult(**frames)


def run_audit(
    settings: Settings,
    *,
    out_dir: Path | None = None,
    provider_id: str | None = None,
    month: str | None = None,
    generated_at: datetime | None = None,
    report_title: str | None = None,
) -> AuditOutcome:
    """Reconcile the stored ECM visits and care notes and write every output."""
    period = month_bounds(month) if month else None
    # Read a day either side so visit pairs and notes across the edges are judged whole.
    start, end = (period[0] - EDGE, period[1] + EDGE) if period else (None, None)
    upgrade_schema(settings.database_url)
    engine = create_engine_for(settings.database_url)
    try:
        records: dict[str, pd.DataFrame] = {
            kind: read_records(engine, kind, start=start, end=end) for kind in LOAD_ORDER
        }
        if records["ecm_visit"].empty:
            raise ValueError(
                "No ECM visits stored for this selection; run `carerounds ingest` first."
            )
        audit = settings.audit
        result = reconcile(
            records,
            tolerances=audit.tolerances,
            travel=straight_line_travel(
                circuity=audit.travel_circuity, speed_m_per_s=audit.travel_speed_m_per_s
            ),
            period=period,
        )
        # Notes are attributed to providers through their carers, so the whole period is
        # reconciled and one provider's rows are selected afterwards.
        if provider_id is not None:
            result = for_provider(result, provider_id)
        params = {"provider_id": provider_id, "month": month, **audit.model_dump()}
        run_id = write_audit_run(engine, result.frames(), params)
        provider_names = dict(
            zip(records["provider"]["provider_id"], records["provider"]["name"], strict=True)
        )
    finally:
        engine.dispose()
    out = out_dir or settings.reports_dir / f"audit-{run_id}"
    frames = result.frames()
    csv_paths = write_audit_csvs(frames, out)
    report = render_audit_report(
        frames,
        out / "audit_report.html",
        run_id=run_id,
        generated_at=generated_at or datetime.now(),
        provider_names=provider_names,
        title=report_title,
    )
    return AuditOutcome(run_id=run_id, result=result, report_path=report, csv_paths=csv_paths)
