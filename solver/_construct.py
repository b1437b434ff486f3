"""A synchronisation-aware first solution for days with double-ups.

Moved here from ``benchmarks/baselines/sync_greedy.py`` (the benchmark owner's reference
heuristic) and extended with shift ends, work caps, hard windows and loads, so OR-Tools can
start from it: its own first-solution strategies place the two halves of a double-up one
at a time and build poor schedules around them.

Ordered greedy append plus order search.

This is the decoder of the random-key methods published for the Mankowska instances
(Kummer et al. 2020): take the calls in some order; append each single call to the end of the
round of the eligible carer where it costs least, and each double-up to the best pair of two
different eligible carers, timing the two halves to meet the start-gap band. The cost of an
append is exact (nothing already placed moves), so a whole decode costs one pass. The order is
then improved by a local search (move one call a few places, keep the move if the day is no
worse) until the time budget runs out.

A carer is only offered a call they can still reach in time under hard windows, finish and
get home before their shift ends, and carry (load); calls no carer can take at their turn are
left out of the decode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver._precheck import latest_starts
from solver.problem import Problem

IntArray = npt.NDArray[np.int64]
_INF = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class GreedyResult:
    """Rounds with start times, the objective under ``problem.objective``, and decodes done."""

    rounds: tuple[tuple[int, ...], ...]
    start_s: dict[int, int]
    cost: int
    decodes: int


class _Decoder:
    """Everything about a problem the decode loop needs, as arrays."""

    def __init__(self, problem: Problem, feasible: np.ndarray | None = None) -> None:
        self.problem = problem
        obj = problem.objective
        self.weights = (obj.travel_weight, obj.lateness_weight, obj.max_lateness_weight)
        self.compatible = problem.compatible if feasible is None else feasible
        self.location = np.array([v.location for v in problem.visits], dtype=np.int64)
        self.window_start = np.array([v.window_start_s for v in problem.visits], dtype=np.int64)
        self.latest = np.array([v.latest_start_s for v in problem.visits], dtype=np.int64)
        self.hard_latest = latest_starts(problem)
        self.shift_end = np.array([c.shift_end_s for c in problem.carers], dtype=np.int64)
        self.work_cap = np.array([c.work_cap_s for c in problem.carers], dtype=np.int64)
        self.load = np.array([v.load_units for v in problem.visits], dtype=np.int64)
        self.capacity = np.array(
            [_INF if c.capacity_units is None else c.capacity_units for c in problem.carers],
            dtype=np.int64,
        )
        self.home = [
            np.asarray(problem.travel_s[int(c.travel_mode)][:, c.end_location])
            for c in problem.carers
        ]
        self.home_leg = np.array(self.home).T if problem.carers else np.zeros((0, 0))
        self.duration = np.array([v.duration_s for v in problem.visits], dtype=np.int64)
        self.modes = np.array([c.travel_mode for c in problem.carers], dtype=np.int64)
        self.start_location = np.array([c.start_location for c in problem.carers])
        self.end_location = np.array([c.end_location for c in problem.carers])
        self.shift_start = np.array([c.shift_start_s for c in problem.carers], dtype=np.int64)
        self.single_mode = len(set(self.modes.tolist())) <= 1
        self.not_self = ~np.eye(problem.num_carers, dtype=bool)
        partner = problem.partner
        tasks: list[tuple[int, ...]] = []
        for i in range(problem.num_visits):
            j = int(partner[i])
            if j < 0:
                tasks.append((i,))
            elif i < j:
                tasks.append((i, j))
        # Calls nobody can serve (alone, or as a pair of different carers) are left out.
        self.tasks = [t for t in tasks if self._servable(t)]
        self.placed_target = sum(len(t) for t in self.tasks)

    def _servable(self, task: tuple[int, ...]) -> bool:
        if len(task) == 1:
            return bool(self.compatible[task[0]].any())
        a, b = task
        pairs = self.compatible[a][:, None] & self.compatible[b][None, :] & self.not_self
        return bool(pairs.any())

    def legs(self, positions: IntArray, visit: int) -> IntArray:
        """Travel time from each carer's current position to ``visit``."""
        travel = self.problem.travel_s
        if self.single_mode:
            return travel[int(self.modes[0]) if len(self.modes) else 0][
                positions, self.location[visit]
            ]
        return np.array(
            [travel[m][p, self.location[visit]] for m, p in zip(self.modes, positions, strict=True)]
        )

    def initial_state(self) -> _State:
        """Carers at their start locations, nothing placed."""
        loads = np.zeros(self.problem.num_carers, dtype=np.int64)
        return _State(self.start_location.copy(), self.shift_start.copy(), 0, 0, 0, loads, 0)

    def fits(self, state: _State, i: int, start: np.ndarray) -> np.ndarray:
        """Carers who may start visit ``i`` at ``start`` and still finish their day."""
        back = start + self.duration[i] + self.home_leg[self.location[i]]
        ok = self.compatible[i] & (start <= self.hard_latest[i]) & (back <= self.shift_end)
        ok &= back - self.shift_start <= self.work_cap
        return ok & (state.loads + self.load[i] <= self.capacity)

    def place(self, state: _State, t: int) -> tuple[_State, tuple[tuple[int, int, int], ...]]:
        """Append task ``t`` where it costs least; the new state and (carer, visit, start)s."""
        w_travel, w_late, w_max = self.weights
        task = self.tasks[t]
        position, ready, late_max = state.position, state.ready, state.late_max
        if len(task) == 1:
            i = task[0]
            legs = self.legs(position, i)
            start = np.maximum(ready + legs, self.window_start[i])
            late = np.maximum(0, start - self.latest[i])
            cost = w_travel * legs + w_late * late + w_max * np.maximum(0, late - late_max)
            cost = np.where(self.fits(state, i, start), cost, _INF)
            k = int(np.argmin(cost))
            if cost[k] >= _INF:
                return state, ()
            placed = [(k, i, int(start[k]), int(legs[k]), int(late[k]))]
        else:
            a, b = task
            legs_a, legs_b = self.legs(position, a), self.legs(position, b)
            band = self.problem.visits[a]
            arrive_a = np.maximum(ready + legs_a, self.window_start[a])[:, None]
            arrive_b = np.maximum(ready + legs_b, self.window_start[b])[None, :]
            start_b = np.maximum(arrive_b, arrive_a + band.sync_min_gap_s)
            start_a = np.maximum(arrive_a, start_b - band.sync_max_gap_s)
            late_a = np.maximum(0, start_a - self.latest[a])
            late_b = np.maximum(0, start_b - self.latest[b])
            worst = np.maximum(late_a, late_b)
            cost = (
                w_travel * (legs_a[:, None] + legs_b[None, :])
                + w_late * (late_a + late_b)
                + w_max * np.maximum(0, worst - late_max)
            )
            ok = self.not_self.copy()
            ok &= self.compatible[a][:, None] & self.compatible[b][None, :]
            ok &= (start_a <= self.hard_latest[a]) & (start_b <= self.hard_latest[b])
            back_a = start_a + self.duration[a] + self.home_leg[self.location[a]][:, None]
            back_b = start_b + self.duration[b] + self.home_leg[self.location[b]][None, :]
            ok &= (back_a <= self.shift_end[:, None]) & (back_b <= self.shift_end[None, :])
            ok &= (state.loads + self.load[a] <= self.capacity)[:, None]
            ok &= (state.loads + self.load[b] <= self.capacity)[None, :]
            cost = np.where(ok, cost, _INF)
            k1, k2 = (int(x) for x in np.unravel_index(int(np.argmin(cost)), cost.shape))
            if cost[k1, k2] >= _INF:
                return state, ()
            placed = [
                (k1, a, int(start_a[k1, k2]), int(legs_a[k1]), int(late_a[k1, k2])),
                (k2, b, int(start_b[k1, k2]), int(legs_b[k2]), int(late_b[k1, k2])),
            ]
        position, ready, loads = position.copy(), ready.copy(), state.loads.copy()
        travel, late_total = state.travel, state.late_total
        for k, i, start, leg, late in placed:
            position[k] = self.location[i]
            ready[k] = start + self.duration[i]
            loads[k] += self.load[i]
            travel += leg
            late_total += late
            late_max = max(late_max, late)
        new = _State(
            position, ready, travel, late_total, late_max, loads, state.placed + len(placed)
        )
        return new, tuple((k, i, start) for k, i, start, _, _ in placed)

    def cost(self, state: _State) -> int:
        """Cost of a complete decode: travel (with the way home), lateness, max lateness."""
        w_travel, w_late, w_max = self.weights
        travel = state.travel
        for k in range(self.problem.num_carers):
            if state.position[k] != self.start_location[k] or state.ready[k] != self.shift_start[k]:
                travel += int(
                    self.problem.travel_s[int(self.modes[k])][
                        state.position[k], self.end_location[k]
                    ]
                )
        cost = w_travel * travel + w_late * state.late_total + w_max * state.late_max
        return int(
            cost + self.problem.objective.unserved_penalty * (self.placed_target - state.placed)
        )


