"""The audit job: read stored records, reconcile, store the results, write reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
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


def run_audit(
    settings: Settings,
    *,
    out_dir: Path | None = None,
    provider_id: str | None = None,
    month: str | None = None,
) -> AuditOutcome:
    """Reconcile the stored ECM visits and care notes and write every output."""
    start, end = month_bounds(month) if month else (None, None)
    upgrade_schema(settings.database_url)
    engine = create_engine_for(settings.database_url)
    try:
        records: dict[str, pd.DataFrame] = {}
        for kind in LOAD_ORDER:
            by_provider = provider_id if kind in ("ecm_visit", "package", "carer") else None
            records[kind] = read_records(
                engine, kind, provider_id=by_provider, start=start, end=end
            )
        if records["ecm_visit"].empty:
            raise ValueError(
                "No ECM visits stored for this selection; run `carerounds ingest` first."
            )
        audit = settings.audit
        result = reconcile(
            records,
            tolerances=audit.tolerances(),
            travel=straight_line_travel(
                circuity=audit.travel_circuity, speed_m_per_s=audit.travel_speed_m_per_s
            ),
        )
        params = {"provider_id": provider_id, "month": month, **audit.model_dump()}
        run_id = write_audit_run(engine, result.frames(), params)
    finally:
        engine.dispose()
    out = out_dir or settings.reports_dir / f"audit-{run_id}"
    frames = result.frames()
    csv_paths = write_audit_csvs(frames, out)
    report = render_audit_report(
        frames, out / "audit_report.html", run_id=run_id, generated_at=datetime.now()
    )
    return AuditOutcome(run_id=run_id, result=result, report_path=report, csv_paths=csv_paths)
