"""The HTML audit report and its CSV tables."""

from datetime import datetime

import pandas as pd
import pytest

from app.reports import render_audit_report, write_audit_csvs
from data.records import AUDIT_OUTPUT_COLUMNS


@pytest.fixture
def two_providers_one_flag() -> dict[str, pd.DataFrame]:
    pm = pd.DataFrame(
        [
            ["P1", "2026-10", 100, 3, 3000, 3100, 3030, 1550, 1420, 130, 8.4, 1420],
            ["P2", "2026-10", 50, 0, 1500, 1500, 1450, 750, 700, 50, 6.7, 700],
        ],
        columns=AUDIT_OUTPUT_COLUMNS["provider_month"],
    )
    flags = pd.DataFrame(
        [
            [
                "short_call",
                "ecm_visit",
                "V<1>",
                "P1",
                "SU1",
                "C1",
                "2026-10",
                "Verified 12 min of 30 planned <script>",
                18.0,
                6.3,
                "",
            ]
        ],
        columns=AUDIT_OUTPUT_COLUMNS["audit_flag"],
    )
    reviews = pd.DataFrame(
        [
            [
                1,
                "SU1",
                "P1",
                "Fenland",
                3.0,
                4.0,
                12,
                0.8,
                "Four or more calls a day;Discharged 12 days ago",
            ]
        ],
        columns=AUDIT_OUTPUT_COLUMNS["review_priority"],
    )
    visits = pd.DataFrame(columns=AUDIT_OUTPUT_COLUMNS["visit_outcome"])
    return {
        "provider_month": pm,
        "audit_flag": flags,
        "review_priority": reviews,
        "visit_outcome": visits,
    }


def test_report_shows_money_and_evidence_escaped(tmp_path, two_providers_one_flag):
    """The report shows totals, the flag's evidence HTML-escaped, and the review reasons."""
    path = render_audit_report(
        two_providers_one_flag, tmp_path / "r.html", run_id=1, generated_at=datetime(2026, 11, 1)
    )
    html = path.read_text(encoding="utf-8")
    assert "£180" in html  # 2,300 billed - 2,120 verified
    assert "V&lt;1&gt;" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "Discharged 12 days ago" in html
    assert html.count("data:image/png;base64,") == 2


def test_report_is_self_contained(tmp_path, two_providers_one_flag):
    """Nothing in the report is fetched from the network (charts are inline)."""
    html = render_audit_report(
        two_providers_one_flag, tmp_path / "r.html", run_id=1, generated_at=datetime(2026, 11, 1)
    ).read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html


def test_csvs_round_trip_columns(tmp_path, two_providers_one_flag):
    """Each audit frame is written as a CSV with the contract's columns."""
    paths = write_audit_csvs(two_providers_one_flag, tmp_path)
    for name, path in paths.items():
        assert tuple(pd.read_csv(path).columns) == AUDIT_OUTPUT_COLUMNS[name]
