"""PyVRP on a VRPLIB VRPTW instance, DIMACS convention (all quantities in tenths)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

from benchmarks.instances import VrptwInstance, routes_distance_x10

from .result import BaselineResult


def vrptw_problem_data(instance: VrptwInstance) -> pyvrp.ProblemData:
    """Build PyVRP data: distances, durations, windows and service times scaled by 10."""
    distance_x10: Any = instance.distance_matrix_x10()
    locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in instance.coords]
    depot = pyvrp.Depot(
        location=0,
        tw_early=int(instance.tw_early[0]) * 10,
        tw_late=int(instance.tw_late[0]) * 10,
    )
    clients = [
        pyvrp.Client(
            location=i,
            delivery=[int(instance.demand[i])],
            service_duration=int(instance.service_time[i]) * 10,
            tw_early=int(instance.tw_early[i]) * 10,
            tw_late=int(instance.tw_late[i]) * 10,
        )
        for i in range(1, len(instance.coords))
    ]
    vehicle_type = pyvrp.VehicleType(
        num_available=instance.num_vehicles,
        capacity=[instance.capacity],
        tw_early=int(instance.tw_early[0]) * 10,
        tw_late=int(instance.tw_late[0]) * 10,
    )
    return pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[depot],
        vehicle_types=[vehicle_type],
        distance_matrices=[distance_x10],
        duration_matrices=[distance_x10.copy()],
    )


def solve_vrptw_pyvrp(instance: VrptwInstance, *, time_limit_s: float, seed: int) -> BaselineResult:
    """Solve with PyVRP's default iterated local search for ``time_limit_s`` seconds.

    Parameters
    ----------
    instance
        The VRPTW instance.
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.

    Returns
    -------
    BaselineResult
        Best routes found; ``distance_x10`` is recomputed from them.
    """
    data = vrptw_problem_data(instance)
    started = time.perf_counter()
    result = pyvrp.solve(
        data, stop=MaxRuntime(time_limit_s), seed=seed, collect_stats=False, display=False
    )
    runtime_s = time.perf_counter() - started
    # Activity indices count clients from 0; client k is node k + 1 (node 0 is the depot).
    routes = [
        [a.idx + 1 for a in route.schedule() if a.is_client()] for route in result.best.routes()
    ]
    distance_x10 = routes_distance_x10(np.asarray(data.distance_matrix(0)), routes)
    return BaselineResult(
        routes=routes,
        distance_x10=distance_x10,
        is_feasible=bool(result.best.is_feasible()),
        runtime_s=runtime_s,
    )
