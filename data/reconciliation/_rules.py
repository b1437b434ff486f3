"""The reconciliation rules of DOMAIN.md, each vectorised over the audited visits.

Each rule returns the flags it raises as a ``RuleFlags``: row positions (into the visits, or
into the notes for a note without a visit), an evidence sentence per flag with the figures
(never care-note text), the minutes at stake, and the other record of a pair when there is
one. Money is added afterwards from the visit's rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data.reconciliation._frames import (
    BoolArray,
    FloatArray,
    IntArray,
    Notes,
    Visits,
    minute_labels,
)
from data.records import FlagKind
from data.tolerances import AuditTolerances
from data.travel_estimate import TravelEstimate, haversine_m

# Flags that are about quality of care rather than money billed: no £ at stake.
NO_MONEY_KINDS = frozenset({FlagKind.NOTE_WITHOUT_VISIT, FlagKind.LATE_TIME_CRITICAL})


@dataclass(frozen=True, slots=True)
class RuleFlags:
    """Flags of one kind: positions, evidence, minutes at stake, the related record if any.

    ``related`` holds positions (-1: none) into the visits, or into the notes when
    ``related_is_note``.
    """

    kind: FlagKind
    rows: IntArray
    evidence: np.ndarray
    minutes_at_stake: FloatArray
    related: IntArray
    related_is_note: bool = False

    @classmethod
    def build(
        cls,
        kind: FlagKind,
        rows: IntArray,
        evidence: list[str],
        minutes: FloatArray,
        related: IntArray | None = None,
        *,
        related_is_note: bool = False,
    ) -> RuleFlags:
        return cls(
            kind=kind,
            rows=np.asarray(rows, dtype=np.int64),
            evidence=np.asarray(evidence, dtype=object),
            minutes_at_stake=np.asarray(
                np.round(np.asarray(minutes, dtype=np.float64), 1), dtype=np.float64
            ),
            related=(
                np.full(len(rows), -1, dtype=np.int64)
                if related is None
                else np.asarray(related, dtype=np.int64)
            ),
            related_is_note=related_is_note,
        )

    def select(self, keep: BoolArray) -> RuleFlags:
        """The flags at ``keep`` (a mask over these flags)."""
        return RuleFlags(
            kind=self.kind,
            rows=self.rows[keep],
            evidence=self.evidence[keep],
            minutes_at_stake=self.minutes_at_stake[keep],
            related=self.related[keep],
            related_is_note=self.related_is_note,
        )


def _ids(column: pd.Series, rows: IntArray) -> np.ndarray:
    """The ids at ``rows`` as Python strings (for evidence; only ever flagged rows)."""
    return np.asarray(column.array.take(rows), dtype=object)


def _fmt(value: float) -> str:
    """A tolerance as written in configuration: 90 -> "90", 2.5 -> "2.5"."""
    return f"{value:g}"


def _rows(*columns: np.ndarray | list[Any]) -> zip[tuple[Any, ...]]:
    """Zip columns as Python lists: formatting Python floats is far faster than NumPy's."""
    return zip(*(np.asarray(c).tolist() for c in columns), strict=True)


def _hhmm(labels: np.ndarray) -> np.ndarray:
    return np.asarray([s[-5:] for s in labels], dtype=object)


def verified_minutes(visits: Visits, note_min: FloatArray) -> FloatArray:
    """Minutes the council should pay: the shorter of ECM and the matched note, capped at planned.

    ``note_min`` is the matched note's length per visit (NaN when none matched: ECM alone
    counts). A visit without both check-in and check-out verifies nothing. The cap means an
    overrun is not paid beyond the commissioned minutes; it never changes which visits are
    short, and changes ``billed_above_verified`` only when billing exceeds the planned minutes.
    """
    ecm = np.clip(np.nan_to_num(visits.ecm_min, nan=0.0), 0.0, None)
    both = np.fmin(ecm, note_min)  # fmin ignores a NaN note
    capped = np.minimum(both, np.nan_to_num(visits.planned_min, nan=np.inf))
    return np.where(visits.is_completed, np.clip(capped, 0.0, None), 0.0)


