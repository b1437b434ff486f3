"""What a proposal changes against today's rounds: hours freed, travel, moves, money.

Every figure is a plain function of two ``Solution`` objects for the same ``Problem`` and a
``SavingsRates``; ``impact`` shows the formula next to each field so it can be re-derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from solver.problem import Problem
from solver.solution import Solution

METRES_PER_MILE = 1609.344


@dataclass(frozen=True)
class SavingsRates:
    """Every rate behind a savings figure, with its source; override any of them.

    Attributes
    ----------
    interim_premium_gbp_per_hour
        Extra cost of interim care over long-term homecare. Default £2/h: "at least £2/hour
        dearer" (Cambridgeshire paper, DOMAIN.md).
    bridging_premium_gbp_per_hour
        Extra cost of reablement bridging. Default £10/h: "at least £10/hour dearer"
        (~£35/h vs ~£17-18/h; Cambridgeshire paper, DOMAIN.md).
    mileage_gbp_per_mile
        Default 45p/mile: HMRC approved mileage allowance (DOMAIN.md).
    package_hours_per_week
        Size of a typical waiting-list package. Default 14.5 h: midpoint of the 12-17 h per
        person per week in DOMAIN.md.
    days_per_week
        The planning day stands for this many days of the week. Default 7 (home care runs
        every day).
    """

    interim_premium_gbp_per_hour: float = 2.0
    bridging_premium_gbp_per_hour: float = 10.0
    mileage_gbp_per_mile: float = 0.45
    package_hours_per_week: float = 14.5
    days_per_week: float = 7.0

    def __post_init__(self) -> None:
        for name in (
            "interim_premium_gbp_per_hour",
            "bridging_premium_gbp_per_hour",
            "mileage_gbp_per_mile",
            "days_per_week",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Expected {name} >= 0.")
        if self.package_hours_per_week <= 0:
            raise ValueError("Expected package_hours_per_week > 0.")


@dataclass(frozen=True)
class ProviderImpact:
    """Before/after figures for one provider's carers (``provider`` -1 for the whole day).

    Attributes
    ----------
    hours_freed_per_week
        ((travel + waiting) before − after) of these carers, per day, × days_per_week / 3600.
    travel_saved_hours_per_week, miles_saved_per_week
        (travel before − after) × days_per_week, in hours and in miles.
    contact_hours_change_per_week
        (contact after − before) × days_per_week / 3600: more calls served shows here.
    visits_moved
        Calls served both times, by a different carer, counted against the provider that
        had them before.
    people_changing_provider, people_changing_carer
        Service users with a call now served by another provider / another carer.
    packages_absorbed
        floor(max(hours_freed_per_week, 0) / package_hours_per_week).
    mileage_saved_gbp_per_week
        miles_saved_per_week × mileage_gbp_per_mile.
    interim_premium_avoided_gbp_per_week, bridging_premium_avoided_gbp_per_week
        packages_absorbed × package_hours_per_week × premium, if the absorbed people come
        out of interim care / bridging.
    """

    provider: int
    hours_freed_per_week: float
    travel_saved_hours_per_week: float
    miles_saved_per_week: float
    contact_hours_change_per_week: float
    visits_moved: int
    people_changing_provider: int
    people_changing_carer: int
    packages_absorbed: int
    mileage_saved_gbp_per_week: float
    interim_premium_avoided_gbp_per_week: float
    bridging_premium_avoided_gbp_per_week: float


@dataclass(frozen=True)
class Impact:
    """Per-provider and overall impact of moving from ``before`` to ``after``."""

    overall: ProviderImpact
    providers: tuple[ProviderImpact, ...]
    calls_served_before: int
    calls_served_after: int
    rates: SavingsRates = field(default_factory=SavingsRates)


def _figures(
    provider: int,
    keep: np.ndarray,
    before: Solution,
    after: Solution,
    moved: int,
    people_provider: int,
    people_carer: int,
    rates: SavingsRates,
) -> ProviderImpact:
    def total(sol: Solution, name: str) -> int:
        return int(sum(getattr(c, name) for c, k in zip(sol.costs, keep, strict=True) if k))

    days = rates.days_per_week
    idle = lambda s: total(s, "travel_s") + total(s, "waiting_s")  # noqa: E731
    freed_h = (idle(before) - idle(after)) * days / 3600
    travel_h = (total(before, "travel_s") - total(after, "travel_s")) * days / 3600
    miles = (total(before, "distance_m") - total(after, "distance_m")) * days / METRES_PER_MILE
    contact_h = (total(after, "contact_s") - total(before, "contact_s")) * days / 3600
    packages = int(max(freed_h, 0.0) // rates.package_hours_per_week)
    package_hours = packages * rates.package_hours_per_week
    return ProviderImpact(
        provider=provider,
        hours_freed_per_week=freed_h,
        travel_saved_hours_per_week=travel_h,
        miles_saved_per_week=miles,
        contact_hours_change_per_week=contact_h,
        visits_moved=moved,
        people_changing_provider=people_provider,
        people_changing_carer=people_carer,
        packages_absorbed=packages,
        mileage_saved_gbp_per_week=miles * rates.mileage_gbp_per_mile,
        interim_premium_avoided_gbp_per_week=package_hours * rates.interim_premium_gbp_per_hour,
        bridging_premium_avoided_gbp_per_week=package_hours * rates.bridging_premium_gbp_per_hour,
    )


def impact(
    problem: Problem,
    before: Solution,
    after: Solution,
    rates: SavingsRates | None = None,
) -> Impact:
    """Compare two sets of rounds for the same day, per provider and overall.

    Parameters
    ----------
    problem
        The planning day both solutions belong to.
    before, after
        Usually ``evaluate_rounds(problem, today_rounds(problem))`` and ``reallocate(...)``.
    rates
        Savings rates; defaults to ``SavingsRates()`` (sources in its docstring).

    Returns
    -------
    Impact
        Figures per provider (its carers' rounds, and moves of people it served before)
        and for the whole day. Miles are zero when the problem has no distance matrices.
    """
    rates = rates or SavingsRates()
    n = problem.num_visits
    carer_provider = np.array([c.provider for c in problem.carers] + [-1], dtype=np.int64)
    c_before, c_after = before.carer_of(n), after.carer_of(n)
    p_before, p_after = carer_provider[c_before], carer_provider[c_after]
    users = np.array(
        [v.service_user if v.service_user >= 0 else -1 - i for i, v in enumerate(problem.visits)]
    )
    served_both = (c_before >= 0) & (c_after >= 0)
    moved = served_both & (c_before != c_after)
    provider_moved = served_both & (p_before != p_after)

    def people(mask: np.ndarray) -> int:
        return int(np.unique(users[mask]).size)

    rows = []
    for p in range(problem.num_providers):
        keep = carer_provider[:-1] == p
        mine = p_before == p
        rows.append(
            _figures(
                p,
                keep,
                before,
                after,
                int((moved & mine).sum()),
                people(provider_moved & mine),
                people(moved & mine),
                rates,
            )
        )
    overall = _figures(
        -1,
        np.ones(problem.num_carers, dtype=bool),
        before,
        after,
        int(moved.sum()),
        people(provider_moved),
        people(moved),
        rates,
    )
    return Impact(
        overall=overall,
        providers=tuple(rows),
        calls_served_before=before.total.visits,
        calls_served_after=after.total.visits,
        rates=rates,
    )
