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

from data.reconciliation._frames import BoolArray, FloatArray, IntArray, calls_per_day
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
    many_calls_per_day: float = 4.0  # seed 001: "four or more calls a day" (typical day)
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """Per audited visit: person and provider codes, planned start and minutes, verified."""

    user: IntArray
    provider: IntArray
    planned_s: FloatArray
    planned_min: FloatArray
    verified_min: FloatArray
    is_cancelled: BoolArray


def _calls_from_visits(delivery: Delivery) -> pd.Series:
    """Fallback without call records: distinct planned starts per person per day, median."""
    frame = pd.DataFrame({"user": delivery.user, "planned_s": delivery.planned_s})
    starts = frame.drop_duplicates()
    day = (starts["planned_s"] // _DAY_S).astype(np.int64)
    per_day = starts.groupby([starts["user"], day]).size()
    return per_day.groupby(level=0).median()


def _main_provider(user: IntArray, provider: IntArray, n_users: int) -> IntArray:
    """Each person's provider with the most visits (-1 when none), ties to the lower code."""
    ok = (user >= 0) & (provider >= 0)
    n_providers = int(provider.max(initial=0)) + 1
    pairs, counts = np.unique(user[ok] * n_providers + provider[ok], return_counts=True)
    pair_user, pair_provider = pairs // n_providers, pairs % n_providers
    order = np.lexsort((pair_provider, -counts, pair_user))
    first = np.ones(order.size, dtype=bool)
    first[1:] = pair_user[order][1:] != pair_user[order][:-1]
    out = np.full(n_users, -1, dtype=np.int64)
    out[pair_user[order][first]] = pair_provider[order][first]
    return out


def rank_reviews(
    delivery: Delivery,
    records: Mapping[str, pd.DataFrame],
    *,
    users: pd.Index,
    providers: pd.Index,
    weights: ReviewWeights,
    as_of: date,
) -> pd.DataFrame:
    """Rank service users for reassessment.

    ``delivery`` holds the audited visits; its ``user`` and ``provider`` codes index ``users``
    and ``providers``. ``as_of`` dates the discharge recency. Returns the ``review_priority``
    frame, best first, with only the people who meet a criterion.
    """
    columns = AUDIT_OUTPUT_COLUMNS["review_priority"]
    n_users = len(users)
    user = delivery.user
    live = ~delivery.is_cancelled & (user >= 0)
    planned = delivery.planned_min[live]
    verified = delivery.verified_min[live]
    days = np.nan_to_num(delivery.planned_s[live]) // _DAY_S
    week = ((days + _EPOCH_TO_MONDAY_DAYS) // 7).astype(np.int64)
    week -= int(week.min()) if week.size else 0
    n_weeks = int(week.max(initial=0)) + 1
    # Minutes per person per week, as dense (person x week) tables: bincount, no groupby.
    cell = user[live] * n_weeks + week
    size = n_users * n_weeks
    planned_w = np.bincount(cell, weights=planned, minlength=size).reshape(n_users, n_weeks)
    verified_w = np.bincount(cell, weights=verified, minlength=size).reshape(n_users, n_weeks)
    has_week = planned_w > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        below = has_week & (verified_w / planned_w < weights.under_delivery_ratio)
        weeks = has_week.sum(axis=1)
        share_below = below.sum(axis=1) / weeks
        total_planned = planned_w.sum(axis=1)
        delivered = np.where(total_planned > 0, verified_w.sum(axis=1) / total_planned, np.nan)
    provider_code = _main_provider(user, delivery.provider, n_users)

    people = pd.RangeIndex(n_users)
    table = pd.DataFrame(index=people)
    calls = calls_per_day(records)
    if calls is None:
        table["calls_per_day"] = _calls_from_visits(delivery).reindex(people).astype(float)
    else:
        table["calls_per_day"] = calls.reindex(users).to_numpy(dtype=float)
    table["delivered_ratio"] = delivered
    table["share_below"] = share_below
    table["weeks"] = weeks.astype(np.int64)
    table["area"] = None
    table["days_since_discharge"] = np.nan
    info = records.get("service_user")
    if info is not None and len(info):
        info = info.drop_duplicates("service_user_id")
        at = info.set_axis(pd.Index(info["service_user_id"].astype("str"))).reindex(users)
        if "area" in at.columns:
            table["area"] = at["area"].to_numpy(dtype=object)
        if "hospital_discharge_date" in at.columns:
            discharged = pd.to_datetime(at["hospital_discharge_date"], errors="coerce")
            days = np.array((pd.Timestamp(as_of) - discharged).dt.days, dtype=float)
            if "status" in at.columns:
                # Someone back in hospital is not home after a discharge.
                days[at["status"].eq("hospital").to_numpy(dtype=bool, na_value=False)] = np.nan
            table["days_since_discharge"] = days

    since = table["days_since_discharge"]
    recent = since.between(0, weights.recent_discharge_days)
    many = table["calls_per_day"] >= weights.many_calls_per_day
    under = (
        (table["weeks"] >= weights.under_delivery_min_weeks)
        & (table["share_below"] >= weights.under_delivery_weeks_share)
        & (table["delivered_ratio"] < weights.under_delivery_ratio)
    )
    recency = 1.0 - 0.5 * since / weights.recent_discharge_days
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
                f"{c:g} calls a day commissioned: four or more calls a day often change on review."
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
    table["service_user_id"] = users[table.index].astype("str")
    table["provider_id"] = np.asarray(
        [providers[c] if c >= 0 else None for c in provider_code[table.index]], dtype=object
    )
    table = table.sort_values(["score", "service_user_id"], ascending=[False, True], kind="stable")
    table["rank"] = np.arange(1, len(table) + 1)
    table["delivered_ratio"] = table["delivered_ratio"].round(3)
    table["calls_per_day"] = table["calls_per_day"].round(2)
    return table.loc[:, list(columns)].reset_index(drop=True)
