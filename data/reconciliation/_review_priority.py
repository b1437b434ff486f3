"""Which service users' reassessments should come first, and why.

Seed 001: reviews most likely to change a package are of people home only a few weeks after
a hospital discharge and people with four or more calls a day; the audit adds people whose
care is delivered consistently below what was commissioned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from data.reconciliation._frames import calls_per_weekday
from data.records import AUDIT_OUTPUT_COLUMNS

_DAY_S = 86_400
_EPOCH_TO_MONDAY_DAYS = 3  # 1970-01-01 was a Thursday


@dataclass(frozen=True, slots=True)
class ReviewWeights:
    """Weights and thresholds of the review-priority score.

    A service user scores each criterion that holds, scaled by how strongly it holds:
    a recent discharge scores ``recent_discharge`` on the day of discharge, falling to half of
    it at ``recent_discharge_days``; ``calls_per_day >= many_calls_per_day`` scores
    ``many_calls × calls_per_day / many_calls_per_day``; delivery below
    ``under_delivery_ratio`` in at least ``under_delivery_weeks_share`` of at least
    ``under_delivery_min_weeks`` weeks scores ``under_delivery × (1 + shortfall)``.
    """

    recent_discharge: float = 3.0
    many_calls: float = 2.0
    under_delivery: float = 2.0
    recent_discharge_days: int = 42  # "home only a few weeks after a hospital discharge"
    many_calls_per_day: float = 4.0  # seed 001: "four or more calls a day"
    under_delivery_ratio: float = 0.85  # the short-call tolerance of DOMAIN.md, per person
    under_delivery_weeks_share: float = 0.75
    under_delivery_min_weeks: int = 2

    def __post_init__(self) -> None:
        for name in ("recent_discharge", "many_calls", "under_delivery", "many_calls_per_day"):
            if getattr(self, name) < 0:
                raise ValueError(f"Expected {name} >= 0.")
        if self.recent_discharge_days < 1 or self.under_delivery_min_weeks < 1:
            raise ValueError(
                "Expected recent_discharge_days >= 1 and under_delivery_min_weeks >= 1."
            )
        if not 0 < self.under_delivery_ratio <= 1 or not 0 < self.under_delivery_weeks_share <= 1:
            raise ValueError("Expected 0 < under_delivery_ratio, under_delivery_weeks_share <= 1.")


def _calls_from_visits(delivery: pd.DataFrame) -> pd.Series:
    """Fallback without call records: distinct planned starts per person per day, averaged."""
    starts = delivery[["service_user_id", "planned_s"]].drop_duplicates()
    day = (starts["planned_s"] // _DAY_S).astype(np.int64)
    per_day = starts.groupby([starts["service_user_id"], day]).size()
    return per_day.groupby(level=0).mean()


def rank_reviews(
    delivery: pd.DataFrame,
    records: Mapping[str, pd.DataFrame],
    *,
    weights: ReviewWeights,
    as_of: date,
) -> pd.DataFrame:
    """Rank service users for reassessment.

    ``delivery`` has one row per audited visit: service_user_id, provider_id, planned_s (epoch
    seconds), planned_min, verified_min, is_cancelled. ``as_of`` dates the discharge recency.
    Returns the ``review_priority`` frame, best first, only people meeting a criterion.
    """
    columns = AUDIT_OUTPUT_COLUMNS["review_priority"]
    live = delivery.loc[~delivery["is_cancelled"]]
    week = ((live["planned_s"] // _DAY_S + _EPOCH_TO_MONDAY_DAYS) // 7).astype(np.int64)
    weekly = live.groupby([live["service_user_id"], week])[["planned_min", "verified_min"]].sum()
    weekly_ratio = weekly["verified_min"] / weekly["planned_min"].where(weekly["planned_min"] > 0)
    below = (weekly_ratio < weights.under_delivery_ratio).groupby(level=0)
    share_below, weeks = below.mean(), below.size()
    totals = live.groupby("service_user_id")[["planned_min", "verified_min"]].sum()
    delivered = totals["verified_min"] / totals["planned_min"].where(totals["planned_min"] > 0)
    visit_counts = (
        delivery.groupby(["service_user_id", "provider_id"]).size().sort_values(ascending=False)
    )
    main_provider = visit_counts.reset_index().drop_duplicates("service_user_id")
    provider = main_provider.set_index("service_user_id")["provider_id"]

    calls = calls_per_weekday(records)
    if calls is None:
        calls = _calls_from_visits(delivery)

    users = records.get("service_user")
    people = pd.Index(delivery["service_user_id"].unique(), name="service_user_id")
    table = pd.DataFrame(index=people)
    table["provider_id"] = provider.reindex(people)
    table["calls_per_day"] = calls.reindex(people).astype(float)
    table["delivered_ratio"] = delivered.reindex(people)
    table["share_below"] = share_below.reindex(people)
    table["weeks"] = weeks.reindex(people).fillna(0).astype(np.int64)
    table["area"] = None
    table["days_since_discharge"] = np.nan
    if users is not None and len(users):
        info = users.drop_duplicates("service_user_id")
        info.index = pd.Index(info["service_user_id"].astype("str"))
        if "area" in info.columns:
            table["area"] = info["area"].reindex(people).astype(object)
        if "hospital_discharge_date" in info.columns:
            discharged = pd.to_datetime(info["hospital_discharge_date"], errors="coerce")
            days = (pd.Timestamp(as_of) - discharged).dt.days.reindex(people)
            in_hospital = (
                info["status"].reindex(people).eq("hospital")
                if "status" in info.columns
                else pd.Series(False, index=people)
            )
            table["days_since_discharge"] = days.where(~in_hospital.fillna(False).astype(bool))

    days = table["days_since_discharge"]
    recent = days.between(0, weights.recent_discharge_days)
    many = table["calls_per_day"] >= weights.many_calls_per_day
    under = (
        (table["weeks"] >= weights.under_delivery_min_weeks)
        & (table["share_below"] >= weights.under_delivery_weeks_share)
        & (table["delivered_ratio"] < weights.under_delivery_ratio)
    )
    recency = 1.0 - 0.5 * days / weights.recent_discharge_days
    score = (
        weights.recent_discharge * recency.where(recent, 0.0)
        + (weights.many_calls * table["calls_per_day"] / weights.many_calls_per_day).where(
            many, 0.0
        )
        + (weights.under_delivery * (1.0 + (1.0 - table["delivered_ratio"]))).where(under, 0.0)
    )
    table["score"] = score.fillna(0.0).round(3)
    table = table.loc[recent | many | under]
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})

    reasons = [
        ";".join(
            part
            for part in (
                f"Home {d:.0f} days after a hospital discharge: needs may have changed."
                if r
                else "",
                f"{c:.1f} calls a day commissioned: four or more calls a day often change on "
                "review."
                if m
                else "",
                f"Delivered {100 * dr:.0f}% of commissioned minutes, below "
                f"{100 * weights.under_delivery_ratio:.0f}% in {100 * sb:.0f}% of {w} weeks."
                if u
                else "",
            )
            if part
        )
        for d, r, c, m, dr, sb, w, u in zip(
            table["days_since_discharge"],
            recent.loc[table.index],
            table["calls_per_day"],
            many.loc[table.index],
            table["delivered_ratio"],
            table["share_below"],
            table["weeks"],
            under.loc[table.index],
            strict=True,
        )
    ]
    table["reasons"] = reasons
    table = table.reset_index().sort_values(
        ["score", "service_user_id"], ascending=[False, True], kind="stable"
    )
    table["rank"] = np.arange(1, len(table) + 1)
    table["delivered_ratio"] = table["delivered_ratio"].round(3)
    table["calls_per_day"] = table["calls_per_day"].round(2)
    return table.loc[:, list(columns)].reset_index(drop=True)
