"""One-to-one matching of ECM visits to care notes: a vectorised sort-merge.

The contract (docs/synthetic-data.md) is greedy: candidate (visit, note) pairs of the same
service user and carer, starts within the window, are taken in ascending time difference,
each visit and note used once. Greedy matching is the same as repeatedly taking every pair of
*mutual* nearest neighbours (the visit's nearest note is that note, whose nearest visit is
that visit), and that is what each round does with two ``merge_asof`` calls (visits to notes,
notes to visits, nearest on start time within the window, by (service user, carer)). Matched
records leave; records with nothing in reach leave; the rest go round again. Rounds are few:
most visits have a single candidate note.

The (service user, carer) key is folded into the merge key (key × span + seconds, with the
span wider than all times plus the window) instead of passing ``by=``: the same matching,
as no pair of different keys can come within the tolerance, at a fraction of the cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.reconciliation._frames import FloatArray, IntArray


def _nearest(from_at: IntArray, to_at: IntArray, tolerance: int) -> FloatArray:
    """For each ``from`` merge key, the position of the nearest ``to`` key within tolerance.

    Both sides must be sorted ascending; NaN where nothing is within reach.
    """
    merged = pd.merge_asof(
        pd.DataFrame({"at": from_at}),
        pd.DataFrame({"at": to_at, "to": np.arange(len(to_at), dtype=np.float64)}),
        on="at",
        direction="nearest",
        tolerance=tolerance,
    )
    return merged["to"].to_numpy(dtype=np.float64, na_value=np.nan)


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
    if not visits_left.size or not notes_left.size:
        return matched
    tolerance = int(np.floor(window_s))
    low = int(min(visit_start_s[visits_left].min(), note_start_s[notes_left].min()))
    high = int(max(visit_start_s[visits_left].max(), note_start_s[notes_left].max()))
    span = high - low + 2 * tolerance + 1
    if (max(int(visit_key.max()), int(note_key.max())) + 1) * span >= 2**62:
        raise ValueError("Expected (pairs x time span) to fit in int64 merge keys.")
    visit_at = visit_key * span + (np.nan_to_num(visit_start_s).astype(np.int64) - low)
    note_at = note_key * span + (np.nan_to_num(note_start_s).astype(np.int64) - low)
    # Sort once; every later round keeps this order by filtering.
    visits_left = visits_left[np.argsort(visit_at[visits_left], kind="stable")]
    notes_left = notes_left[np.argsort(note_at[notes_left], kind="stable")]
    while visits_left.size and notes_left.size:
        v_at, n_at_all = visit_at[visits_left], note_at[notes_left]
        note_of = _nearest(v_at, n_at_all, tolerance)
        visit_of = _nearest(n_at_all, v_at, tolerance)
        has_note, has_visit = ~np.isnan(note_of), ~np.isnan(visit_of)
        if not has_note.any():
            break
        v_pos = np.flatnonzero(has_note)
        n_pos = note_of[has_note].astype(np.int64)
        mutual = visit_of[n_pos] == v_pos
        if not mutual.any():
            # Only ties can hide every mutual pair; break them by taking each note's
            # first claimant in order, which is still a nearest pair.
            _, first = np.unique(n_pos, return_index=True)
            mutual = np.zeros(len(n_pos), dtype=bool)
            mutual[first] = True
        v_pos, n_pos = v_pos[mutual], n_pos[mutual]
        matched[visits_left[v_pos]] = notes_left[n_pos]
        keep_visit, keep_note = has_note.copy(), has_visit.copy()
        keep_visit[v_pos] = False
        keep_note[n_pos] = False
        visits_left, notes_left = visits_left[keep_visit], notes_left[keep_note]
    return matched
