"""Ground truth: evaluate every audit rule of docs/synthetic-data.md on the generated records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.records import FlagKind
from data.tolerances import AuditTolerances
from data.travel_estimate import TravelEstimate, haversine_m, straight_line_travel

GROUND_TRUTH_COLUMNS = ("flag_kind", "record_kind", "record_id")


def _seconds(series: pd.Series) -> np.ndarray:
    return series.to_numpy().astype("datetime64[s]").astype(np.int64)


def evaluate_rules(
    visits: pd.DataFrame,
    notes: pd.DataFrame,
    service_users: pd.DataFrame,
    calls: pd.DataFrame,
    note_visit_id: pd.Series,
    *,
    tolerances: AuditTolerances | None = None,
    travel: TravelEstimate | None = None,
) -> pd.DataFrame:
    """Flags the audit must raise, given canonical frames and each note's matched visit id.

    ``note_visit_id`` is aligned with ``notes`` (NaN when the note matches no visit).
    """
    tol = tolerances or AuditTolerances()
    travel = travel or straight_line_travel()
    rows: list[pd.DataFrame] = []

    def add(kind: FlagKind, ids: np.ndarray, record_kind: str = "ecm_visit") -> None:
        rows.append(
            pd.DataFrame({"flag_kind": str(kind), "record_kind": record_kind, "record_id": ids})
        )

    vid = visits["visit_id"].to_numpy()
    has_ci = visits["check_in"].notna().to_numpy()
    ci = np.where(has_ci, _seconds(visits["check_in"].fillna(pd.Timestamp(0))), 0)
    co = np.where(has_ci, _seconds(visits["check_out"].fillna(pd.Timestamp(0))), 0)
    ecm_min = (co - ci) / 60.0
    planned = visits["planned_duration_min"].to_numpy().astype(float)

    matched = note_visit_id.notna().to_numpy()
    m_visit = pd.Index(vid).get_indexer(note_visit_id[matched].to_numpy())
    note_min_all = (_seconds(notes["visit_end"]) - _seconds(notes["visit_start"])) / 60.0
    note_min = np.full(len(visits), np.nan)
    note_min[m_visit] = note_min_all[matched]
    has_note = ~np.isnan(note_min)

    verified = np.where(has_ci, np.where(has_note, np.fmin(ecm_min, note_min), ecm_min), 0.0)
    add(FlagKind.VISIT_WITHOUT_NOTE, vid[has_ci & ~has_note])
    add(FlagKind.NOTE_WITHOUT_VISIT, notes["note_id"].to_numpy()[~matched], "care_note")
    add(
        FlagKind.DURATION_MISMATCH,
        vid[has_note & (np.abs(ecm_min - note_min) > tol.duration_mismatch_min)],
    )
    short = has_ci & (
        (verified < tol.short_call_ratio * planned) | (planned - verified > tol.short_call_min)
    )
    add(FlagKind.SHORT_CALL, vid[short])
    add(FlagKind.MANUAL_CHECK_IN, vid[(visits["method"] == "manual").to_numpy()])
    # Hash lookups and integer codes: string keys are slow to sort and compare at 1M rows.
    su_row = pd.Index(service_users["service_user_id"]).get_indexer(visits["service_user_id"])
    home_lat = np.append(service_users["lat"].to_numpy(dtype=float), np.nan)[su_row]
    home_lon = np.append(service_users["lon"].to_numpy(dtype=float), np.nan)[su_row]
    cl_lat = visits["check_in_lat"].to_numpy(dtype=float)
    cl_lon = visits["check_in_lon"].to_numpy(dtype=float)
    located = ~np.isnan(cl_lat) & ~np.isnan(cl_lon)
    far = np.zeros(len(visits), dtype=bool)
    far[located] = (
        haversine_m(cl_lat[located], cl_lon[located], home_lat[located], home_lon[located])
        > tol.far_check_in_m
    )
    add(FlagKind.CHECK_IN_FAR_FROM_HOME, vid[far])
    billed = visits["billed_min"].to_numpy().astype(float)
    add(FlagKind.BILLED_ABOVE_VERIFIED, vid[billed - verified > tol.billed_above_verified_min])
    call_row = pd.Index(calls["call_id"]).get_indexer(visits["call_id"])
    tc_by_call = calls["is_time_critical"].fillna(False).to_numpy().astype(bool)
    tc = np.append(tc_by_call, False)[call_row]
    lateness = (ci - _seconds(visits["planned_start"])) / 60.0
    add(
        FlagKind.LATE_TIME_CRITICAL,
        vid[tc & has_ci & (np.abs(lateness) > tol.late_time_critical_min)],
    )

    group = pd.factorize(visits["double_up_group"])[0]
    grouped = (group >= 0) & has_ci
    logged = np.bincount(group[grouped], minlength=max(int(group.max()) + 1, 1))
    add(FlagKind.DOUBLE_UP_SINGLE_CARER, vid[grouped & (logged[np.maximum(group, 0)] == 1)])

    # Pairwise rules on each carer's logged visits in check-in order.
    live = np.flatnonzero(has_ci)
    carer = pd.factorize(visits["carer_id"])[0]
    live = live[np.lexsort((ci[live], carer[live]))]
    two = np.zeros(len(visits), dtype=bool)
    pair_two = np.zeros(live.size, dtype=bool)  # pair (live[i-1], live[i]) overlaps
    for k in (1, 2, 3):
        a, b = live[:-k], live[k:]
        overlap = (np.minimum(co[a], co[b]) - np.maximum(ci[a], ci[b])) / 60.0
        hit = (carer[a] == carer[b]) & (overlap > tol.overlap_min)
        two[a[hit]] = True
        two[b[hit]] = True
        if k == 1:
            pair_two[1:] = hit
    add(FlagKind.CARER_IN_TWO_PLACES, vid[two])
    a, b = live[:-1], live[1:]
    t_min = travel(home_lat[a], home_lon[a], home_lat[b], home_lon[b]) / 60.0
    gap = (ci[b] - co[a]) / 60.0
    infeasible = (carer[a] == carer[b]) & ~pair_two[1:] & (gap < t_min - tol.travel_slack_min)
    add(FlagKind.TRAVEL_INFEASIBLE, vid[b[infeasible]])

    truth = pd.concat(rows, ignore_index=True)
    order = pd.Categorical(truth["flag_kind"], categories=[str(k) for k in FlagKind])
    truth = truth.assign(_k=order.codes).sort_values(["_k", "record_id"]).drop(columns="_k")
    return truth.reset_index(drop=True).astype({"record_id": object})
