"""Plain OR-Tools routing on a VRPTW instance: parallel cheapest insertion + guided local search.

Same DIMACS integers as the other engines (tenths); the objective is distance only.
"""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from benchmarks.instances import VrptwInstance, routes_distance_x10

from .result import BaselineResult


def solve_vrptw_ortools(instance: VrptwInstance, *, time_limit_s: float) -> BaselineResult:
    """Solve with OR-Tools' routing library for ``time_limit_s`` seconds.

    Parameters
    ----------
    instance
        The VRPTW instance.
    time_limit_s
        Wall-clock budget for the search.

    Returns
    -------
    BaselineResult
        Routes found (empty and infeasible if OR-Tools finds no solution).
    """
    distance_x10 = instance.distance_matrix_x10()
    n = len(distance_x10)
    service_x10 = instance.service_time * 10
    # Time to leave i and reach j: service at i, then travel.
    transit_time_x10 = distance_x10 + service_x10[:, None]
    horizon_x10 = int(instance.tw_late[0]) * 10

    manager = pywrapcp.RoutingIndexManager(n, instance.num_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    distance_cb = routing.RegisterTransitMatrix(distance_x10.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(distance_cb)
    demand_cb = routing.RegisterUnaryTransitVector([int(q) for q in instance.demand])
    routing.AddDimension(demand_cb, 0, instance.capacity, True, "load")
    time_cb = routing.RegisterTransitMatrix(transit_time_x10.tolist())
    routing.AddDimension(time_cb, horizon_x10, horizon_x10, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(
            int(instance.tw_early[node]) * 10, int(instance.tw_late[node]) * 10
        )
    for vehicle in range(instance.num_vehicles):
        time_dim.CumulVar(routing.Start(vehicle)).SetRange(
            int(instance.tw_early[0]) * 10, horizon_x10
        )
        time_dim.CumulVar(routing.End(vehicle)).SetRange(
            int(instance.tw_early[0]) * 10, horizon_x10
        )

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))

    started = time.perf_counter()
    assignment = routing.SolveWithParameters(params)
    runtime_s = time.perf_counter() - started
    if assignment is None:
        return BaselineResult(routes=[], distance_x10=0, is_feasible=False, runtime_s=runtime_s)
    routes: list[list[int]] = []
    for vehicle in range(instance.num_vehicles):
        index = assignment.Value(routing.NextVar(routing.Start(vehicle)))
        route: list[int] = []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return BaselineResult(
        routes=routes,
        distance_x10=routes_distance_x10(distance_x10, routes),
        is_feasible=True,
        runtime_s=runtime_s,
    )