def visit_without_note(visits: Visits, note_of_visit: IntArray, tol: AuditTolerances) -> RuleFlags:
    """A completed ECM visit that no care note matched."""
    rows = np.flatnonzero(visits.is_completed & (note_of_visit < 0))
    when = minute_labels(visits.in_s[rows])
    ecm, billed = visits.ecm_min[rows], visits.billed_min[rows]
    window = _fmt(tol.note_match_window_min)
    evidence = [
        f"Visit checked in {w} ({e:.0f} min in ECM, {b:.0f} min billed) has no care note "
        f"by the same carer within {window} min."
        for w, e, b in _rows(when, ecm, billed)
    ]
    return RuleFlags.build(FlagKind.VISIT_WITHOUT_NOTE, rows, evidence, billed)


def note_without_visit(notes: Notes, visit_of_note: IntArray, tol: AuditTolerances) -> RuleFlags:
    """A care note that matched no completed ECM visit (rows index the notes)."""
    rows = np.flatnonzero(visit_of_note < 0)
    when = minute_labels(notes.start_s[rows])
    minutes = notes.note_min[rows]
    window = _fmt(tol.note_match_window_min)
    evidence = [
        f"Care note records a {m:.0f} min visit from {w}, but no ECM visit of the same "
        f"carer and service user starts within {window} min."
        for w, m in _rows(when, minutes)
    ]
    return RuleFlags.build(FlagKind.NOTE_WITHOUT_VISIT, rows, evidence, np.nan_to_num(minutes))


def duration_mismatch(
    visits: Visits, notes: Notes, note_of_visit: IntArray, tol: AuditTolerances
) -> RuleFlags:
    """ECM minutes and the matched note's minutes differ by more than the tolerance."""
    has_note = note_of_visit >= 0
    note_min = np.full(len(visits), np.nan)
    note_min[has_note] = notes.note_min[note_of_visit[has_note]]
    gap = np.abs(visits.ecm_min - note_min)
    rows = np.flatnonzero(visits.is_completed & has_note & (gap > tol.duration_mismatch_min))
    ecm, noted = visits.ecm_min[rows], note_min[rows]
    note_ids = _ids(notes.frame["note_id"], note_of_visit[rows])
    limit = f"{tol.duration_mismatch_min:g}"
    evidence = [
        f"ECM shows {e:.0f} min but care note {nid} records {m:.0f} min "
        f"({abs(e - m):.0f} min apart; tolerance {limit} min)."
        for e, m, nid in _rows(ecm, noted, note_ids)
    ]
    return RuleFlags.build(
        FlagKind.DURATION_MISMATCH,
        rows,
        evidence,
        gap[rows],
        note_of_visit[rows],
        related_is_note=True,
    )


def short_call(visits: Visits, verified_min: FloatArray, tol: AuditTolerances) -> RuleFlags:
    """Verified minutes below ``short_call_ratio`` of planned, or more than ``short_call_min`` short."""
    planned = visits.planned_min
    short_by = planned - verified_min
    is_short = (verified_min < tol.short_call_ratio * planned) | (short_by > tol.short_call_min)
    rows = np.flatnonzero(visits.is_completed & is_short)
    p, v = planned[rows], verified_min[rows]
    rule = f"tolerance {tol.short_call_ratio:.0%} or {tol.short_call_min:g} min short"
    evidence = [
        f"Verified {vv:.0f} of {pp:.0f} planned min ({100 * vv / pp:.0f}%, "
        f"{pp - vv:.0f} min short; {rule})."
        for pp, vv in _rows(p, v)
    ]
    return RuleFlags.build(FlagKind.SHORT_CALL, rows, evidence, short_by[rows])


@dataclass(frozen=True, slots=True)
class CarerSequence:
    """Completed visits in (carer, check-in) order, with each one's predecessor."""

    order: IntArray  # visit positions in sequence order
    previous: IntArray  # visit position of the preceding visit of the same carer, or -1
    start_key: FloatArray  # carer x span + check-in, ascending (for range searches)
    span: float  # wider than any check-in or check-out offset from ``low``
    low: float


