"""Problem model: validation names the bad field and index; derived arrays are right."""

from __future__ import annotations

import numpy as np
import pytest

from solver import Carer, Objective, Policy, Problem, Visit
from tests.solver.conftest import H, street_matrix

STREET = street_matrix(4)


def test_visit_rejects_negative_duration() -> None:
    """A negative duration is refused with the house-style message."""
    with pytest.raises(ValueError, match=r"Expected duration_s >= 0\."):
        Visit(1, 8 * H, 9 * H, -1)


def test_visit_rejects_inverted_window_and_band() -> None:
    """A window ending before it starts, or a start-gap band upside down, is refused."""
    with pytest.raises(ValueError, match="window_end_s >= window_start_s"):
        Visit(1, 9 * H, 8 * H, 1800)
    with pytest.raises(ValueError, match="sync_min_gap_s <= sync_max_gap_s"):
        Visit(1, 8 * H, 9 * H, 1800, sync_group=0, sync_min_gap_s=600, sync_max_gap_s=0)


def test_carer_rejects_inverted_shift() -> None:
    """A shift ending before it starts is refused."""
    with pytest.raises(ValueError, match="shift_end_s >= shift_start_s"):
        Carer(0, 0, 0, 14 * H, 7 * H)


def test_problem_names_the_visit_outside_the_matrix() -> None:
    """A visit location beyond the matrix is reported with its index."""
    with pytest.raises(ValueError, match="Visit 1: location 9"):
        Problem(
            visits=(Visit(1, 8 * H, 9 * H, 1800), Visit(9, 8 * H, 9 * H, 1800)),
            carers=(Carer(0, 0, 0, 7 * H, 14 * H),),
            travel_s=STREET,
        )


def test_problem_names_the_carer_with_a_missing_mode() -> None:
    """A carer whose travel mode has no matrix is reported with its index."""
    with pytest.raises(ValueError, match="Carer 1: travel_mode 1"):
        Problem(
            visits=(),
            carers=(Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 0, 0, 7 * H, 14 * H, travel_mode=1)),
            travel_s=STREET,
        )


def test_double_up_needs_exactly_two_visits() -> None:
    """A sync group with three visits is refused, naming the group."""
    v = Visit(1, 8 * H, 9 * H, 1800, sync_group=4)
    with pytest.raises(ValueError, match="Double-up 4: expected exactly two"):
        Problem(visits=(v, v, v), carers=(), travel_s=STREET)


def test_matrix_must_be_square_and_non_negative() -> None:
    """Non-square or negative travel matrices are refused."""
    with pytest.raises(ValueError, match="square"):
        Problem(visits=(), carers=(), travel_s=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        Problem(visits=(), carers=(), travel_s=-np.ones((2, 2)))


def test_objective_needs_travel_weighted_above_waiting() -> None:
    """Waiting weighted above travel is refused (the engine needs travel >= waiting)."""
    with pytest.raises(ValueError, match="travel_weight >= waiting_weight"):
        Objective(travel_weight=1, waiting_weight=2)


def test_compatible_combines_skills_gender_and_eligibility() -> None:
    """A carer is compatible only with the skills, gender and provider rights a call needs."""
    visits = (
        Visit(1, 8 * H, 9 * H, 1800, skills=frozenset({"hoist"})),
        Visit(2, 8 * H, 9 * H, 1800, gender="f"),
        Visit(3, 8 * H, 9 * H, 1800),
    )
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, skills=frozenset({"hoist"}), gender="m"),
        Carer(1, 0, 0, 7 * H, 14 * H, gender="f"),
    )
    eligible = np.array([[True, True, False], [True, True, True]])
    problem = Problem(
        visits=visits, carers=carers, travel_s=STREET, policy=Policy(eligible=eligible)
    )
    assert problem.compatible.tolist() == [[True, False], [False, True], [False, True]]


def test_sync_pairs_and_partner() -> None:
    """Double-up halves are paired first-half-first and point at each other."""
    visits = (
        Visit(1, 8 * H, 9 * H, 1800),
        Visit(2, 8 * H, 9 * H, 1800, sync_group=3),
        Visit(2, 8 * H, 9 * H, 1800, sync_group=3),
    )
    problem = Problem(visits=visits, carers=(), travel_s=STREET)
    assert problem.sync_pairs.tolist() == [[1, 2]]
    assert problem.partner.tolist() == [-1, 2, 1]
