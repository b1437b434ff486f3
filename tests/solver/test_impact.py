"""Impact: hours, travel, moves and money re-derived from the two sets of rounds."""

from __future__ import annotations

import numpy as np
import pytest

from solver import Carer, Problem, Visit, evaluate_rounds
from solver.impact import METRES_PER_MILE, SavingsRates, impact

H = 3600


def criss_crossing_providers() -> Problem:
    """Two providers whose carers each cross the street to the other's end."""
    pos = np.arange(8)
    travel = np.abs(pos[:, None] - pos[None, :]) * 600
    distance = np.abs(pos[:, None] - pos[None, :]) * 8000
    visits = (
        Visit(1, 8 * H, 12 * H, 1800, provider=0, carer=0, service_user=0),
        Visit(6, 8 * H, 12 * H, 1800, provider=0, carer=0, service_user=1),
        Visit(2, 8 * H, 12 * H, 1800, provider=1, carer=1, service_user=2),
        Visit(7, 8 * H, 12 * H, 1800, provider=1, carer=1, service_user=3),
    )
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(1, 7, 7, 7 * H, 14 * H))
    return Problem(visits=visits, carers=carers, travel_s=travel, distance_m=distance)


def test_impact_figures_follow_from_the_rounds() -> None:
    """Hours freed, miles, moves and premiums match a hand derivation from the two solutions."""
    problem = criss_crossing_providers()
    before = evaluate_rounds(problem, [[0, 1], [2, 3]])
    after = evaluate_rounds(problem, [[0, 2], [1, 3]])
    rates = SavingsRates(package_hours_per_week=2.0, days_per_week=5)
    result = impact(problem, before, after, rates)

    idle = lambda s: s.total.travel_s + s.total.waiting_s  # noqa: E731
    freed = (idle(before) - idle(after)) * 5 / 3600
    miles = (before.total.distance_m - after.total.distance_m) * 5 / METRES_PER_MILE
    o = result.overall
    assert o.hours_freed_per_week == pytest.approx(freed)
    assert freed > 0
    assert o.miles_saved_per_week == pytest.approx(miles)
    assert o.mileage_saved_gbp_per_week == pytest.approx(miles * 0.45)
    assert o.visits_moved == 2
    assert o.people_changing_provider == 2
    assert o.people_changing_carer == 2
    assert o.packages_absorbed == int(freed // 2.0)
    assert o.bridging_premium_avoided_gbp_per_week == pytest.approx(o.packages_absorbed * 2.0 * 10)
    assert o.interim_premium_avoided_gbp_per_week == pytest.approx(o.packages_absorbed * 2.0 * 2)
    assert sum(p.visits_moved for p in result.providers) == o.visits_moved
    assert sum(p.hours_freed_per_week for p in result.providers) == pytest.approx(freed)


def test_no_change_no_impact() -> None:
    """Comparing rounds with themselves gives zero on every figure."""
    problem = criss_crossing_providers()
    same = evaluate_rounds(problem, [[0, 1], [2, 3]])
    o = impact(problem, same, same).overall
    assert (o.hours_freed_per_week, o.miles_saved_per_week, o.visits_moved) == (0, 0, 0)
    assert o.packages_absorbed == 0


def test_rates_validate() -> None:
    """A negative rate or an empty package size is refused."""
    with pytest.raises(ValueError, match="mileage_gbp_per_mile"):
        SavingsRates(mileage_gbp_per_mile=-1)
    with pytest.raises(ValueError, match="package_hours_per_week"):
        SavingsRates(package_hours_per_week=0)