def carer_sequence(visits: Visits, carer_code: IntArray) -> CarerSequence:
    """Sort completed visits by carer then check-in; find each visit's predecessor."""
    done = np.flatnonzero(visits.is_completed & (carer_code >= 0))
    # One float sort key, carer-major: whole seconds stay exact well below 2**53.
    start, end = visits.in_s[done], visits.out_s[done]
    low = float(min(start.min(), end.min())) if done.size else 0.0
    span = float(max(start.max(), end.max())) - low + 1.0 if done.size else 1.0
    key = carer_code[done] * span + (start - low)
    by_key = np.argsort(key, kind="stable")
    order = done[by_key]
    n = len(order)
    carer = carer_code[order]
    same_carer = np.zeros(n, dtype=bool)
    same_carer[1:] = carer[1:] == carer[:-1]
    previous = np.full(n, -1, dtype=np.int64)
    previous[1:] = order[:-1]
    previous[~same_carer] = -1
    return CarerSequence(order=order, previous=previous, start_key=key[by_key], span=span, low=low)


def _overlap_s(visits: Visits, earlier: IntArray, later: IntArray) -> FloatArray:
    return np.minimum(visits.out_s[earlier], visits.out_s[later]) - visits.in_s[later]


def _overlapping_pairs(
    visits: Visits, seq: CarerSequence, carer_code: IntArray, overlap_s: float
) -> tuple[IntArray, IntArray]:
    """Every (earlier, later) pair of one carer's visits overlapping by more than ``overlap_s``.

    Sequence positions. A later visit can only overlap an earlier one by more than the
    tolerance if it checks in before the earlier check-out minus the tolerance, so each visit's
    partners are a contiguous run of the sequence found by ``searchsorted``; the runs are
    expanded with ``np.repeat`` (they are short: a carer's overlaps are few).
    """
    n = len(seq.order)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    carer = carer_code[seq.order]
    limit = np.maximum(visits.out_s[seq.order] - overlap_s, visits.in_s[seq.order])
    stop = np.searchsorted(seq.start_key, carer * seq.span + (limit - seq.low), side="left")
    first = np.arange(n) + 1
    length = np.maximum(stop - first, 0)
    earlier = np.repeat(np.arange(n), length)
    offset = np.arange(len(earlier)) - np.repeat(np.cumsum(length) - length, length)
    later = earlier + 1 + offset
    overlap = _overlap_s(visits, seq.order[earlier], seq.order[later])
    keep = overlap > overlap_s
    return earlier[keep], later[keep]


def carer_in_two_places(
    visits: Visits, seq: CarerSequence, carer_code: IntArray, tol: AuditTolerances
) -> tuple[RuleFlags, BoolArray]:
    """Visits of one carer at different homes overlapping by more than ``overlap_min``.

    Every such pair is found; both visits are flagged, each naming its first partner. Also
    returns, per sequence position, whether the visit and its immediate predecessor are such a
    pair (so the travel rule does not flag the same pair twice).
    """
    pair_earlier, pair_later = _overlapping_pairs(visits, seq, carer_code, tol.overlap_min * 60.0)
    users = visits.user
    elsewhere = users[seq.order[pair_earlier]] != users[seq.order[pair_later]]
    pair_earlier, pair_later = pair_earlier[elsewhere], pair_later[elsewhere]
    overlaps_previous = np.zeros(len(seq.order), dtype=bool)
    overlaps_previous[pair_later[pair_later == pair_earlier + 1]] = True

    earlier, later = seq.order[pair_earlier], seq.order[pair_later]
    minutes = _overlap_s(visits, earlier, later) / 60.0
    visit_ids = visits.frame["visit_id"]
    labels_in = minute_labels(visits.in_s[later])
    in_later = _hhmm(labels_in)
    out_earlier = _hhmm(minute_labels(visits.out_s[earlier]))
    day = [s[:10] for s in labels_in]
    later_text = [
        f"Carer checked in here at {t} on {d} while still logged at another home until {o} "
        f"(visit {other}): {m:.0f} min overlap."
        for t, d, o, other, m in _rows(
            in_later, day, out_earlier, _ids(visit_ids, earlier), minutes
        )
    ]
    earlier_text = [
        f"Carer was still logged here until {o} on {d} but checked in at another home at {t} "
        f"(visit {other}): {m:.0f} min overlap."
        for t, d, o, other, m in _rows(in_later, day, out_earlier, _ids(visit_ids, later), minutes)
    ]
    flags = RuleFlags.build(
        FlagKind.CARER_IN_TWO_PLACES,
        np.concatenate([later, earlier]),
        later_text + earlier_text,
        np.concatenate([minutes, minutes]),
        np.concatenate([earlier, later]),
    )
    return flags, overlaps_previous


