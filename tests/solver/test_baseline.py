"""Costing given rounds: travel, waiting, contact, lateness, utilisation per carer and total."""

from __future__ import annotations

import numpy as np
import pytest

from solver import Carer, InvalidRoundsError, Problem, Visit, evaluate_rounds, today_rounds

H = 3600
STREET = np.abs(np.arange(5)[:, None] - np.arange(5)[None, :]) * 600


def two_calls_one_carer() -> Problem:
    """Calls at houses 1 (08:00-09:00) and 3 (10:00-11:00) in one carer's round from house 0."""
    visits = (
        Visit(1, 8 * H, 9 * H, 1800, carer=0, provider=0, service_user=0),
        Visit(3, 10 * H, 11 * H, 1800, carer=0, provider=0, service_user=1),
    )
    return Problem(visits=visits, carers=(Carer(0, 0, 0, 7 * H, 14 * H),), travel_s=STREET)


def test_round_figures_by_hand() -> None:
    """Leave as late as helps (08:20), serve 08:30 and 10:00, home 11:00; wait 40 minutes."""
    sol = evaluate_rounds(two_calls_one_carer(), [[0, 1]])
    r, c = sol.routes[0], sol.costs[0]
    assert r.depart_s == 8 * H + 1200
    assert r.start_s == (8 * H + 1800, 10 * H)
    assert r.return_s == 10 * H + 1800 + 1800
    assert (c.travel_s, c.waiting_s, c.contact_s, c.lateness_s) == (3600, 2400, 3600, 0)
    assert c.span_s == c.travel_s + c.waiting_s + c.contact_s
    assert c.utilisation == pytest.approx(3600 / c.span_s)
    assert sol.cost == 10 * 3600 + 1 * 2400


def test_lateness_when_order_is_wrong() -> None:
    """Serving the 10:00 call first makes the 08:00 call late, and the figures say by how much."""
    sol = evaluate_rounds(two_calls_one_carer(), [[1, 0]])
    late = sol.routes[0].start_s[1] - (9 * H - 1800)
    assert late > 0
    assert sol.total.lateness_s == late == sol.total.max_lateness_s


def test_left_out_calls_are_reported() -> None:
    """A call in no round appears in unserved with a reason."""
    sol = evaluate_rounds(two_calls_one_carer(), [[0]])
    assert [u.visit for u in sol.unserved] == [1]


def test_rounds_must_match_carers_and_not_repeat() -> None:
    """Wrong number of rounds, unknown or repeated visits raise InvalidRoundsError."""
    problem = two_calls_one_carer()
    with pytest.raises(InvalidRoundsError, match="Expected 1 rounds"):
        evaluate_rounds(problem, [[0], [1]])
    with pytest.raises(InvalidRoundsError, match="visit 0 appears"):
        evaluate_rounds(problem, [[0, 0]])
    with pytest.raises(InvalidRoundsError, match="visit 7 does not exist"):
        evaluate_rounds(problem, [[7]])


def test_today_rounds_orders_by_window() -> None:
    """Today's rounds come from the visits' carer fields, in window order."""
    assert today_rounds(two_calls_one_carer()) == ((0, 1),)
