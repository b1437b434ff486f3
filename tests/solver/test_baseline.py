"""Costing given rounds: travel, waiting, contact, lateness, utilisation per carer and total."""

from __future__ import annotations

import pytest

from solver import (
    Carer,
    InvalidRoundsError,
    Problem,
    Unserved,
    UnservedReason,
    Visit,
    evaluate_rounds,
    today_rounds,
)
from tests.solver.conftest import H, street_matrix

STREET = street_matrix(5, step_s=600)


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


def three_calls_one_carer() -> Problem:
    """Calls at houses 1, 2 and 3, morning windows, one carer from house 0; the third needs a hoist."""
    visits = (
        Visit(1, 8 * H, 11 * H, 1800),
        Visit(2, 8 * H, 11 * H, 1800),
        Visit(3, 8 * H, 11 * H, 1800, skills=frozenset({"hoist"})),
    )
    return Problem(visits=visits, carers=(Carer(0, 0, 0, 7 * H, 14 * H),), travel_s=STREET)


def test_reason_for_a_routed_call_is_refused() -> None:
    """A reason given for a call in a round raises, naming the visit and its carer."""
    problem = two_calls_one_carer()
    given = [Unserved(0, UnservedReason.NOT_SCHEDULED)]
    with pytest.raises(InvalidRoundsError, match="visit 0, which is in carer 0's round"):
        evaluate_rounds(problem, [[0]], unserved=given)
    with pytest.raises(InvalidRoundsError, match="visit 1, which is in carer 0's round"):
        evaluate_rounds(problem, [[0, 1]], unserved=[Unserved(1, UnservedReason.NOT_SCHEDULED)])


def test_reason_for_an_unknown_call_is_refused() -> None:
    """A reason given for a visit the problem does not have raises InvalidRoundsError."""
    with pytest.raises(InvalidRoundsError, match="visit 5, which does not exist"):
        evaluate_rounds(
            two_calls_one_carer(), [[0]], unserved=[Unserved(5, UnservedReason.NOT_SCHEDULED)]
        )


def test_every_left_out_call_gets_one_reason_however_many_are_given() -> None:
    """Given reasons stand; other left-out calls get the pre-check reason or NOT_SCHEDULED."""
    problem = three_calls_one_carer()
    given = Unserved(0, UnservedReason.PROVIDER_CHANGE_CAP, "cap")
    sol = evaluate_rounds(problem, [[]], unserved=[given, given])
    assert sol.unserved == (
        given,
        Unserved(1, UnservedReason.NOT_SCHEDULED),
        sol.unserved[2],
    )
    assert sol.unserved[2].reason == UnservedReason.NO_ELIGIBLE_CARER
    sol = evaluate_rounds(problem, [[1]], unserved=[given])
    assert [u.visit for u in sol.unserved] == [0, 2]
    assert sol.unserved[1].reason == UnservedReason.NO_ELIGIBLE_CARER
    routed = {i for r in sol.routes for i in r.visits}
    assert routed.isdisjoint(u.visit for u in sol.unserved)
    assert routed | {u.visit for u in sol.unserved} == {0, 1, 2}
