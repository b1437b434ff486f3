"""PyVRP behind the solver's interface, for days without double-ups or with them pinned.

PyVRP (an iterated local search over a C++ core) beats plain OR-Tools routing by a wide
margin on time-windowed instances (see ``benchmarks/bench_vrptw.py``), so ``reallocate`` may
dispatch here when a day has no double-ups, or once another engine has placed them: a
*pinned* call is held on its carer at its start time, and PyVRP routes everything else
around it. What PyVRP cannot model is refused with :class:`UnsupportedByEngineError` rather
than approximated:

- double-ups (sync groups) that are not pinned: PyVRP cannot tie two carers' start times
  together;
- soft windows: PyVRP's time warp is a penalty on infeasible solutions, not costed lateness;
- a cap on provider changes, and a carer-change penalty when visits carry today's carer.

Eligibility (skills, gender, provider rights, shift reach) uses PyVRP routing profiles: each
group of carers with the same eligible visits gets a copy of the travel matrix in which arcs
into and out of visits they may not serve cost ``_BLOCKED``. Solutions using such an arc are
infeasible in PyVRP (the duration is a time warp) and are repaired before returning.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyvrp
from pyvrp.search import OPERATORS, NeighbourhoodParams, PerturbationParams, Swap22
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from solver._precheck import precheck
from solver.baseline import evaluate_rounds
from solver.errors import SolverError
from solver.params import ReallocationParams
from solver.problem import IntArray, Problem
from solver.solution import Solution, SolveStats, Unserved, UnservedReason

_BLOCKED = 10**9
"""Travel cost and time on arcs into or out of a visit a carer group may not serve."""

# PyVRP's search for a start it is given (the passes' regions, pinned parts): its defaults
# without Swap22, and at most 10 calls perturbed per iteration instead of 25. On the same
# 164 and 175 regions of two saved county answers, 0.08 s each: the defaults cut 7.1 and
# 4.7 h of travel and added none of the calls waiting (net; given 1 s they do); these
# settings cut 8.2 and 5.3 h and added 4 and 2, running about 100 iterations per region
# instead of 42. Seven paired 120 s county days: 381.2 h against 384.4 h, as many calls
# served, within the runs' noise (benchmarks/NOTES-solver-interface.md, session 11).
_WARM_START_PARAMS = pyvrp.SolveParams(
    operators=[op for op in OPERATORS if op is not Swap22],
    perturbation=PerturbationParams(min_perturbations=1, max_perturbations=10),
)

# PyVRP's moves look at each call's 50 nearest calls (its granular neighbourhood), by a
# proximity that weighs travel far above waiting, so a call's nearest are its area's calls
# at every hour of the day. A search that must place every call (a part from scratch, or
# around another engine's double-ups) gets a neighbourhood of half its calls instead. On
# the county day's parts (seed 0, each part alone), calls left out of 6,000 at 50 / 100 /
# 150 / 200 neighbours: parts of about 375 calls at 4 s, 560-652 / 230 / 194 / 197, and
# 204 at half (one part left 45 of 373 out at 50 even at 16 s); parts of about 187 at 2 s,
# 201-208 / 171 / 175 at 50 / 100 / 150, and 171 at half. A waiting weight of 2 instead
# of 0.2 left 523 out. A region's search from a feasible answer keeps 50: at 0.08 s a
# region, 100 and 150 cut no more travel (three cuts of one answer: 10.0 h and 8.8 h
# against 10.6-10.8 h). Four paired 120 s county runs with parts of 200 and 100
# neighbours: 380.1 h and 5,936.0 served against 379.9 h and 5,934.0 (no difference), the
# first repair placing 58-68 calls instead of 96-102 (benchmarks/NOTES-solver-interface.md,
# session 13).
_NEIGHBOUR_SHARE = 0.5

_MAX_MATRIX_CELLS = 200_000_000
"""Refuse problems whose profile matrices would exceed this many cells (memory)."""


class UnsupportedByEngineError(SolverError, ValueError):
    """The problem uses a feature the PyVRP engine cannot model; the message says which."""


def unsupported_reason(problem: Problem, *, pins_double_ups: bool = False) -> str | None:
    """Why PyVRP cannot model ``problem``, or ``None`` when it can.

    Parameters
    ----------
    problem
        The planning day.
    pins_double_ups
        Whether the caller pins every double-up it wants served (see ``solve_with_pyvrp``);
        then double-ups are no obstacle.

    Returns
    -------
    str or None
        A sentence naming the first unsupported feature found.
    """
    if len(problem.sync_pairs) and not pins_double_ups:
        return (
            f"{len(problem.sync_pairs)} double-ups (sync groups): PyVRP cannot make two "
            "carers start together"
        )
    if not problem.objective.hard_windows:
        return "soft windows: PyVRP cannot cost lateness (time warp makes a round infeasible)"
    if problem.policy.max_provider_changes is not None:
        return "a cap on provider changes: PyVRP has no constraint across routes"
    if problem.policy.carer_change_penalty > 0 and any(v.carer >= 0 for v in problem.visits):
        return "a carer-change penalty: PyVRP has no per-carer visit cost"
    return None


def solve_with_pyvrp(
    problem: Problem,
    params: ReallocationParams | None = None,
    *,
    load_units: Sequence[int] | None = None,
    capacity_units: Sequence[int] | None = None,
    optional_calls: bool = False,
    pinned: Mapping[int, tuple[int, int]] | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    polish: bool = False,
) -> Solution:
    """Re-allocate a day with PyVRP's iterated local search.

    Parameters
    ----------
    problem
        The planning day; must pass :func:`unsupported_reason`.
    params
        Budget and seed (``time_limit_s``, ``seed``, ``solution_limit`` as an iteration cap
        that makes runs reproducible). Decomposition fields are ignored.
    load_units, capacity_units
        Load per visit and capacity per carer (one dimension), overriding the problem's
        ``Visit.load_units`` / ``Carer.capacity_units``; give both or neither.
    optional_calls
        Let PyVRP leave out calls it cannot fit, each costing ``unserved_penalty`` (a day
        short of carers); otherwise every servable call is required and, when no feasible
        rounds are found, calls are dropped from the ends of the offending rounds.
    pinned
        Calls held where another engine placed them: visit -> (carer, start of service).
        A pinned call may go only to its carer and starts exactly then; this is how
        double-ups come in (both halves pinned, so they stay together). A double-up
        with a half not pinned is left out (``NOT_SCHEDULED``). A pinned call PyVRP cannot
        keep is left out with its other half (``PARTNER_UNSERVED``).
    initial
        Rounds to start the search from (one sequence per carer); calls the model leaves
        out are skipped, and the search runs with ``_WARM_START_PARAMS``. Without it PyVRP
        starts from random solutions, with its default settings. Either way each call's
        neighbourhood holds ``_NEIGHBOUR_SHARE`` of the calls (at least PyVRP's 50).
    polish
        ``initial`` is a feasible answer to improve (an improvement pass's region), not a
        start to complete: the search keeps PyVRP's 50 neighbours per call.

    Returns
    -------
    Solution
        Rounds costed by ``evaluate_rounds``; calls that cannot be served are in
        ``unserved`` with a reason. ``stats.engine`` is ``"pyvrp"``.

    Raises
    ------
    UnsupportedByEngineError
        When the problem uses a feature PyVRP cannot model, or would need too much memory.
    ValueError
        When ``load_units`` or ``capacity_units`` have the wrong length or only one is given.
    """
    params = params or ReallocationParams()
    reason = unsupported_reason(problem, pins_double_ups=pinned is not None)
    pinned = dict(pinned or {})
    if reason is not None:
        raise UnsupportedByEngineError(f"PyVRP engine cannot model {reason}.")
    if (load_units is None) != (capacity_units is None):
        raise ValueError("Expected both load_units and capacity_units, or neither.")
    if load_units is None and problem.has_capacity:
        # No limit is a capacity no round can reach.
        total = sum(v.load_units for v in problem.visits)
        load_units = [v.load_units for v in problem.visits]
        capacity_units = [
            total if c.capacity_units is None else c.capacity_units for c in problem.carers
        ]
    loads = None if load_units is None else np.asarray(load_units, dtype=np.int64)
    caps = None if capacity_units is None else np.asarray(capacity_units, dtype=np.int64)
    if loads is not None and loads.shape != (problem.num_visits,):
        raise ValueError(f"Expected {problem.num_visits} load_units, one per visit.")
    if caps is not None and caps.shape != (problem.num_carers,):
        raise ValueError(f"Expected {problem.num_carers} capacity_units, one per carer.")

    started = time.perf_counter()
    reasons, feasible = precheck(problem)
    unserved = [r for r in reasons if r is not None]
    partner = problem.partner
    for i, r in enumerate(reasons):
        if r is None and partner[i] >= 0 and (i not in pinned or int(partner[i]) not in pinned):
            detail = "PyVRP: double-up not placed by the first engine"
            left_out = Unserved(i, UnservedReason.NOT_SCHEDULED, detail)
            reasons[i] = left_out
            unserved.append(left_out)
    servable = [i for i, r in enumerate(reasons) if r is None]
    empty: list[tuple[int, ...]] = [() for _ in problem.carers]
    if not servable or not problem.carers:
        return evaluate_rounds(
            problem, empty, unserved=unserved, stats=_stats(started, "no servable calls")
        )

    model = _Model(problem, servable, feasible, loads, caps, optional=optional_calls, pinned=pinned)
    # Building the model counts against the budget, as it does for the other engines.
    remaining_s = max(0.01, params.time_limit_s - (time.perf_counter() - started))
    result = pyvrp.solve(
        model.data,
        stop=_stop(params, remaining_s),
        seed=params.seed,
        collect_stats=False,
        display=False,
        initial_solution=None if initial is None else model.solution(initial),
        params=_search_params(len(servable), warm=initial is not None, polish=polish),
    )
    rounds: Sequence[Sequence[int]] = model.rounds(result.best)
    start_s: dict[int, int] | None = None
    dropped: list[Unserved] = []
    status = "feasible"
    if not result.best.is_feasible():
        # A feasible PyVRP solution has no time warp, so it uses no blocked arc either.
        status = "repaired"
        rounds, dropped = _repair(problem, model.rounds(result.best), loads, caps)
        if pinned:
            # Re-timing would move pinned halves apart; keep no double-up.
            keep = [tuple(i for i in r if partner[i] < 0) for r in rounds]
            dropped += _left_out(rounds, keep, "PyVRP: double-up in an infeasible answer")
            rounds = keep
    elif pinned:
        start_s = model.start_s(result.best)
        placed = {i for r in rounds for i in r}
        keep = [tuple(i for i in r if partner[i] < 0 or int(partner[i]) in placed) for r in rounds]
        dropped += [
            Unserved(i, UnservedReason.PARTNER_UNSERVED, f"other half is visit {partner[i]}")
            for r, kept in zip(rounds, keep, strict=True)
            for i in sorted(set(r) - set(kept))
        ]
        rounds = keep
    return evaluate_rounds(
        problem,
        rounds,
        start_s=start_s,
        unserved=[*unserved, *dropped],
        stats=_stats(started, status),
    )


def _left_out(
    rounds: Sequence[Sequence[int]], kept: Sequence[Sequence[int]], detail: str
) -> list[Unserved]:
    return [
        Unserved(i, UnservedReason.NOT_SCHEDULED, detail)
        for r, k in zip(rounds, kept, strict=True)
        for i in sorted(set(r) - set(k))
    ]


def _search_params(n_calls: int, *, warm: bool, polish: bool) -> pyvrp.SolveParams:
    """PyVRP's settings: ``_WARM_START_PARAMS`` from a start, its defaults from scratch, and
    unless ``polish``, a neighbourhood of ``_NEIGHBOUR_SHARE`` of ``n_calls``."""
    start = _WARM_START_PARAMS if warm else pyvrp.SolveParams()
    if polish:
        return start
    least = NeighbourhoodParams().num_neighbours
    wide = NeighbourhoodParams(num_neighbours=max(least, round(_NEIGHBOUR_SHARE * n_calls)))
    return pyvrp.SolveParams(
        operators=start.operators, perturbation=start.perturbation, neighbourhood=wide
    )


def _stop(params: ReallocationParams, remaining_s: float) -> StoppingCriterion:
    if params.solution_limit is None:
        return MaxRuntime(remaining_s)
    return MultipleCriteria([MaxIterations(params.solution_limit), MaxRuntime(remaining_s)])


def _stats(started: float, status: str) -> SolveStats:
    return SolveStats(wall_s=time.perf_counter() - started, engine="pyvrp", status=status)


class _Model:
    """PyVRP data for the servable visits, and the way back from PyVRP routes to rounds."""

    def __init__(
        self,
        problem: Problem,
        servable: list[int],
        feasible: np.ndarray,
        loads: IntArray | None,
        caps: IntArray | None,
        *,
        optional: bool = False,
        pinned: Mapping[int, tuple[int, int]] | None = None,
    ) -> None:
        self.problem = problem
        self.servable = servable
        pinned = pinned or {}
        if pinned:
            # A pinned call is eligible for its own carer only.
            feasible = feasible.copy()
            for i, (k, _) in pinned.items():
                feasible[i, :] = False
                feasible[i, k] = True
        obj = problem.objective
        depot_locations = sorted(
            {c.start_location for c in problem.carers} | {c.end_location for c in problem.carers}
        )
        depot_index = {loc: d for d, loc in enumerate(depot_locations)}
        n_depots = len(depot_locations)
        # PyVRP indexes matrices by location; each visit gets its own so profiles can block it.
        location_of = np.array(
            depot_locations + [problem.visits[i].location for i in servable], dtype=np.int64
        )

        # Carers alike in every respect PyVRP sees share one vehicle type.
        groups: dict[tuple[Any, ...], list[int]] = {}
        for k, c in enumerate(problem.carers):
            key = (
                c.start_location,
                c.end_location,
                c.shift_start_s,
                c.shift_end_s,
                c.work_cap_s,
                c.travel_mode,
                feasible[servable, k].tobytes(),
                None if caps is None else int(caps[k]),
            )
            groups.setdefault(key, []).append(k)
        profiles: dict[tuple[int, bytes], int] = {}
        for key in groups:
            profiles.setdefault((int(key[5]), bytes(key[6])), len(profiles))
        n_nodes = len(location_of)
        if len(profiles) * n_nodes * n_nodes > _MAX_MATRIX_CELLS:
            raise UnsupportedByEngineError(
                f"PyVRP engine cannot model {len(profiles)} eligibility profiles over "
                f"{n_nodes} nodes within memory; decompose the day first."
            )
        matrices: list[Any] = []
        for mode, allowed_bytes in profiles:
            matrix = np.array(problem.travel_s[mode][np.ix_(location_of, location_of)])
            allowed = np.frombuffer(allowed_bytes, dtype=bool)
            blocked = n_depots + np.flatnonzero(~allowed)
            matrix[blocked, :] = _BLOCKED
            matrix[:, blocked] = _BLOCKED
            np.fill_diagonal(matrix, 0)
            matrices.append(matrix)

        clients: list[pyvrp.Client] = []
        for i in servable:
            v = problem.visits[i]
            early, late = v.window_start_s, v.latest_start_s
            if i in pinned:
                early = late = pinned[i][1]
            clients.append(
                pyvrp.Client(
                    location=n_depots + len(clients),
                    delivery=[] if loads is None else [int(loads[i])],
                    service_duration=v.duration_s,
                    tw_early=early,
                    tw_late=late,
                    required=not optional,
                    # Dropping a pinned half costs its partner too.
                    prize=(2 if i in pinned else 1) * obj.unserved_penalty if optional else 0,
                )
            )
        self.group_of_carer: dict[int, int] = {}
        self.group_carers: list[list[int]] = []
        vehicle_types = []
        for key, carers in groups.items():
            c = problem.carers[carers[0]]
            vehicle_types.append(
                pyvrp.VehicleType(
                    num_available=len(carers),
                    capacity=[] if caps is None else [int(caps[carers[0]])],
                    start_depot=depot_index[c.start_location],
                    end_depot=depot_index[c.end_location],
                    tw_early=c.shift_start_s,
                    tw_late=c.shift_end_s,
                    shift_duration=c.work_cap_s,
                    # Route duration = travel + waiting + contact, and contact is fixed.
                    unit_distance_cost=obj.travel_weight - obj.waiting_weight,
                    unit_duration_cost=obj.waiting_weight,
                    profile=profiles[(int(key[5]), bytes(key[6]))],
                )
            )
            self.group_of_carer.update(dict.fromkeys(carers, len(self.group_carers)))
            self.group_carers.append(carers)
        self.data = pyvrp.ProblemData(
            locations=[pyvrp.Location(x=0, y=0) for _ in range(n_nodes)],
            clients=clients,
            depots=[pyvrp.Depot(location=d) for d in range(n_depots)],
            vehicle_types=vehicle_types,
            distance_matrices=matrices,
            duration_matrices=[m.copy() for m in matrices],
        )

    def rounds(self, solution: pyvrp.Solution) -> list[list[int]]:
        """One visit sequence per carer from PyVRP's routes."""
        rounds: list[list[int]] = [[] for _ in self.problem.carers]
        next_in_group = [0] * len(self.group_carers)
        for route in solution.routes():
            group = route.vehicle_type()
            carer = self.group_carers[group][next_in_group[group]]
            next_in_group[group] += 1
            rounds[carer] = [self.servable[a.idx] for a in route.schedule() if a.is_client()]
        return rounds

    def solution(self, rounds: Sequence[Sequence[int]]) -> pyvrp.Solution:
        """``rounds`` as a PyVRP solution, without the calls the model leaves out."""
        client_of = {i: j for j, i in enumerate(self.servable)}
        routes = []
        for k, seq in enumerate(rounds):
            clients = [client_of[i] for i in seq if i in client_of]
            if clients:
                routes.append(pyvrp.Route(self.data, clients, self.group_of_carer[k]))
        return pyvrp.Solution(self.data, routes)

    def start_s(self, solution: pyvrp.Solution) -> dict[int, int]:
        """Start of service of every visit in PyVRP's routes."""
        return {
            self.servable[a.idx]: int(a.start_time)
            for route in solution.routes()
            for a in route.schedule()
            if a.is_client()
        }


def _repair(
    problem: Problem,
    rounds: list[list[int]],
    loads: IntArray | None,
    caps: IntArray | None,
) -> tuple[list[tuple[int, ...]], list[Unserved]]:
    """Drop calls until every round is eligible, on time and within capacity.

    PyVRP returns its best solution even when no feasible one was found; rather than hand
    back a late or overloaded round, the offending calls are reported as not scheduled.
    """
    compatible = problem.compatible
    dropped: list[Unserved] = []
    repaired: list[tuple[int, ...]] = []
    for k, seq in enumerate(rounds):
        seq = [i for i in seq if compatible[i, k] or _drop(dropped, i, "carer not eligible")]
        while seq:
            if loads is not None and caps is not None and loads[seq].sum() > caps[k]:
                _drop(dropped, seq.pop(int(np.argmax(loads[seq]))), "over capacity")
                continue
            single = [tuple(seq) if j == k else () for j in range(problem.num_carers)]
            costed = evaluate_rounds(problem, single)
            carer = problem.carers[k]
            if (
                costed.costs[k].lateness_s == 0
                and costed.costs[k].span_s <= carer.work_cap_s
                and costed.routes[k].return_s <= carer.shift_end_s
            ):
                break
            _drop(dropped, seq.pop(), "round late or over the shift")
        repaired.append(tuple(seq))
    return repaired, dropped


def _drop(dropped: list[Unserved], visit: int, detail: str) -> bool:
    dropped.append(Unserved(visit, UnservedReason.NOT_SCHEDULED, f"PyVRP: {detail}"))
    return False
