"""Pairwise rules against brute force on random rounds (Hypothesis)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from data.reconciliation import reconcile
from data.tolerances import AuditTolerances
from data.travel_estimate import straight_line_travel

DAY = datetime(2026, 10, 5, 7, 0)
HOMES = [(52.5700, -0.2400), (52.5705, -0.2400), (52.5700, -0.1570)]  # ~55 m and ~5.6 km apart
TOL = AuditTolerances()

visits_strategy = st.lists(
    st.tuples(
        st.integers(0, 1),  # carer
        st.integers(0, 2),  # service user
        st.integers(0, 300),  # check-in, minutes after 07:00
        st.integers(1, 90),  # minutes on site
    ),
    min_size=0,
    max_size=14,
)


def frames(rows: list[tuple[int, int, int, int]]) -> dict[str, pd.DataFrame]:
    """Completed visits with faithful notes; homes from HOMES."""
    starts = [DAY + timedelta(minutes=m) for _, _, m, _ in rows]
    ends = [s + timedelta(minutes=d) for s, (_, _, _, d) in zip(starts, rows, strict=True)]
    visits = pd.DataFrame(
        {
            "visit_id": [f"v{i}" for i in range(len(rows))],
            "provider_id": "p1",
            "service_user_id": [f"su{u}" for _, u, _, _ in rows],
            "carer_id": [f"c{c}" for c, _, _, _ in rows],
            "planned_start": pd.to_datetime(starts),
            "planned_duration_min": [d for *_, d in rows],
            "check_in": pd.to_datetime(starts),
            "check_out": pd.to_datetime(ends),
            "method": "nfc",
            "billed_min": [d for *_, d in rows],
            "status": "completed",
        }
    )
    notes = pd.DataFrame(
        {
            "note_id": [f"n{i}" for i in range(len(rows))],
            "service_user_id": visits["service_user_id"],
            "carer_id": visits["carer_id"],
            "visit_start": visits["check_in"],
            "visit_end": visits["check_out"],
        }
    )
    users = pd.DataFrame(
        {
            "service_user_id": [f"su{i}" for i in range(3)],
            "lat": [h[0] for h in HOMES],
            "lon": [h[1] for h in HOMES],
        }
    )
    return {"ecm_visit": visits, "care_note": notes, "service_user": users}


def expected(rows: list[tuple[int, int, int, int]]) -> tuple[set[str], set[str]]:
    """Two-places and travel-infeasible visit ids by brute force over every pair."""
    travel = straight_line_travel()
    two_places: set[str] = set()
    pairs: set[tuple[int, int]] = set()
    for i, (ci, ui, si, di) in enumerate(rows):
        for j, (cj, uj, sj, dj) in enumerate(rows):
            overlap = min(si + di, sj + dj) - max(si, sj)
            if i < j and ci == cj and ui != uj and overlap > TOL.overlap_min:
                two_places |= {f"v{i}", f"v{j}"}
                pairs |= {(i, j), (j, i)}
    infeasible: set[str] = set()
    order = sorted(range(len(rows)), key=lambda k: (rows[k][0], rows[k][2], k))
    for a, b in itertools.pairwise(order):
        if rows[a][0] != rows[b][0] or (a, b) in pairs:
            continue
        (la, oa), (lb, ob) = HOMES[rows[a][1]], HOMES[rows[b][1]]
        travel_min = float(travel(*(np.array([x]) for x in (la, oa, lb, ob)))[0]) / 60
        gap = rows[b][2] - (rows[a][2] + rows[a][3])
        if gap < travel_min - TOL.travel_slack_min:
            infeasible.add(f"v{b}")
    return two_places, infeasible


@settings(max_examples=40, deadline=None)
@given(rows=visits_strategy)
def test_pairwise_rules_match_brute_force(rows: list[tuple[int, int, int, int]]) -> None:
    """Every overlapping pair at different homes is flagged; consecutive travel is checked."""
    result = reconcile(frames(rows))
    flags = result.audit_flag
    two_places = set(flags.loc[flags["flag_kind"] == "carer_in_two_places", "record_id"])
    infeasible = set(flags.loc[flags["flag_kind"] == "travel_infeasible", "record_id"])
    assert (two_places, infeasible) == expected(rows)