@dataclass(frozen=True)
class _State:
    """Where each carer is and when free, and the running cost terms."""

    position: IntArray
    ready: IntArray
    travel: int
    late_total: int
    late_max: int
    loads: IntArray
    placed: int


class _Decode:
    """One order decoded step by step, kept so a changed order re-decodes only its tail."""

    def __init__(self, decoder: _Decoder, order: list[int]) -> None:
        self.decoder = decoder
        self.order = order
        self.states = [decoder.initial_state()]
        self.placed: list[tuple[tuple[int, int, int], ...]] = []
        self._extend(0)

    def _extend(self, step: int) -> None:
        del self.states[step + 1 :]
        del self.placed[step:]
        state = self.states[step]
        for t in self.order[step:]:
            state, placed = self.decoder.place(state, t)
            self.states.append(state)
            self.placed.append(placed)
        self.cost = self.decoder.cost(state)

    def with_order(self, order: list[int], first_change: int) -> _Decode:
        """A decode of ``order``, sharing this one's states before ``first_change``."""
        other = object.__new__(_Decode)
        other.decoder, other.order = self.decoder, order
        other.states = self.states[: first_change + 1]
        other.placed = self.placed[:first_change]
        other._extend(first_change)
        return other

    def result(self, decodes: int) -> GreedyResult:
        rounds: list[list[int]] = [[] for _ in range(self.decoder.problem.num_carers)]
        start_s: dict[int, int] = {}
        for placed in self.placed:
            for k, i, start in placed:
                rounds[k].append(i)
                start_s[i] = start
        return GreedyResult(tuple(tuple(r) for r in rounds), start_s, self.cost, decodes)


