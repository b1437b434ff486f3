"""Properties of the vectorised visit-to-note matching: one-to-one, in window, greedy."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from data.reconciliation._matching import match_notes

WINDOW_S = 90 * 60


def greedy(v_key, v_t, n_key, n_t, window_s):  # type: ignore[no-untyped-def]
    """Reference: every candidate pair in ascending time difference, each record used once."""
    pairs = sorted(
        (abs(v_t[i] - n_t[j]), i, j)
        for i in range(len(v_t))
        for j in range(len(n_t))
        if v_key[i] == n_key[j] and abs(v_t[i] - n_t[j]) <= window_s
    )
    out, used_v, used_n = [-1] * len(v_t), set(), set()
    for _, i, j in pairs:
        if i not in used_v and j not in used_n:
            out[i] = j
            used_v.add(i)
            used_n.add(j)
    return out, [gap for gap, _, _ in pairs]


records = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 6 * 3600)), min_size=0, max_size=20)


@settings(max_examples=150, deadline=None)
@given(visits=records, notes=records)
def test_matching_is_the_greedy_matching(visits, notes) -> None:  # type: ignore[no-untyped-def]
    """Without tied time differences the result equals the ascending-difference greedy."""
    v_key = np.array([k for k, _ in visits], dtype=np.int64)
    v_t = np.array([t for _, t in visits], dtype=np.float64)
    n_key = np.array([k for k, _ in notes], dtype=np.int64)
    n_t = np.array([t for _, t in notes], dtype=np.float64)
    expected, gaps = greedy(v_key, v_t, n_key, n_t, WINDOW_S)
    assume(len(set(gaps)) == len(gaps))
    got = match_notes(v_key, v_t, n_key, n_t, window_s=WINDOW_S)
    assert got.tolist() == expected


@settings(max_examples=150, deadline=None)
@given(visits=records, notes=records)
def test_matching_is_one_to_one_in_window_and_maximal(visits, notes) -> None:  # type: ignore[no-untyped-def]
    """Even with ties: each note used once, same key, within window, nothing left matchable."""
    v_key = np.array([k for k, _ in visits], dtype=np.int64)
    v_t = np.array([t for _, t in visits], dtype=np.float64)
    n_key = np.array([k for k, _ in notes], dtype=np.int64)
    n_t = np.array([t for _, t in notes], dtype=np.float64)
    got = match_notes(v_key, v_t, n_key, n_t, window_s=WINDOW_S)
    used = got[got >= 0]
    assert len(set(used.tolist())) == len(used)
    for i, j in enumerate(got):
        if j >= 0:
            assert v_key[i] == n_key[j] and abs(v_t[i] - n_t[j]) <= WINDOW_S
    free_notes = set(range(len(n_t))) - set(used.tolist())
    for i in np.flatnonzero(got < 0):
        assert not any(
            n_key[j] == v_key[i] and abs(n_t[j] - v_t[i]) <= WINDOW_S for j in free_notes
        )


def test_missing_starts_and_keys_never_match() -> None:
    """A NaN start or a negative key (unknown person or carer) never matches."""
    got = match_notes(
        np.array([0, -1, 0]),
        np.array([0.0, 0.0, np.nan]),
        np.array([0, -1, 0]),
        np.array([60.0, 0.0, 0.0]),
        window_s=WINDOW_S,
    )
    assert got.tolist() == [2, -1, -1]
