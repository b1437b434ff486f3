"""Review priority: recent discharges, four or more calls a day, consistent under-delivery."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from data.reconciliation import ReviewWeights, reconcile
from data.records import AUDIT_OUTPUT_COLUMNS

FIRST_MONDAY = datetime(2026, 10, 5, 8, 0)
LAST_DAY = date(2026, 10, 18)  # two full weeks of visits; the audit's "as of" date


def person(
    su: str, *, discharged: date | None = None, status: str = "long_term", calls: int = 1
) -> dict[str, object]:
    """A service user with ``calls`` daily calls in their package."""
    return {"su": su, "discharged": discharged, "status": status, "calls": calls}


def build(
    people: list[dict[str, object]], *, delivered_ratio: dict[str, list[float]] | None = None
) -> dict[str, pd.DataFrame]:
    """One 30-min visit a day for each person over two weeks, with a faithful care note.

    ``delivered_ratio[su]`` gives the share of the 30 min delivered in week 1 and week 2.
    """
    delivered_ratio = delivered_ratio or {}
    visits, notes = [], []
    for i, p in enumerate(people):
        su = str(p["su"])
        for day in range(14):
            start = FIRST_MONDAY + timedelta(days=day, minutes=45 * i)
            minutes = 30 * delivered_ratio.get(su, [1.0, 1.0])[day // 7]
            end = start + timedelta(minutes=minutes)
            vid = f"{su}-{day}"
            visits.append(
                {
                    "visit_id": vid,
                    "provider_id": "p1",
                    "service_user_id": su,
                    "carer_id": f"c{i}",
                    "call_id": None,
                    "planned_start": start,
                    "planned_duration_min": 30,
                    "check_in": start,
                    "check_out": end,
                    "method": "nfc",
                    "check_in_lat": np.nan,
                    "check_in_lon": np.nan,
                    "double_up_group": None,
                    "billed_min": 30,
                    "status": "completed",
                }
            )
            notes.append(
                {
                    "note_id": f"n-{vid}",
                    "service_user_id": su,
                    "carer_id": f"c{i}",
                    "written_at": end,
                    "visit_start": start,
                    "visit_end": end,
                }
            )
    calls = [
        {
            "call_id": f"{p['su']}-call{k}",
            "package_id": f"pk-{p['su']}",
            "weekdays": "mon;tue;wed;thu;fri;sat;sun",
            "carers_required": 1,
        }
        for p in people
        for k in range(int(p["calls"]))  # type: ignore[call-overload]
    ]
    return {
        "ecm_visit": pd.DataFrame(visits),
        "care_note": pd.DataFrame(notes),
        "service_user": pd.DataFrame(
            {
                "service_user_id": [p["su"] for p in people],
                "area": "Fenland",
                "status": [p["status"] for p in people],
                "hospital_discharge_date": pd.to_datetime([p["discharged"] for p in people]),
            }
        ),
        "package": pd.DataFrame(
            {
                "package_id": [f"pk-{p['su']}" for p in people],
                "service_user_id": [p["su"] for p in people],
                "rate_gbp_per_hour": 24.0,
            }
        ),
        "call": pd.DataFrame(calls),
    }


def reviews(frames: dict[str, pd.DataFrame], **weights: float) -> pd.DataFrame:
    """The review-priority frame of an audit with the given weights."""
    return reconcile(frames, review_weights=ReviewWeights(**weights)).review_priority  # type: ignore[arg-type]


def test_home_three_weeks_after_discharge_is_listed_with_why() -> None:
    """Someone home 21 days after a discharge is listed; a discharge a year ago is not."""
    frames = build(
        [
            person("recent", discharged=LAST_DAY - timedelta(days=21)),
            person("long_ago", discharged=LAST_DAY - timedelta(days=365)),
        ]
    )
    table = reviews(frames)
    assert table["service_user_id"].tolist() == ["recent"]
    row = table.iloc[0]
    assert row["days_since_discharge"] == 21
    assert row["area"] == "Fenland" and row["provider_id"] == "p1"
    assert row["reasons"] == "Home 21 days after a hospital discharge: needs may have changed."


def test_back_in_hospital_is_not_home_after_discharge() -> None:
    """A person whose status is hospital is not counted as recently home."""
    frames = build(
        [person("readmitted", discharged=LAST_DAY - timedelta(days=10), status="hospital")]
    )
    assert reviews(frames).empty


def test_four_or_more_calls_a_day() -> None:
    """Four commissioned calls a day put a person on the list; three do not."""
    frames = build([person("four", calls=4), person("three", calls=3)])
    table = reviews(frames)
    assert table["service_user_id"].tolist() == ["four"]
    assert table.iloc[0]["calls_per_day"] == 4.0
    assert "4 calls a day" in table.iloc[0]["reasons"]


def test_four_calls_on_weekdays_count_as_four_a_day() -> None:
    """Four calls Monday to Friday and three at weekends is four calls on a typical day."""
    frames = build([person("weekday_four", calls=3)])
    extra = {
        "call_id": "weekday_four-call3",
        "package_id": "pk-weekday_four",
        "weekdays": "mon;tue;wed;thu;fri",
        "carers_required": 1,
    }
    frames["call"] = pd.concat([frames["call"], pd.DataFrame([extra])], ignore_index=True)
    table = reviews(frames)
    assert table["service_user_id"].tolist() == ["weekday_four"]
    assert table.iloc[0]["calls_per_day"] == 4.0


def test_delivered_consistently_below_commissioned() -> None:
    """Delivery below 85% in both weeks is listed; one short week is not consistent."""
    frames = build(
        [person("always_short"), person("one_bad_week")],
        delivered_ratio={"always_short": [0.7, 0.7], "one_bad_week": [0.6, 1.0]},
    )
    table = reviews(frames)
    assert table["service_user_id"].tolist() == ["always_short"]
    assert table.iloc[0]["delivered_ratio"] == pytest.approx(0.7)
    assert "Delivered 70% of commissioned minutes" in table.iloc[0]["reasons"]


def test_ranking_follows_the_weights() -> None:
    """More criteria rank higher; changing the weights changes the order."""
    frames = build(
        [
            person("calls_only", calls=4),
            person("discharge_only", discharged=LAST_DAY - timedelta(days=7)),
            person("both", calls=5, discharged=LAST_DAY - timedelta(days=7)),
        ]
    )
    default = reviews(frames)
    assert default["service_user_id"].tolist() == ["both", "discharge_only", "calls_only"]
    assert default["rank"].tolist() == [1, 2, 3]
    assert default.iloc[0]["reasons"].count(";") == 1
    calls_first = reviews(frames, recent_discharge=0.5, many_calls=5.0)
    assert calls_first["service_user_id"].tolist() == ["both", "calls_only", "discharge_only"]


def test_review_priority_columns_are_the_contract() -> None:
    """The frame has exactly the contract columns, listed or empty."""
    for people in ([person("a", calls=4)], [person("b")]):
        table = reviews(build(people))
        assert tuple(table.columns) == AUDIT_OUTPUT_COLUMNS["review_priority"]


@pytest.mark.parametrize(
    "bad",
    [{"many_calls": -1.0}, {"recent_discharge_days": 0}, {"under_delivery_ratio": 1.5}],
)
def test_review_weights_are_validated(bad: dict[str, float]) -> None:
    """Negative weights and impossible thresholds are refused."""
    with pytest.raises(ValueError, match="Expected"):
        ReviewWeights(**bad)  # type: ignore[arg-type]
