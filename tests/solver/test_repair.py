"""Cross-part repair: left-out calls inserted only where rounds stay feasible; ejections."""

from __future__ import annotations

import time

import numpy as np

from solver import Carer, Problem, Visit, evaluate_rounds
from solver._precheck import precheck
from solver._repair import repair

H = 3600


def street_matrix(n_locations: int, *, step_s: int = 300) -> np.ndarray:
    """Travel seconds between houses numbered along one street, ``step_s`` apart."""
    pos = np.arange(n_locations)
    return np.abs(pos[:, None] - pos[None, :]) * step_s


def _repaired(problem: Problem, rounds: list[list[int]]):
    """Run repair from ``rounds`` (the other calls left out) and cost the result."""
    start = evaluate_rounds(problem, rounds)
    feasible = precheck(problem)[1]
    new_rounds, starts, departs = repair(
        problem, start, feasible, deadline=time.perf_counter() + 60
    )
    return evaluate_rounds(problem, new_rounds, start_s=starts, depart_s=departs)


def test_repair_respects_working_hours_cap() -> None:
    """An early call is not added to a capped carer's evening round, but to the free carer."""
    visits = (
        Visit(1, 17 * H, 19 * H, 1800),
        Visit(2, 17 * H, 19 * H, 1800),
        Visit(1, 8 * H, 9 * H, 1800),  # left out
    )
    carers = (
        Carer(0, 0, 0, 7 * H, 22 * H, max_work_s=6 * H),
        Carer(0, 10, 10, 7 * H, 12 * H),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(12, step_s=60))
    sol = _repaired(problem, [[0, 1], []])
    assert sol.carer_of(3).tolist() == [0, 0, 1]
    for r in sol.routes:
        assert r.return_s - r.depart_s <= problem.carers[r.carer].work_cap_s


def test_repair_ejects_a_flexible_call_to_make_room() -> None:
    """A tight call takes a flexible call's place; the flexible call moves to another round."""
    visits = (
        Visit(1, 8 * H, 12 * H, H),  # flexible, in carer 0's round
        Visit(1, 8 * H, 9 * H + 300, H),  # tight, left out: only carer 0 reaches it in time
    )
    carers = (
        Carer(0, 0, 0, 8 * H, 9 * H + 600),  # room for one call
        Carer(0, 20, 20, 9 * H, 12 * H),  # starts too late and too far for the tight call
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(21, step_s=60))
    sol = _repaired(problem, [[0], []])
    assert not sol.unserved
    assert sol.carer_of(2).tolist() == [1, 0]
    assert sol.total.lateness_s == 0
    for r in sol.routes:
        assert r.return_s <= problem.carers[r.carer].shift_end_s


def test_repair_places_double_up_on_two_carers_together() -> None:
    """A left-out double-up goes in as a pair, both halves starting together."""
    visits = (
        Visit(1, 8 * H, 10 * H, 1800),
        Visit(3, 9 * H, 11 * H, 1800, sync_group=0),
        Visit(3, 9 * H, 11 * H, 1800, sync_group=0),
    )
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 5, 5, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(6, step_s=60))
    sol = _repaired(problem, [[0], []])
    assert not sol.unserved
    carer_of, start_of = sol.carer_of(3), sol.start_of(3)
    assert carer_of[1] != carer_of[2]
    assert start_of[1] == start_of[2]
    assert sol.sync_violations == 0
