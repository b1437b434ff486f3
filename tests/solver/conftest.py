"""Tiny named solver fixtures: homes on one street, carers at its ends."""

from __future__ import annotations

import numpy as np
import pytest

from solver import Carer, Problem, Visit

H = 3600


def street_matrix(n_locations: int, *, step_s: int = 300) -> np.ndarray:
    """Travel seconds between houses numbered along one street, ``step_s`` apart."""
    pos = np.arange(n_locations)
    return np.abs(pos[:, None] - pos[None, :]) * step_s


@pytest.fixture
def one_street_two_carers() -> Problem:
    """Four morning calls on one street, two carers of different providers at location 0."""
    visits = tuple(
        Visit(
            location=loc,
            window_start_s=8 * H,
            window_end_s=11 * H,
            duration_s=1800,
            provider=0,
            carer=0,
            service_user=loc,
        )
        for loc in (1, 2, 3, 4)
    )
    carers = (
        Carer(
            provider=0, start_location=0, end_location=0, shift_start_s=7 * H, shift_end_s=14 * H
        ),
        Carer(
            provider=1, start_location=0, end_location=0, shift_start_s=7 * H, shift_end_s=14 * H
        ),
    )
    return Problem(visits=visits, carers=carers, travel_s=street_matrix(6))


@pytest.fixture
def double_up_on_street() -> Problem:
    """A hoist double-up at house 3 plus two single calls; three carers, two with a hoist."""
    visits = (
        Visit(
            location=3,
            window_start_s=9 * H,
            window_end_s=10 * H,
            duration_s=1800,
            skills=frozenset({"hoist"}),
            sync_group=0,
            sync_min_gap_s=0,
            sync_max_gap_s=0,
        ),
        Visit(
            location=3,
            window_start_s=9 * H,
            window_end_s=10 * H,
            duration_s=1800,
            skills=frozenset({"hoist"}),
            sync_group=0,
            sync_min_gap_s=0,
            sync_max_gap_s=0,
        ),
        Visit(location=1, window_start_s=8 * H, window_end_s=9 * H, duration_s=1800),
        Visit(location=5, window_start_s=8 * H, window_end_s=9 * H + 1800, duration_s=1800),
    )
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, skills=frozenset({"hoist"})),
        Carer(0, 6, 6, 7 * H, 14 * H, skills=frozenset({"hoist"})),
        Carer(1, 0, 0, 7 * H, 14 * H),
    )
    return Problem(visits=visits, carers=carers, travel_s=street_matrix(7))