def sync_greedy(
    problem: Problem,
    *,
    time_limit_s: float,
    seed: int = 0,
    feasible: np.ndarray | None = None,
    max_decodes: int | None = None,
) -> GreedyResult:
    """Best ordered-greedy day found within ``time_limit_s``.

    Parameters
    ----------
    problem
        The planning day (double-ups as sync groups, soft or hard windows alike: lateness
        is costed by ``problem.objective`` either way).
    time_limit_s
        Wall-clock budget for the order search.
    seed
        Seeds the order moves.
    feasible
        Boolean (visit, carer) eligibility to use instead of ``problem.compatible``.
    max_decodes
        Stop after this many decodes (reproducible runs); ``None``: time only.

    Returns
    -------
    GreedyResult
        Rounds, start times (seconds) and cost of the best order, and how many orders were
        decoded. Calls nobody can serve are in no round.
    """
    started = time.perf_counter()
    decoder = _Decoder(problem, feasible)
    rng = np.random.default_rng(seed)
    n = len(decoder.tasks)
    order = sorted(
        range(n),
        key=lambda t: (
            decoder.window_start[decoder.tasks[t][0]],
            decoder.latest[decoder.tasks[t][0]],
        ),
    )
    best = _Decode(decoder, order)
    decodes = 1
    if n < 2:
        return best.result(decodes)
    reach = max(2, n // 10)
    while time.perf_counter() - started < time_limit_s:
        if max_decodes is not None and decodes >= max_decodes:
            break
        candidate = best.order.copy()
        i = int(rng.integers(n))
        j = int(np.clip(i + rng.integers(-reach, reach + 1), 0, n - 1))
        if i == j:
            continue
        candidate.insert(j, candidate.pop(i))
        decoded = best.with_order(candidate, min(i, j))
        decodes += 1
        if decoded.cost <= best.cost:
            best = decoded
    return best.result(decodes)
