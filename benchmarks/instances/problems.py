"""Turn benchmark instances into the solver's ``Problem`` and read its answers back.

VRPTW (Solomon): one "second" of the solver is a tenth of an instance unit (DIMACS), so
``travel_s`` is the truncated distance matrix in tenths; every vehicle is a carer starting and
ending at the depot; the window on the start of service [e, l] becomes a visit window
[e, l + service]; demand and capacity become ``load_units`` / ``capacity_units`` (also
returned alongside, for engines that take them as arrays).

Mankowska: times are scaled by ``MANKOWSKA_SCALE`` and rounded up, so a schedule that is
feasible for the solver is feasible in the instance's own units; each service is a visit, the
two services of a double-service patient share a ``sync_group`` (the first service, the lower
index, first), qualifications become skills, and the objective weights reproduce
(travel + total tardiness + max tardiness) / 3 up to the constant factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver import HORIZON_S, Carer, Objective, Problem, Solution, Visit

from .mankowska import MankowskaInstance, ServiceVisit
from .vrplib import IntArray, VrptwInstance

MANKOWSKA_OBJECTIVE = Objective(
    travel_weight=1,
    waiting_weight=0,
    lateness_weight=1,
    max_lateness_weight=1,
    hard_windows=False,
)
"""Mankowska's objective in solver terms: travel + total lateness + largest lateness."""

MANKOWSKA_SCALE = 100
"""Solver seconds per Mankowska time unit."""


@dataclass(frozen=True)
class VrptwProblem:
    """A Solomon instance as a ``Problem``, with its loads and capacities as arrays."""

    problem: Problem
    load_units: IntArray
    capacity_units: IntArray


def vrptw_problem(instance: VrptwInstance) -> VrptwProblem:
    """Build the solver problem for a VRPTW instance (distance-only objective, hard windows)."""
    distance_x10 = instance.distance_matrix_x10()
    visits = tuple(
        Visit(
            location=node,
            window_start_s=int(instance.tw_early[node]) * 10,
            window_end_s=int(instance.tw_late[node] + instance.service_time[node]) * 10,
            duration_s=int(instance.service_time[node]) * 10,
            load_units=int(instance.demand[node]),
        )
        for node in range(1, len(instance.coords))
    )
    carer = Carer(
        provider=0,
        start_location=0,
        end_location=0,
        shift_start_s=int(instance.tw_early[0]) * 10,
        shift_end_s=int(instance.tw_late[0]) * 10,
        capacity_units=instance.capacity,
    )
    problem = Problem(
        visits=visits,
        carers=(carer,) * instance.num_vehicles,
        travel_s=(distance_x10,),
        distance_m=(distance_x10,),
        objective=Objective(travel_weight=1, waiting_weight=0),
    )
    return VrptwProblem(
        problem=problem,
        load_units=instance.demand[1:].copy(),
        capacity_units=np.full(instance.num_vehicles, instance.capacity, dtype=np.int64),
    )


def vrptw_routes(solution: Solution) -> list[list[int]]:
    """Customer routes (node = visit + 1) of the non-empty rounds of a solver solution."""
    return [[v + 1 for v in route.visits] for route in solution.routes if route.visits]


@dataclass(frozen=True)
class MankowskaProblem:
    """A Mankowska instance as a ``Problem``; ``services[v]`` is visit v's (node, service)."""

    problem: Problem
    services: tuple[tuple[int, int], ...]


def _up(value: float) -> int:
    # Round up, ignoring float noise below 1e-6 of a solver second.
    return math.ceil(value * MANKOWSKA_SCALE - 1e-6)


def mankowska_problem(instance: MankowskaInstance) -> MankowskaProblem:
    """Build the solver problem for a Mankowska instance (soft windows, double-ups synced)."""
    travel_s = np.array([[_up(d) for d in row] for row in instance.travel.tolist()], dtype=np.int64)
    visits: list[Visit] = []
    services: list[tuple[int, int]] = []
    for node in instance.patients:
        needed = instance.services_of(node)
        group = node if len(needed) == 2 else -1
        for service in needed:
            # Durations do not differ by carer in these instances; the slowest carer is used.
            duration_s = _up(float(instance.processing[node, :, service].max()))
            latest_start_s = round(float(instance.tw_late[node]) * MANKOWSKA_SCALE)
            visits.append(
                Visit(
                    location=node,
                    window_start_s=_up(float(instance.tw_early[node])),
                    window_end_s=min(latest_start_s + duration_s, HORIZON_S),
                    duration_s=duration_s,
                    skills=frozenset({f"service{service}"}),
                    sync_group=group,
                    sync_min_gap_s=_up(float(instance.min_gap[node])) if group >= 0 else 0,
                    sync_max_gap_s=(
                        math.floor(float(instance.max_gap[node]) * MANKOWSKA_SCALE + 1e-6)
                        if group >= 0
                        else 0
                    ),
                )
            )
            services.append((node, service))
    carers = tuple(
        Carer(
            provider=0,
            start_location=0,
            end_location=instance.end_depot,
            shift_start_s=0,
            shift_end_s=HORIZON_S,
            skills=frozenset(
                f"service{s}" for s in np.flatnonzero(instance.qualified[carer]).tolist()
            ),
        )
        for carer in range(instance.num_carers)
    )
    problem = Problem(
        visits=tuple(visits),
        carers=carers,
        travel_s=(travel_s,),
        distance_m=(travel_s,),
        objective=MANKOWSKA_OBJECTIVE,
    )
    return MankowskaProblem(problem=problem, services=tuple(services))


def mankowska_schedule(converted: MankowskaProblem, solution: Solution) -> list[list[ServiceVisit]]:
    """The solver's rounds and start times as a Mankowska schedule (instance time units)."""
    return [
        [
            ServiceVisit(*converted.services[v], start=start / MANKOWSKA_SCALE)
            for v, start in zip(route.visits, route.start_s, strict=True)
        ]
        for route in solution.routes
    ]
