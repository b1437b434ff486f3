"""One-to-one matching of ECM visits to care notes: a vectorised sort-merge.

Each round is one ``merge_asof`` of the still-unmatched visits against the still-unmatched
notes, by (service user, carer), on start time, nearest within the window. When several
visits pick the same note the nearest keeps it; the others try again next round against the
notes left. A note is used once. Rounds stop when no visit gains a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.reconciliation._frames import FloatArray, IntArray


def pair_codes(
    visit_user: pd.Series, visit_carer: pd.Series, note_user: pd.Series, note_carer: pd.Series
) -> tuple[IntArray, IntArray]:
    """One int64 code per (service user, carer) pair, shared between visits and notes."""
    users, _ = pd.factorize(pd.concat([visit_user, note_user], ignore_index=True))
    carers, carer_uniques = pd.factorize(pd.concat([visit_carer, note_carer], ignore_index=True))
    code = users.astype(np.int64) * (len(carer_uniques) + 1) + carers
    code[(users < 0) | (carers < 0)] = -1
    n = len(visit_user)
    return code[:n], code[n:]


def match_notes(
    visit_key: IntArray,
    visit_start_s: FloatArray,
    note_key: IntArray,
    note_start_s: FloatArray,
    *,
    window_s: float,
) -> IntArray:
    """Position of the care note matched to each visit, -1 when none.

    Visits and notes with a negative key or a NaN start never match. Starts are epoch seconds;
    a visit and a note match when their keys are equal and starts differ by at most
    ``window_s``. The matching is one-to-one and greedy by time difference.
    """
    matched = np.full(len(visit_key), -1, dtype=np.int64)
    visits_left = np.flatnonzero((visit_key >= 0) & ~np.isnan(visit_start_s))
    notes_left = np.flatnonzero((note_key >= 0) & ~np.isnan(note_start_s))
    tolerance = int(np.floor(window_s))
    while visits_left.size and notes_left.size:
        left = pd.DataFrame(
            {
                "t": visit_start_s[visits_left].astype(np.int64),
                "key": visit_key[visits_left],
                "visit": visits_left,
            }
        ).sort_values("t", kind="stable")
        right = pd.DataFrame(
            {
                "t": note_start_s[notes_left].astype(np.int64),
                "key": note_key[notes_left],
                "note": notes_left,
            }
        ).sort_values("t", kind="stable")
        right["note_t"] = right["t"]
        merged = pd.merge_asof(
            left, right, on="t", by="key", direction="nearest", tolerance=tolerance
        )
        found = merged["note"].notna().to_numpy()
        if not found.any():
            break
        visit = merged["visit"].to_numpy()[found]
        note = merged["note"].to_numpy()[found].astype(np.int64)
        gap = np.abs(merged["note_t"].to_numpy()[found] - merged["t"].to_numpy()[found])
        # The nearest claimant keeps each note; ties go to the earlier visit row.
        order = np.lexsort((visit, gap, note))
        note_sorted = note[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = note_sorted[1:] != note_sorted[:-1]
        winners = order[first]
        matched[visit[winners]] = note[winners]
        # Visits with no note in reach will never find one; losers retry on the notes left.
        losers = np.setdiff1d(visit, visit[winners], assume_unique=True)
        visits_left = losers
        notes_left = np.setdiff1d(notes_left, note[winners], assume_unique=True)
    return matched
