"""One OR-Tools routing model for one (part of a) planning day.

Nodes 0..n-1 are the visits; carer k starts at node n + 2k and ends at node n + 2k + 1.
Travel and service times go in as native transit matrices (no Python callbacks in the
search loop). Double-ups are linked with CP constraints on the time cumuls and vehicle
variables; continuity uses soft same-vehicle constraints with the carer's start node.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver._construct import sync_greedy
from solver.errors import EngineError
from solver.params import ReallocationParams
from solver.problem import HORIZON_S, BoolArray, Problem

_METAHEURISTICS = {
    "guided_local_search": routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH,
    "simulated_annealing": routing_enums_pb2.LocalSearchMetaheuristic.SIMULATED_ANNEALING,
    "tabu_search": routing_enums_pb2.LocalSearchMetaheuristic.TABU_SEARCH,
    "greedy_descent": routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT,
}


@dataclass(frozen=True)
class EngineResult:
    """Rounds and schedule found for one problem."""

    rounds: tuple[tuple[int, ...], ...]
    start_s: dict[int, int]
    depart_s: tuple[int, ...]
    status: str
    wall_s: float


def _initial_routes(
    problem: Problem, initial: Sequence[Sequence[int]], feasible: BoolArray
) -> list[list[int]]:
    """Keep, in order, the initial visits each carer can still serve on time (hard bounds)."""
    latest = _latest(problem)
    routes: list[list[int]] = []
    for k, seq in enumerate(initial):
        carer = problem.carers[k]
        travel = problem.travel_s[carer.travel_mode]
        t, here, kept = carer.shift_start_s, carer.start_location, []
        for i in seq:
            v = problem.visits[i]
            if not feasible[i, k]:
                continue
            start = max(t + int(travel[here, v.location]), v.window_start_s)
            home = start + v.duration_s + int(travel[v.location, carer.end_location])
            if start > latest[i] or home > carer.shift_end_s:
                continue
            if home - carer.shift_start_s > carer.work_cap_s:
                continue
            kept.append(i)
            t, here = start + v.duration_s, v.location
        routes.append(kept)
    return routes


def _latest(problem: Problem) -> np.ndarray:
    obj = problem.objective
    latest = np.array([v.latest_start_s for v in problem.visits], dtype=np.int64)
    if obj.hard_windows:
        return latest
    if obj.max_lateness_s is None:
        return np.full_like(latest, HORIZON_S)
    return np.minimum(latest + obj.max_lateness_s, HORIZON_S)


def solve(
    problem: Problem,
    feasible: BoolArray,
    params: ReallocationParams,
    *,
    time_limit_s: float,
    initial: Sequence[Sequence[int]] | None = None,
    max_provider_changes: int | None = None,
    accept_partial: bool = False,
) -> EngineResult:
    """Solve one routing model; visits with no feasible carer are left out of it.

    Parameters
    ----------
    problem
        The (part of the) day to solve.
    feasible
        Boolean (n_visits, n_carers) from the pre-check; all-False rows are not modelled.
    params
        Search settings (metaheuristic, solution limit).
    time_limit_s
        Budget for this model.
    initial
        Rounds to warm-start from; infeasible parts of them are dropped first.
    max_provider_changes
        Cap on service users changing provider in this model (``None``: no cap).
    accept_partial
        Warm-start even when ``initial`` leaves calls out (local search may add them).
    """
    t0 = time.perf_counter()
    n, m = problem.num_visits, problem.num_carers
    obj, policy = problem.objective, problem.policy
    if m == 0 or not feasible.any():
        return EngineResult(
            tuple(() for _ in range(m)),
            {},
            tuple(c.shift_start_s for c in problem.carers),
            "empty",
            0.0,
        )

    n_nodes = n + 2 * m
    starts = [n + 2 * k for k in range(m)]
    ends = [n + 2 * k + 1 for k in range(m)]
    manager = pywrapcp.RoutingIndexManager(n_nodes, m, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    loc = np.empty(n_nodes, dtype=np.int64)
    loc[:n] = [v.location for v in problem.visits]
    loc[n::2] = [c.start_location for c in problem.carers]
    loc[n + 1 :: 2] = [c.end_location for c in problem.carers]
    service = np.zeros(n_nodes, dtype=np.int64)
    service[:n] = [v.duration_s for v in problem.visits]
    # RegisterTransitMatrix is indexed by node, so node order is what matters here.
    modes = sorted({c.travel_mode for c in problem.carers})
    time_cb: dict[int, int] = {}
    cost_cb: dict[int, int] = {}
    arc_weight = obj.travel_weight - obj.waiting_weight
    for mode in modes:
        travel = problem.travel_s[mode][np.ix_(loc, loc)]
        time_cb[mode] = routing.RegisterTransitMatrix((travel + service[:, None]).tolist())
        cost_cb[mode] = routing.RegisterTransitMatrix((travel * arc_weight).tolist())
    for k, c in enumerate(problem.carers):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[c.travel_mode], k)

    routing.AddDimensionWithVehicleTransits(
        [time_cb[c.travel_mode] for c in problem.carers], HORIZON_S, HORIZON_S, False, "time"
    )
    tdim = routing.GetDimensionOrDie("time")
    if obj.waiting_weight:
        tdim.SetSpanCostCoefficientForAllVehicles(obj.waiting_weight)
    for k, c in enumerate(problem.carers):
        tdim.CumulVar(routing.Start(k)).SetRange(c.shift_start_s, c.shift_end_s)
        tdim.CumulVar(routing.End(k)).SetRange(c.shift_start_s, c.shift_end_s)
        tdim.SetSpanUpperBoundForVehicle(c.work_cap_s, k)
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(k)))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(k)))

    if problem.has_capacity:
        load = [v.load_units for v in problem.visits] + [0] * (2 * m)
        big = sum(load)
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(load),
            0,
            [big if c.capacity_units is None else c.capacity_units for c in problem.carers],
            True,
            "load",
        )

    latest = _latest(problem)
    modelled: BoolArray = np.asarray(feasible.any(axis=1), dtype=bool)
    own_provider_only = max_provider_changes == 0
    providers = np.array([c.provider for c in problem.carers], dtype=np.int64)
    for i, v in enumerate(problem.visits):
        idx = manager.NodeToIndex(i)
        if not modelled[i]:
            routing.ActiveVar(idx).SetValue(0)
            continue
        allowed = feasible[i]
        if own_provider_only and v.provider >= 0:
            allowed = allowed & (providers == v.provider)
        if not allowed.any():
            routing.ActiveVar(idx).SetValue(0)
            continue
        cumul = tdim.CumulVar(idx)
        cumul.SetRange(v.window_start_s, max(v.window_start_s, int(latest[i])))
        if not obj.hard_windows and obj.lateness_weight:
            tdim.SetCumulVarSoftUpperBound(idx, max(0, v.latest_start_s), obj.lateness_weight)
        if not allowed.all():
            # SetAllowedVehiclesForIndex rejects every Python sequence in OR-Tools 9.15.
            routing.VehicleVar(idx).SetValues([-1, *np.flatnonzero(allowed).tolist()])
        routing.AddDisjunction([idx], obj.unserved_penalty)
        routing.AddVariableMinimizedByFinalizer(cumul)
        if policy.carer_change_penalty and v.carer >= 0 and allowed.any():
            # Both on one vehicle (the carer's own start node) or pay the penalty.
            routing.AddSoftSameVehicleConstraint(
                [idx, routing.Start(v.carer)], policy.carer_change_penalty
            )

    for a, b in problem.sync_pairs:
        a, b = int(a), int(b)
        if not (modelled[a] and modelled[b]):
            continue
        ia, ib = manager.NodeToIndex(a), manager.NodeToIndex(b)
        va = problem.visits[a]
        gap = tdim.CumulVar(ib) - tdim.CumulVar(ia)
        solver.Add(gap >= va.sync_min_gap_s)
        solver.Add(gap <= va.sync_max_gap_s)
        solver.Add(
            solver.IsDifferentVar(routing.VehicleVar(ia), routing.VehicleVar(ib))
            >= routing.ActiveVar(ia)
        )

    if not obj.hard_windows and obj.max_lateness_weight:
        # Largest lateness: a slack-only dimension whose cumul climbs past every call's
        # lateness along the route; its global span is the day's maximum lateness.
        routing.AddConstantDimensionWithSlack(0, HORIZON_S, HORIZON_S, True, "late")
        ldim = routing.GetDimensionOrDie("late")
        for i, v in enumerate(problem.visits):
            if modelled[i]:
                idx = manager.NodeToIndex(i)
                solver.Add(ldim.CumulVar(idx) >= tdim.CumulVar(idx) - v.latest_start_s)
        ldim.SetGlobalSpanCostCoefficient(obj.max_lateness_weight)
        for k in range(m):
            routing.AddVariableMinimizedByFinalizer(ldim.CumulVar(routing.End(k)))

    if max_provider_changes is not None and max_provider_changes > 0:
        by_user: dict[tuple[int, int], list[int]] = {}
        for i, v in enumerate(problem.visits):
            if modelled[i] and v.provider >= 0:
                key = (v.service_user, v.provider) if v.service_user >= 0 else (-1 - i, v.provider)
                by_user.setdefault(key, []).append(i)
        moved = []
        for (_, p), members in by_user.items():
            others = np.flatnonzero(providers != p).tolist()
            if not others:
                continue
            flags = [
                solver.IsMemberVar(routing.VehicleVar(manager.NodeToIndex(i)), others)
                for i in members
            ]
            moved.append(flags[0] if len(flags) == 1 else solver.Max(flags).Var())
        if len(moved) > max_provider_changes:
            solver.Add(solver.Sum(moved) <= max_provider_changes)

    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution.upper()
    )
    search.local_search_metaheuristic = _METAHEURISTICS[params.metaheuristic]
    search.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit

    routing.CloseModelWithParameters(search)
    solution = None
    status = ""
    routes = None if initial is None else _initial_routes(problem, initial, feasible)
    if (routes is None or sum(map(len, routes)) < int(modelled.sum())) and len(problem.sync_pairs):
        # OR-Tools' own first solutions place double-up halves one at a time and schedule
        # badly around them; start from a synchronisation-aware greedy instead.
        greedy = sync_greedy(
            problem,
            time_limit_s=0.2 * time_limit_s,
            seed=params.seed,
            feasible=feasible,
            max_decodes=None if params.solution_limit is None else 10 * params.solution_limit,
        )
        candidate = _initial_routes(problem, greedy.rounds, feasible)
        if routes is None or sum(map(len, candidate)) > sum(map(len, routes)):
            routes = candidate
        search.time_limit.FromMilliseconds(max(1, int(0.8 * time_limit_s * 1000)))
    if routes is not None and not accept_partial and sum(map(len, routes)) < int(modelled.sum()):
        # Local search from a partial start does not bring the missing calls back in
        # (measured on the county benchmark), so only a complete start is used.
        routes = None
    if routes is not None:
        start_assignment = routing.ReadAssignmentFromRoutes(routes, True)
        if start_assignment is None:
            # Double-ups are the usual reason a warm start fails its propagation.
            paired = set(problem.sync_pairs.ravel().tolist())
            routes = [[i for i in r if i not in paired] for r in routes]
            start_assignment = routing.ReadAssignmentFromRoutes(routes, True)
        if start_assignment is not None:
            solution = routing.SolveFromAssignmentWithParameters(start_assignment, search)
            status = "warm"
    if solution is None:
        solution = routing.SolveWithParameters(search)
        status = "cold"
    if solution is None:
        raise EngineError(f"OR-Tools found no solution (status {routing.status()}).")

    rounds, start_s, depart_s = [], {}, []
    for k in range(m):
        idx = solution.Value(routing.NextVar(routing.Start(k)))
        seq = []
        depart_s.append(solution.Value(tdim.CumulVar(routing.Start(k))))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            seq.append(node)
            start_s[node] = solution.Value(tdim.CumulVar(idx))
            idx = solution.Value(routing.NextVar(idx))
        rounds.append(tuple(seq))
    return EngineResult(tuple(rounds), start_s, tuple(depart_s), status, time.perf_counter() - t0)