def _place(visits: Visits, rows: IntArray) -> tuple[FloatArray, FloatArray]:
    """The home's lat/lon, falling back to the check-in's when the home is unknown."""
    lat, lon = visits.home_lat[rows], visits.home_lon[rows]
    unknown = np.isnan(lat) | np.isnan(lon)
    lat = np.where(unknown, visits.check_in_lat[rows], lat)
    lon = np.where(unknown, visits.check_in_lon[rows], lon)
    return lat, lon


def travel_infeasible(
    visits: Visits,
    seq: CarerSequence,
    overlaps_previous: BoolArray,
    travel: TravelEstimate,
    tol: AuditTolerances,
) -> RuleFlags:
    """The gap after a carer's previous visit is shorter than the travel between the homes.

    The later visit is flagged. A pair already flagged as the carer in two places is left to
    that rule; two visits to the same home need no travel but must not overlap.
    """
    has_prev = seq.previous >= 0
    later, earlier = seq.order[has_prev], seq.previous[has_prev]
    candidate = ~overlaps_previous[has_prev]
    later, earlier = later[candidate], earlier[candidate]
    lat1, lon1 = _place(visits, earlier)
    lat2, lon2 = _place(visits, later)
    travel_s = np.asarray(travel(lat1, lon1, lat2, lon2), dtype=np.float64)
    gap_s = visits.in_s[later] - visits.out_s[earlier]
    hit = gap_s < travel_s - tol.travel_slack_min * 60.0
    later, earlier = later[hit], earlier[hit]
    gap_min, travel_min = gap_s[hit] / 60.0, travel_s[hit] / 60.0
    km = haversine_m(lat1[hit], lon1[hit], lat2[hit], lon2[hit]) / 1000.0
    ids = _ids(visits.frame["visit_id"], earlier)
    evidence = [
        f"Checked in {g:.0f} min after leaving visit {other}, {k:.1f} km away in a straight "
        f"line; the journey needs about {t:.0f} min."
        for g, other, k, t in _rows(gap_min, ids, km, travel_min)
    ]
    return RuleFlags.build(
        FlagKind.TRAVEL_INFEASIBLE, later, evidence, travel_min - gap_min, earlier
    )


