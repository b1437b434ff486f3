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
    note_used = np.zeros(len(note_key), dtype=bool)
    visits_left = np.flatnonzero((visit_key >= 0) & ~np.isnan(visit_start_s))
    notes_left = np.flatnonzero((note_key >= 0) & ~np.isnan(note_start_s))
    # Sort once; every later round keeps this order by filtering with masks.
    visits_left = visits_left[np.argsort(visit_start_s[visits_left], kind="stable")]
    notes_left = notes_left[np.argsort(note_start_s[notes_left], kind="stable")]
    tolerance = int(np.floor(window_s))
    while visits_left.size and notes_left.size:
        merged = pd.merge_asof(
            pd.DataFrame(
                {
                    "t": visit_start_s[visits_left].astype(np.int64),
                    "key": visit_key[visits_left],
                }
            ),
            pd.DataFrame(
                {
                    "t": note_start_s[notes_left].astype(np.int64),
                    "key": note_key[notes_left],
                    "at": np.arange(len(notes_left)),
                }
            ),
            on="t",
            by="key",
            direction="nearest",
            tolerance=tolerance,
        )
        at = merged["at"].to_numpy(dtype=np.float64, na_value=np.nan)
        found = ~np.isnan(at)
        if not found.any():
            break
        visit = visits_left[found]
        note = notes_left[at[found].astype(np.int64)]
        gap = np.abs(note_start_s[note] - visit_start_s[visit])
        # The nearest claimant keeps each note; ties go to the earlier visit row.
        claims = np.bincount(note, minlength=len(note_key))[note]
        wins = claims == 1
        contested = np.flatnonzero(~wins)
        if contested.size:
            order = contested[np.lexsort((visit[contested], gap[contested], note[contested]))]
            first = np.ones(order.size, dtype=bool)
            first[1:] = note[order][1:] != note[order][:-1]
            wins[order[first]] = True
        matched[visit[wins]] = note[wins]
        note_used[note[wins]] = True
        # Visits with no note in reach will never find one; losers retry on the notes left.
        lost = np.zeros(len(visit_key), dtype=bool)
        lost[visit[~wins]] = True
        visits_left = visits_left[lost[visits_left]]
        notes_left = notes_left[~note_used[notes_left]]
    return matched
