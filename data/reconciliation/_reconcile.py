"""Reconcile ECM visits against care notes and bills: flags, money, provider months, reviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from data.reconciliation._frames import (
    Notes,
    Period,
    Visits,
    bound_s,
    month_labels,
    prepare_notes,
    prepare_visits,
)
from data.reconciliation._matching import match_notes, pair_codes
from data.reconciliation._review_priority import ReviewWeights, rank_reviews
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
from data.records import AUDIT_OUTPUT_COLUMNS, FLAG_RECORD_KIND, FlagKind
from data.tolerances import AuditTolerances
from data.travel_estimate import TravelEstimate, straight_line_travel

_FLAG_ORDER = {kind: i for i, kind in enumerate(FlagKind)}
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
    first.sort()
    return RuleFlags(
        kind=flags.kind,
        rows=flags.rows[first],
        evidence=flags.evidence[first],
        minutes_at_stake=flags.minutes_at_stake[first],
        related_record_id=flags.related_record_id[first],
    )


def _visit_flags(
    visits: Visits,
    notes: Notes,
    note_of_visit: np.ndarray,
    verified_min: np.ndarray,
    *,
    tolerances: AuditTolerances,
    travel: TravelEstimate,
) -> list[RuleFlags]:
    carer_code, _ = pd.factorize(visits.frame["carer_id"])
    seq = carer_sequence(visits, carer_code.astype(np.int64))
    two_places, overlaps_previous = carer_in_two_places(visits, seq, tolerances)
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
    flags: RuleFlags,
    *,
    record_id: np.ndarray,
    provider_id: np.ndarray,
    service_user_id: np.ndarray,
    carer_id: np.ndarray,
    month: np.ndarray,
    rate: np.ndarray,
    keep: np.ndarray,
) -> pd.DataFrame:
    selected = keep[flags.rows]
    rows = flags.rows[selected]
    minutes = flags.minutes_at_stake[selected]
    amount = (
        np.zeros(len(rows)) if flags.kind in NO_MONEY_KINDS else _pence(minutes * rate[rows] / 60.0)
    )
    return pd.DataFrame(
        {
            "flag_kind": flags.kind.value,
            "record_kind": FLAG_RECORD_KIND[flags.kind],
            "record_id": record_id[rows],
            "provider_id": provider_id[rows],
            "service_user_id": service_user_id[rows],
            "carer_id": carer_id[rows],
            "month": month[rows],
            "evidence": flags.evidence[selected],
            "minutes_at_stake": minutes,
            "amount_gbp": amount,
            "related_record_id": flags.related_record_id[selected],
        }
    )


def _flag_kinds_text(visit_count: int, flags: list[RuleFlags]) -> np.ndarray:
    """ ";"-joined kinds per visit, built from a bitmask so only distinct sets are joined."""
    mask = np.zeros(visit_count, dtype=np.int64)
    kinds = [f.kind for f in flags]
    for bit, f in enumerate(flags):
        mask[f.rows] |= 1 << bit
    unique, inverse = np.unique(mask, return_inverse=True)
    text = np.array(
        [";".join(k.value for bit, k in enumerate(kinds) if m >> bit & 1) for m in unique],
        dtype=object,
    )
    return text[inverse]


def _provider_month(outcome: pd.DataFrame) -> pd.DataFrame:
    grouped = outcome.assign(is_flagged=outcome["flag_kinds"].ne("")).groupby(
        ["provider_id", "month"], sort=True
    )
    table = grouped.agg(
        visits=("visit_id", "size"),
        flagged_visits=("is_flagged", "sum"),
        planned_min=("planned_min", "sum"),
        billed_min=("billed_min", "sum"),
        verified_min=("verified_min", "sum"),
        billed_gbp=("billed_gbp", "sum"),
        verified_gbp=("verified_gbp", "sum"),
    ).reset_index()
    for column in ("planned_min", "billed_min", "verified_min"):
        table[column] = table[column].round(1)
    table["billed_gbp"] = _pence(table["billed_gbp"].to_numpy())
    table["verified_gbp"] = _pence(table["verified_gbp"].to_numpy())
    table["variance_gbp"] = _pence((table["billed_gbp"] - table["verified_gbp"]).to_numpy())
    billed = table["billed_gbp"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(billed > 0, 100.0 * table["variance_gbp"].to_numpy() / billed, 0.0)
    table["variance_pct"] = np.round(pct, 2)
    # Paying on actuals pays verified minutes rather than what was billed.
    table["paying_on_actuals_gbp"] = table["verified_gbp"]
    table["flagged_visits"] = table["flagged_visits"].astype(np.int64)
    return table.loc[:, list(AUDIT_OUTPUT_COLUMNS["provider_month"])]


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
    frame = visits.frame

    visit_key, note_key = pair_codes(
        frame["service_user_id"],
        frame["carer_id"],
        notes.frame["service_user_id"],
        notes.frame["carer_id"],
    )
    note_of_visit = match_notes(
        visit_key,
        np.where(visits.is_completed, visits.in_s, np.nan),
        note_key,
        notes.start_s,
        window_s=tolerances.note_match_window_min * 60.0,
    )
    visit_of_note = np.full(len(notes), -1, dtype=np.int64)
    matched = note_of_visit >= 0
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

    ids = {
        c: frame[c].to_numpy(dtype=object)
        for c in ("visit_id", "provider_id", "service_user_id", "carer_id")
    }
    rate = visits.rate_gbp_per_hour
    flag_frames = [
        _flag_frame(
            f,
            record_id=ids["visit_id"],
            provider_id=ids["provider_id"],
            service_user_id=ids["service_user_id"],
            carer_id=ids["carer_id"],
            month=visits.month,
            rate=rate,
            keep=visit_keep,
        )
        for f in flags
    ]
    note_ids = {
        c: notes.frame[c].to_numpy(dtype=object) for c in ("note_id", "service_user_id", "carer_id")
    }
    flag_frames.append(
        _flag_frame(
            note_flags,
            record_id=note_ids["note_id"],
            provider_id=notes.provider_id,
            service_user_id=note_ids["service_user_id"],
            carer_id=note_ids["carer_id"],
            month=month_labels(np.nan_to_num(notes.start_s)),
            rate=np.zeros(len(notes)),
            keep=note_keep,
        )
    )
    audit_flag = pd.concat(flag_frames, ignore_index=True)
    audit_flag = audit_flag.astype({"minutes_at_stake": np.float64, "amount_gbp": np.float64})

    matched_note_id = np.full(len(visits), None, dtype=object)
    matched_note_id[matched] = notes.frame["note_id"].to_numpy(dtype=object)[note_of_visit[matched]]
    flag_kinds = _flag_kinds_text(len(visits), flags)
    outcome_text = np.where(
        visits.is_missed,
        "missed",
        np.where(
            visits.is_cancelled, "cancelled", np.where(flag_kinds != "", "flagged", "verified")
        ),
    )
    billed_gbp = _pence(visits.billed_min * rate / 60.0)
    verified_gbp = _pence(verified_min * rate / 60.0)
    visit_outcome = pd.DataFrame(
        {
            "visit_id": ids["visit_id"],
            "provider_id": ids["provider_id"],
            "service_user_id": ids["service_user_id"],
            "carer_id": ids["carer_id"],
            "month": visits.month,
            "outcome": outcome_text,
            "matched_note_id": matched_note_id,
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

    delivery = pd.DataFrame(
        {
            "service_user_id": ids["service_user_id"],
            "provider_id": ids["provider_id"],
            "planned_s": visits.planned_s,
            "planned_min": np.nan_to_num(visits.planned_min),
            "verified_min": verified_min,
            "is_cancelled": visits.is_cancelled,
        }
    ).loc[visit_keep]
    reviews = rank_reviews(delivery, records, weights=review_weights, as_of=_as_of(visits, period))
    return AuditResult(
        visit_outcome=visit_outcome,
        audit_flag=audit_flag,
        provider_month=_provider_month(visit_outcome),
        review_priority=reviews,
    )