def double_up_single_carer(visits: Visits) -> RuleFlags:
    """A double-up (a group, or a call needing two carers) with only one completed visit.

    Visits of a two-carer call without a group are grouped by call and planned day.
    """
    group, call = visits.group, visits.call
    has_group = group >= 0
    needs_two = (visits.carers_required >= 2) & (call >= 0) & ~has_group
    # One key per group, or per (two-carer call, planned day) for visits without a group.
    day = np.nan_to_num(visits.planned_s // 86_400).astype(np.int64)
    day -= int(day.min()) if len(day) else 0
    call_day = call * (int(day.max(initial=0)) + 1) + day
    n_groups = int(group.max(initial=-1)) + 1
    key = np.where(has_group, group, np.where(needs_two, n_groups + call_day, -1))
    in_scope = key >= 0
    codes = np.full(len(key), -1, dtype=np.int64)
    codes[in_scope] = np.unique(key[in_scope], return_inverse=True)[1]
    counted = in_scope & visits.is_completed
    completed_per_group = np.bincount(codes[counted], minlength=int(codes.max(initial=0)) + 1)
    rows = np.flatnonzero(counted & (completed_per_group[np.maximum(codes, 0)] == 1))
    planned = visits.planned_min[rows]
    when = minute_labels(visits.planned_s[rows])
    evidence = [
        f"Double-up call planned for two carers at {w}, but only this carer logged a completed "
        f"visit ({p:.0f} min of the second carer's time unaccounted for)."
        for w, p in _rows(when, planned)
    ]
    return RuleFlags.build(FlagKind.DOUBLE_UP_SINGLE_CARER, rows, evidence, planned)


def manual_check_in(visits: Visits) -> RuleFlags:
    """A completed visit whose check-in was entered by hand."""
    rows = np.flatnonzero(visits.is_completed & visits.is_manual)
    billed = visits.billed_min[rows]
    evidence = [
        f"Check-in entered manually, not by app, phone or tag; {b:.0f} min billed on it."
        for b in billed.tolist()
    ]
    return RuleFlags.build(FlagKind.MANUAL_CHECK_IN, rows, evidence, billed)


def check_in_far_from_home(visits: Visits, tol: AuditTolerances) -> RuleFlags:
    """A check-in location further than ``far_check_in_m`` from the service user's home."""
    distance = haversine_m(
        visits.check_in_lat, visits.check_in_lon, visits.home_lat, visits.home_lon
    )
    rows = np.flatnonzero(visits.is_completed & (distance > tol.far_check_in_m))
    metres, billed = distance[rows], visits.billed_min[rows]
    limit = _fmt(tol.far_check_in_m)
    evidence = [
        f"Checked in {d:.0f} m from the service user's home (tolerance {limit} m); "
        f"{b:.0f} min billed."
        for d, b in _rows(metres, billed)
    ]
    return RuleFlags.build(FlagKind.CHECK_IN_FAR_FROM_HOME, rows, evidence, billed)


def billed_above_verified(
    visits: Visits, verified_min: FloatArray, tol: AuditTolerances
) -> RuleFlags:
    """Billed minutes exceed verified minutes by more than the tolerance (missed visits too)."""
    over = visits.billed_min - verified_min
    rows = np.flatnonzero(over > tol.billed_above_verified_min)
    status = np.where(
        visits.is_missed[rows],
        "the visit was missed",
        np.where(visits.is_cancelled[rows], "the visit was cancelled", ""),
    )
    billed, verified = visits.billed_min[rows], verified_min[rows]
    evidence = [
        f"Billed {b:.0f} min but {s}."
        if s
        else f"Billed {b:.0f} min against {v:.0f} verified min ({b - v:.0f} min over)."
        for b, v, s in _rows(billed, verified, status)
    ]
    return RuleFlags.build(FlagKind.BILLED_ABOVE_VERIFIED, rows, evidence, over[rows])


def late_time_critical(visits: Visits, tol: AuditTolerances) -> RuleFlags:
    """A time-critical call checked in more than ``late_time_critical_min`` late or early."""
    offset_min = (visits.in_s - visits.planned_s) / 60.0
    rows = np.flatnonzero(
        visits.is_completed
        & visits.is_time_critical
        & (np.abs(offset_min) > tol.late_time_critical_min)
    )
    offset = offset_min[rows]
    planned = _hhmm(minute_labels(visits.planned_s[rows]))
    checked = _hhmm(minute_labels(visits.in_s[rows]))
    limit = _fmt(tol.late_time_critical_min)
    evidence = [
        f"Time-critical call started {abs(o):.0f} min {'late' if o > 0 else 'early'} "
        f"(planned {p}, checked in {c}; tolerance ±{limit} min)."
        for o, p, c in _rows(offset, planned, checked)
    ]
    return RuleFlags.build(FlagKind.LATE_TIME_CRITICAL, rows, evidence, np.abs(offset))
