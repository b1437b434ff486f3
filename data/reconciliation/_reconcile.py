"""Reconcile ECM visits against care notes and bills: flags, money, provider months, reviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from data.reconciliation._frames import (
    BoolArray,
    FloatArray,
    IntArray,
    Notes,
    Period,
    Visits,
    bound_s,
    dense_codes,
    labels,
    month_codes,
    prepare_notes,
    prepare_visits,
    take_text,
)
from data.reconciliation._matching import match_notes
from data.reconciliation._review_priority import Delivery, ReviewWeights, rank_reviews
from data.reconciliation._rules import (
    NO_MONEY_KINDS,
    RuleFlags,
    billed_above_verified,
    carer_in_two_places,
    carer_sequence,
    check_in_far_from_home,
    double_up_single_carer,
    duration_mismatch,
    late_time_critical,
    manual_check_in,
    note_without_visit,
    short_call,
    travel_infeasible,
    verified_minutes,
    visit_without_note,
)
from data.records import AUDIT_OUTPUT_COLUMNS, FLAG_RECORD_KIND
from data.tolerances import AuditTolerances
from data.travel_estimate import TravelEstimate, straight_line_travel

OUTCOMES = ("verified", "flagged", "missed", "cancelled")
_PAD_S = 86_400.0  # look a day beyond the period so pairs across its edges are judged whole


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The four audit frames, each with exactly the columns of ``AUDIT_OUTPUT_COLUMNS``."""

    visit_outcome: pd.DataFrame
    audit_flag: pd.DataFrame
    provider_month: pd.DataFrame
    review_priority: pd.DataFrame

    def __post_init__(self) -> None:
        for name, frame in self.frames().items():
            if tuple(frame.columns) != AUDIT_OUTPUT_COLUMNS[name]:
                raise ValueError(f"Expected {name} columns {AUDIT_OUTPUT_COLUMNS[name]}.")

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by their ``AUDIT_OUTPUT_COLUMNS`` name."""
        return {
            "visit_outcome": self.visit_outcome,
            "audit_flag": self.audit_flag,
            "provider_month": self.provider_month,
            "review_priority": self.review_priority,
        }


def _pence(values: np.ndarray) -> np.ndarray:
    return np.round(values, 2)


def _dedupe(flags: RuleFlags) -> RuleFlags:
    """Keep one flag of a kind per record (a visit can overlap several others)."""
    _, first = np.unique(flags.rows, return_index=True)
    if len(first) == len(flags.rows):
        return flags
    keep = np.zeros(len(flags.rows), dtype=bool)
    keep[first] = True
    return flags.select(keep)


def _visit_flags(
    visits: Visits,
    notes: Notes,
    note_of_visit: IntArray,
    verified_min: FloatArray,
    *,
    tolerances: AuditTolerances,
    travel: TravelEstimate,
) -> list[RuleFlags]:
    seq = carer_sequence(visits, visits.carer)
    two_places, overlaps_previous = carer_in_two_places(visits, seq, visits.carer, tolerances)
    flags = [
        visit_without_note(visits, note_of_visit, tolerances),
        duration_mismatch(visits, notes, note_of_visit, tolerances),
        short_call(visits, verified_min, tolerances),
        two_places,
        travel_infeasible(visits, seq, overlaps_previous, travel, tolerances),
        double_up_single_carer(visits),
        manual_check_in(visits),
        check_in_far_from_home(visits, tolerances),
        billed_above_verified(visits, verified_min, tolerances),
        late_time_critical(visits, tolerances),
    ]
    return [_dedupe(f) for f in flags]


def _flag_frame(
    flags: list[RuleFlags],
    *,
    records: pd.DataFrame,
    record_key: str,
    month: IntArray,
    months: list[str],
    rate: FloatArray,
    keep: BoolArray,
    visit_ids: pd.Series,
    note_ids: pd.Series,
) -> pd.DataFrame:
    """One row per flag, all kinds at once; ``records`` holds the flagged records' ids."""
    kept = [f.select(keep[f.rows]) for f in flags]
    rows = np.concatenate([f.rows for f in kept])
    kind = np.concatenate([np.full(len(f.rows), i, dtype=np.int64) for i, f in enumerate(kept)])
    minutes = np.concatenate([f.minutes_at_stake for f in kept])
    has_money = np.concatenate(
        [np.full(len(f.rows), f.kind not in NO_MONEY_KINDS, dtype=bool) for f in kept]
    )
    related_visit = np.concatenate(
        [np.full(len(f.rows), -1, dtype=np.int64) if f.related_is_note else f.related for f in kept]
    )
    related_note = np.concatenate(
        [f.related if f.related_is_note else np.full(len(f.rows), -1, dtype=np.int64) for f in kept]
    )
    related = take_text(visit_ids, related_visit)
    if (related_note >= 0).any():
        related = related.where(related_note < 0, take_text(note_ids, related_note))
    return pd.DataFrame(
        {
            "flag_kind": labels(kind, [f.kind.value for f in kept]),
            "record_kind": labels(kind, [FLAG_RECORD_KIND[f.kind] for f in kept]),
            "record_id": take_text(records[record_key], rows),
            "provider_id": take_text(records["provider_id"], rows),
            "service_user_id": take_text(records["service_user_id"], rows),
            "carer_id": take_text(records["carer_id"], rows),
            "month": labels(month[rows], months),
            "evidence": pd.Series(np.concatenate([f.evidence for f in kept]), dtype="str"),
            "minutes_at_stake": minutes,
            "amount_gbp": np.where(has_money, _pence(minutes * rate[rows] / 60.0), 0.0),
            "related_record_id": related,
        }
    )


