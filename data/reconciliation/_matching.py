"""One-to-one matching of ECM visits to care notes: a vectorised sort-merge.

The contract (docs/synthetic-data.md) is greedy: candidate (visit, note) pairs of the same
service user and carer, starts within the window, are taken in ascending time difference,
each visit and note used once. Greedy matching is the same as repeatedly taking every pair of
*mutual* nearest neighbours (the visit's nearest note is that note, whose nearest visit is
that visit), and that is what each round does with two ``merge_asof`` calls (visits to notes,
notes to visits, by pair key, nearest on start time, within the window). Matched records
leave; records with nothing in reach leave; the rest go round again. Rounds are few: most
visits have a single candidate note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.reconciliation._frames import FloatArray, IntArray


def _nearest(
    from_t: np.ndarray, from_key: IntArray, to_t: np.ndarray, to_key: IntArray, tolerance: int
) -> FloatArray:
    """For each ``from`` row, the position of the nearest ``to`` row of the same key (NaN: none).

    Both sides must be sorted by time.
    """
    merged = pd.merge_asof(
        pd.DataFrame({"t": from_t, "key": from_key}),
        pd.DataFrame({"t": to_t, "key": to_key, "at": np.arange(len(to_t), dtype=np.float64)}),
        on="t",
        by="key",
        direction="nearest",
        tolerance=tolerance,
    )
    return merged["at"].to_numpy(dtype=np.float64, na_value=np.nan)


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
    # Sort once; every later round keeps this order by filtering.
    visits_left = visits_left[np.argsort(visit_start_s[visits_left], kind="stable")]
    notes_left = notes_left[np.argsort(note_start_s[notes_left], kind="stable")]
    tolerance = int(np.floor(window_s))
    while visits_left.size and notes_left.size:
        v_t = visit_start_s[visits_left].astype(np.int64)
        n_t = note_start_s[notes_left].astype(np.int64)
        v_key, n_key = visit_key[visits_left], note_key[notes_left]
        note_of = _nearest(v_t, v_key, n_t, n_key, tolerance)
        visit_of = _nearest(n_t, n_key, v_t, v_key, tolerance)
        has_note, has_visit = ~np.isnan(note_of), ~np.isnan(visit_of)
        if not has_note.any():
            break
        v_at = np.flatnonzero(has_note)
        n_at = note_of[has_note].astype(np.int64)
        mutual = visit_of[n_at] == v_at
        if not mutual.any():
            # Only ties can hide every mutual pair; break them by taking each note's
            # first claimant in time order, which is still a nearest pair.
            _, first = np.unique(n_at, return_index=True)
            mutual = np.zeros(len(n_at), dtype=bool)
            mutual[first] = True
        v_at, n_at = v_at[mutual], n_at[mutual]
        matched[visits_left[v_at]] = notes_left[n_at]
        keep_visit, keep_note = has_note.copy(), has_visit.copy()
        keep_visit[v_at] = False
        keep_note[n_at] = False
        visits_left, notes_left = visits_left[keep_visit], notes_left[keep_note]
    return matched
