"""The paired-run county benchmark's split of travel into home legs and the drive between calls."""

from __future__ import annotations

from benchmarks.bench_county_seeds import home_legs_s
from solver import Carer, Problem, Visit, evaluate_rounds
from tests.solver.conftest import H, street_matrix

STREET = street_matrix(6, step_s=600)


def test_home_legs_by_hand() -> None:
    """From house 0 to calls at 2 and 3 and home to 5: 20 + 20 minutes of home legs out of 50;
    an idle carer adds none."""
    visits = (
        Visit(2, 8 * H, 9 * H, 1800, provider=0),
        Visit(3, 10 * H, 11 * H, 1800, provider=0),
    )
    carers = (Carer(0, 0, 5, 7 * H, 14 * H), Carer(0, 4, 4, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=STREET)
    sol = evaluate_rounds(problem, [[0, 1], []])
    assert home_legs_s(problem, sol) == 2 * 1200
    assert sol.total.travel_s == 5 * 600