def _flag_kinds_text(visit_count: int, flags: list[RuleFlags]) -> pd.Series:
    """ ";"-joined kinds per visit, built from a bitmask so only distinct sets are joined."""
    mask = np.zeros(visit_count, dtype=np.int64)
    kinds = [f.kind for f in flags]
    for bit, f in enumerate(flags):
        mask[f.rows] |= 1 << bit
    unique, inverse = dense_codes(mask)
    names = [";".join(k.value for bit, k in enumerate(kinds) if m >> bit & 1) for m in unique]
    return labels(inverse, names)


def _provider_month(
    visits: Visits,
    billed_gbp: FloatArray,
    verified_gbp: FloatArray,
    verified_min: FloatArray,
    flagged: BoolArray,
    keep: BoolArray,
) -> pd.DataFrame:
    """Sums per provider per month over (provider x month) cells with ``np.bincount``.

    Sums are of the per-visit figures as published (minutes to 0.1, money to the penny), so
    each total is the sum of the rows a contract manager sees.
    """
    n_months = max(len(visits.months), 1)
    names = [*map(str, visits.providers), None]  # last: a visit with no provider id
    provider = np.where(visits.provider >= 0, visits.provider, len(names) - 1)
    cell = (provider * n_months + visits.month)[keep]
    size = len(names) * n_months

    def total(values: np.ndarray) -> FloatArray:
        weights = np.asarray(values, dtype=np.float64)[keep]
        return np.asarray(np.bincount(cell, weights=weights, minlength=size), dtype=np.float64)

    count = np.bincount(cell, minlength=size)
    present = np.flatnonzero(count)
    billed = _pence(total(billed_gbp)[present])
    verified = _pence(total(verified_gbp)[present])
    variance = _pence(billed - verified)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(billed > 0, 100.0 * variance / billed, 0.0)
    out = pd.DataFrame(
        {
            "provider_id": pd.Series([names[p] for p in present // n_months], dtype="str"),
            "month": labels(present % n_months, visits.months),
            "visits": count[present].astype(np.int64),
            "flagged_visits": total(flagged)[present].astype(np.int64),
            "planned_min": total(np.round(np.nan_to_num(visits.planned_min), 1))[present].round(1),
            "billed_min": total(visits.billed_min)[present].round(1),
            "verified_min": total(np.round(verified_min, 1))[present].round(1),
            "billed_gbp": billed,
            "verified_gbp": verified,
            "variance_gbp": variance,
            "variance_pct": np.round(pct, 2),
            # Paying on actuals pays the verified minutes instead of what was billed.
            "paying_on_actuals_gbp": verified,
        }
    )
    return out.sort_values(["provider_id", "month"], kind="stable", ignore_index=True)


def _as_of(visits: Visits, period: Period | None) -> date:
    if period is not None:
        return (pd.Timestamp(period[1]) - pd.Timedelta(days=1)).date()
    if len(visits) == 0 or np.isnan(visits.planned_s).all():
        return date.today()
    return pd.Timestamp(np.nanmax(visits.planned_s), unit="s").date()


def reconcile(
    records: Mapping[str, pd.DataFrame],
    *,
    tolerances: AuditTolerances = AuditTolerances(),
    travel: TravelEstimate = straight_line_travel(),
    period: Period | None = None,
    review_weights: ReviewWeights = ReviewWeights(),
) -> AuditResult:
    """Reconcile ECM visits against care notes and bills.

    Parameters
    ----------
    records
        Canonical frames by record kind. ``ecm_visit`` and ``care_note`` are required;
        ``service_user`` (home lat/lon, area, discharge), ``call`` (carers required, time
        critical, weekdays), ``package`` (rate), ``provider`` (fallback rate) and ``carer``
        (a note's provider) are used when present.
    tolerances
        Thresholds of every rule.
    travel
        Travel seconds between two points, element-wise; the straight-line estimate by default.
    period
        ``(start, end)``: audit visits planned, and notes starting, in ``[start, end)``.
        Records a day either side are read so pairs across the edges are judged whole.
        ``None`` audits everything given.
    review_weights
        Weights and thresholds of the review-priority ranking.

    Returns
    -------
    AuditResult
        ``visit_outcome`` (one row per audited visit), ``audit_flag`` (one row per flag),
        ``provider_month`` and ``review_priority``.

    Raises
    ------
    MissingRecordsError
        When visits or notes, or one of their required columns, are absent.
    """
    pad_s = _PAD_S if period is not None else 0.0
    visits = prepare_visits(records, period=period, pad_s=pad_s)
    notes = prepare_notes(records, visits, period=period, pad_s=pad_s)

    n_carers = len(visits.carers) + 1
    visit_key = np.where(
        (visits.user >= 0) & (visits.carer >= 0), visits.user * n_carers + visits.carer, -1
    )
    note_key = np.where(
        (notes.user >= 0) & (notes.carer >= 0), notes.user * n_carers + notes.carer, -1
    )
    note_of_visit = match_notes(
        visit_key,
        np.where(visits.is_completed, visits.in_s, np.nan),
        note_key,
        notes.start_s,
        window_s=tolerances.note_match_window_min * 60.0,
    )
    matched = note_of_visit >= 0
    visit_of_note = np.full(len(notes), -1, dtype=np.int64)
    visit_of_note[note_of_visit[matched]] = np.flatnonzero(matched)
    note_min = np.full(len(visits), np.nan)
    note_min[matched] = notes.note_min[note_of_visit[matched]]
    verified_min = verified_minutes(visits, note_min)

    flags = _visit_flags(
        visits, notes, note_of_visit, verified_min, tolerances=tolerances, travel=travel
    )
    note_flags = note_without_visit(notes, visit_of_note, tolerances)

    if period is None:
        visit_keep = np.ones(len(visits), dtype=bool)
        note_keep = np.ones(len(notes), dtype=bool)
    else:
        lo, hi = bound_s(period[0]), bound_s(period[1])
        visit_keep = (visits.planned_s >= lo) & (visits.planned_s < hi)
        note_keep = (notes.start_s >= lo) & (notes.start_s < hi)

    visit_ids, note_ids = visits.frame["visit_id"], notes.frame["note_id"]
    note_month, note_months = month_codes(notes.start_s)
    flag_frames = [
        _flag_frame(
            flags,
            records=visits.frame,
            record_key="visit_id",
            month=visits.month,
            months=visits.months,
            rate=visits.rate_gbp_per_hour,
            keep=visit_keep,
            visit_ids=visit_ids,
            note_ids=note_ids,
        ),
        _flag_frame(
            [note_flags],
            records=notes.frame,
            record_key="note_id",
            month=note_month,
            months=note_months,
            rate=np.zeros(len(notes)),
            keep=note_keep,
            visit_ids=visit_ids,
            note_ids=note_ids,
        ),
    ]
    audit_flag = pd.concat(flag_frames, ignore_index=True)

    flag_kinds = _flag_kinds_text(len(visits), flags)
    is_flagged = flag_kinds.ne("").to_numpy(dtype=bool)
    outcome = np.where(
        visits.is_missed, 2, np.where(visits.is_cancelled, 3, np.where(is_flagged, 1, 0))
    )
    rate = visits.rate_gbp_per_hour
    billed_gbp = _pence(visits.billed_min * rate / 60.0)
    verified_gbp = _pence(verified_min * rate / 60.0)
    visit_outcome = pd.DataFrame(
        {
            "visit_id": visit_ids,
            "provider_id": visits.frame["provider_id"],
            "service_user_id": visits.frame["service_user_id"],
            "carer_id": visits.frame["carer_id"],
            "month": labels(visits.month, visits.months),
            "outcome": labels(outcome, list(OUTCOMES)),
            "matched_note_id": take_text(notes.frame["note_id"], note_of_visit),
            "planned_min": np.round(visits.planned_min, 1),
            "ecm_min": np.round(visits.ecm_min, 1),
            "note_min": np.round(note_min, 1),
            "verified_min": np.round(verified_min, 1),
            "billed_min": visits.billed_min,
            "rate_gbp_per_hour": rate,
            "billed_gbp": billed_gbp,
            "verified_gbp": verified_gbp,
            "variance_gbp": _pence(billed_gbp - verified_gbp),
            "flag_kinds": flag_kinds,
        }
    )
    if not visit_keep.all():
        visit_outcome = visit_outcome.loc[visit_keep].reset_index(drop=True)

    delivery = Delivery(
        user=visits.user[visit_keep],
        provider=visits.provider[visit_keep],
        planned_s=visits.planned_s[visit_keep],
        planned_min=np.nan_to_num(visits.planned_min[visit_keep]),
        verified_min=verified_min[visit_keep],
        is_cancelled=visits.is_cancelled[visit_keep],
    )
    reviews = rank_reviews(
        delivery,
        records,
        users=visits.users,
        providers=visits.providers,
        weights=review_weights,
        as_of=_as_of(visits, period),
    )
    return AuditResult(
        visit_outcome=visit_outcome,
        audit_flag=audit_flag,
        provider_month=_provider_month(
            visits, billed_gbp, verified_gbp, verified_min, is_flagged, visit_keep
        ),
        review_priority=reviews,
    )
