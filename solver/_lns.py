"""Large-neighbourhood search over rounds, moving each double-up as one unit.

Ruin and recreate (Shaw 1998; Ropke and Pisinger 2006), in the form the methods holding the
Mankowska best-known values use: remove a handful of related calls (random, related by place
and time, the costliest, or whole rounds; both halves of a double-up always leave together),
put them back one unit at a time at the cheapest position *inside* any eligible round (a
double-up as a pair of positions in two different carers' rounds, timed to its start-gap
band), and accept the new day by simulated annealing on ``problem.objective``.

Start times are the earliest schedule: every call starts as soon as its carer can be there,
its window opens and its partner's start allows (the least fixed point of the route and
synchronisation constraints). With waiting unweighted this schedule is optimal for the
rounds; lateness, travel and the largest lateness all follow from it.

Insertion is filtered then exact. A numpy pass over every slot of every eligible round
estimates the cost of a call there: the detour, its own lateness, and the lateness pushed
onto the calls after it in that round (the push shrinks by each later call's slack, so the
push at every later call is one subtraction). The few cheapest slots (for a double-up, the
cheapest combinations of the two halves' best slots) are then evaluated exactly by
propagating start times through the round and across the partners' rounds, which also
catches cycles of double-ups waiting on each other.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver._construct import sync_greedy
from solver._precheck import latest_starts
from solver.problem import BoolArray, Problem

IntArray = npt.NDArray[np.int64]
_BIG = 1 << 40
_SINGLE_EXACT = 3
_PAIR_SIDE = 8
_PAIR_EXACT = 4
# Annealing: the starting temperature is this share of the mean cost per unit, falling
# geometrically by _TEMP_DROP over the run; a ruin takes 2.._RUIN_MAX units (at most a
# _RUIN_SHARE-th of them).
_TEMP_START = 1.0
_TEMP_DROP = 1000.0
_RUIN_MAX = 30
_RUIN_SHARE = 4


@dataclass(frozen=True)
class LnsResult:
    """Rounds, start times and departures of the best day found, and how the search went."""

    rounds: tuple[tuple[int, ...], ...]
    start_s: dict[int, int]
    depart_s: tuple[int, ...]
    cost: int
    iterations: int
    improvements: int


class _Data:
    """The problem as flat lists (scalar loops) and arrays (vectorised estimates)."""

    def __init__(self, problem: Problem, feasible: BoolArray) -> None:
        visits, carers = problem.visits, problem.carers
        self.n, self.m = len(visits), len(carers)
        obj, policy = problem.objective, problem.policy
        self.w_travel, self.w_wait = obj.travel_weight, obj.waiting_weight
        self.w_late, self.w_max = obj.lateness_weight, obj.max_lateness_weight
        self.w_unserved, self.w_change = obj.unserved_penalty, policy.carer_change_penalty
        self.loc = [v.location for v in visits]
        self.early = [v.window_start_s for v in visits]
        self.soft = [v.latest_start_s for v in visits]
        self.hard = [int(x) for x in latest_starts(problem)]
        if obj.hard_windows:
            self.soft = list(self.hard)  # no lateness is possible, so none is costed
        self.dur = [v.duration_s for v in visits]
        self.load = [v.load_units for v in visits]
        self.today = [v.carer for v in visits]
        self.partner = [int(j) for j in problem.partner]
        # start_i >= start_partner + lag_i: the second half lags the first by at least the
        # band's minimum; the first may not start more than the band's maximum earlier.
        self.lag = [0] * self.n
        for i, v in enumerate(visits):
            j = self.partner[i]
            if j >= 0:
                self.lag[i] = v.sync_min_gap_s if i > j else -v.sync_max_gap_s
        self.mode = [c.travel_mode for c in carers]
        self.start_loc = [c.start_location for c in carers]
        self.end_loc = [c.end_location for c in carers]
        self.shift_start = [c.shift_start_s for c in carers]
        # The working-hours cap is held from the shift start, not from departure: safe, but a
        # carer with a cap shorter than their shift cannot take calls after start + cap.
        self.end_limit = [min(c.shift_end_s, c.shift_start_s + c.work_cap_s) for c in carers]
        self.capacity = [_BIG if c.capacity_units is None else c.capacity_units for c in carers]
        rows = [t.tolist() for t in problem.travel_s]
        self.rows = [rows[md] for md in self.mode]
        self.travel = np.stack(problem.travel_s)
        self.mode_a = np.array(self.mode, dtype=np.int64)
        self.feasible = np.asarray(feasible, dtype=bool)
        self.cap_a = np.array(self.capacity, dtype=np.int64)
        self.today_a = np.array(self.today, dtype=np.int64)

        units: list[tuple[int, ...]] = []
        for i in range(self.n):
            j = self.partner[i]
            if j < 0:
                if self.feasible[i].any():
                    units.append((i,))
            elif i < j:
                both = self.feasible[i][:, None] & self.feasible[j][None, :]
                np.fill_diagonal(both, False)
                if both.any():
                    units.append((i, j))
        self.units = units
        self.unit_of = [-1] * self.n
        for u, unit in enumerate(units):
            for i in unit:
                self.unit_of[i] = u
        self.n_units = len(units)
        self.difficulty = [int(self.feasible[list(unit)].any(axis=0).sum()) for unit in units]
        # Related units: close by road and by window (one second of window apart counts as
        # one second of travel), the usual Shaw relatedness.
        if units:
            first = np.array([unit[0] for unit in units], dtype=np.int64)
            loc = np.array(self.loc, dtype=np.int64)[first]
            early = np.array(self.early, dtype=np.int64)[first]
            travel = problem.travel_s[0][np.ix_(loc, loc)]
            related = travel + travel.T + np.abs(early[:, None] - early[None, :])
            self.neighbours = np.argsort(related, axis=1, kind="stable")[:, 1:]
        else:
            self.neighbours = np.zeros((0, 0), dtype=np.int64)


class _State:
    """Rounds, earliest start times and cost terms of one day."""

    def __init__(self, data: _Data, routes: list[list[int]]) -> None:
        self.d = data
        self.routes = routes
        self.carer = [-1] * data.n
        self.start = [0] * data.n
        self.ret = list(data.shift_start)
        self.rtravel = [0] * data.m
        self.rwait = [0] * data.m
        self.rload = [0] * data.m
        self.late_total = 0
        self.late_max = 0
        self.cost = 0
        self.feasible = True
        self.grid: _Grid | None = None
        self.dirty: set[int] = set()

    def copy(self) -> _State:
        other = object.__new__(_State)
        other.d = self.d
        other.routes = [r[:] for r in self.routes]
        other.carer = self.carer[:]
        other.start = self.start[:]
        other.ret = self.ret[:]
        other.rtravel = self.rtravel[:]
        other.rwait = self.rwait[:]
        other.rload = self.rload[:]
        other.late_total, other.late_max = self.late_total, self.late_max
        other.cost, other.feasible = self.cost, self.feasible
        other.dirty = set(self.dirty)
        other.grid = None if self.grid is None else self.grid.copy_for(other)
        return other

    def reschedule(self) -> None:
        """Earliest start times for the current rounds, and every cost term from scratch."""
        d = self.d
        before, returns = self.start, self.ret[:]
        carer = [-1] * d.n
        for k, r in enumerate(self.routes):
            for v in r:
                carer[v] = k
        self.carer = carer
        start = [-1] * d.n
        self.feasible = True
        work = deque(range(d.m))
        queued = [True] * d.m
        budget = 20 * d.m + 100
        while work:
            k = work.popleft()
            queued[k] = False
            budget -= 1
            if budget < 0:
                self.feasible = False
                break
            row, here, t = d.rows[k], d.start_loc[k], d.shift_start[k]
            for v in self.routes[k]:
                s = t + row[here][d.loc[v]]
                if s < d.early[v]:
                    s = d.early[v]
                j = d.partner[v]
                if j >= 0 and start[j] >= 0 and start[j] + d.lag[v] > s:
                    s = start[j] + d.lag[v]
                if s != start[v]:
                    start[v] = s
                    if j >= 0 and carer[j] >= 0 and not queued[carer[j]]:
                        queued[carer[j]] = True
                        work.append(carer[j])
                t, here = s + d.dur[v], d.loc[v]
            self.ret[k] = t + row[here][d.end_loc[k]]
        self.start = [max(s, 0) for s in start]
        self._cost_from_scratch()
        if self.grid is not None:
            for k, r in enumerate(self.routes):
                if (
                    k in self.dirty
                    or self.ret[k] != returns[k]
                    or any(self.start[v] != before[v] for v in r)
                ):
                    self.grid.update(k)
        self.dirty.clear()

    def _cost_from_scratch(self) -> None:
        d = self.d
        late_total = late_max = 0
        travel_total = wait_total = changes = 0
        for k, r in enumerate(self.routes):
            row, here = d.rows[k], d.start_loc[k]
            travel = contact = load = 0
            for v in r:
                s = self.start[v]
                if s > d.hard[v]:
                    self.feasible = False
                late = s - d.soft[v]
                if late > 0:
                    late_total += late
                    late_max = max(late_max, late)
                travel += row[here][d.loc[v]]
                contact += d.dur[v]
                load += d.load[v]
                here = d.loc[v]
                if d.today[v] >= 0 and d.today[v] != k:
                    changes += 1
            travel += row[here][d.end_loc[k]] if r else 0
            if not r:
                self.ret[k] = d.shift_start[k]
            if self.ret[k] > d.end_limit[k] or load > d.capacity[k]:
                self.feasible = False
            self.rtravel[k], self.rload[k] = travel, load
            self.rwait[k] = self._waiting(k, r, self.start, self.ret[k], travel, contact)
            travel_total += travel
            wait_total += self.rwait[k]
        unserved = sum(1 for unit in d.units for i in unit if self.carer[i] < 0)
        self.late_total, self.late_max = late_total, late_max
        self.cost = (
            d.w_travel * travel_total
            + d.w_wait * wait_total
            + d.w_late * late_total
            + d.w_max * late_max
            + d.w_change * changes
            + d.w_unserved * unserved
        )

    def _waiting(
        self, k: int, r: Sequence[int], start: Sequence[int], ret: int, travel: int, contact: int
    ) -> int:
        """Idle time in a round that leaves home just in time for its first call."""
        if not r:
            return 0
        d = self.d
        first = r[0]
        depart = max(d.shift_start[k], start[first] - d.rows[k][d.start_loc[k]][d.loc[first]])
        return ret - depart - travel - contact

    def depart(self, k: int) -> int:
        d, r = self.d, self.routes[k]
        if not r:
            return d.shift_start[k]
        return max(d.shift_start[k], self.start[r[0]] - d.rows[k][d.start_loc[k]][d.loc[r[0]]])

    def remove(self, visits: Sequence[int]) -> None:
        """Take visits out of their rounds (call ``reschedule`` afterwards)."""
        gone = set(visits)
        for k in {self.carer[v] for v in visits if self.carer[v] >= 0}:
            self.routes[k] = [v for v in self.routes[k] if v not in gone]
            self.dirty.add(k)
        for v in visits:
            self.carer[v] = -1


@dataclass
class _Plan:
    """One exact insertion: its cost change and the state changes it makes."""

    delta: int
    routes: dict[int, list[int]]
    starts: dict[int, int]
    ret: dict[int, int]
    travel: dict[int, int]
    wait: dict[int, int]
    carers: dict[int, int]
    late_total: int
    late_max: int


class _Grid:
    """Each round as a padded row of nodes (start depot, calls, end depot) for numpy."""

    def __init__(self, state: _State) -> None:
        self.state = state
        d = state.d
        self.width = max((len(r) for r in state.routes), default=0) + 6
        shape = (d.m, self.width)
        self.loc = np.zeros(shape, dtype=np.int64)
        self.s = np.zeros(shape, dtype=np.int64)
        self.dur = np.zeros(shape, dtype=np.int64)
        self.soft = np.full(shape, _BIG, dtype=np.int64)
        self.late = np.zeros(shape, dtype=np.int64)
        self.slack = np.zeros(shape, dtype=np.int64)
        self.room = np.full(shape, _BIG, dtype=np.int64)
        self.leg = np.zeros(shape, dtype=np.int64)
        self.valid = np.zeros(shape, dtype=bool)
        self.cols = np.arange(self.width)
        for k in range(d.m):
            self.update(k)

    def copy_for(self, state: _State) -> _Grid:
        """A copy of this grid belonging to ``state`` (same rounds and times)."""
        other = object.__new__(_Grid)
        for name, value in self.__dict__.items():
            setattr(other, name, value.copy() if isinstance(value, np.ndarray) else value)
        other.state = state
        return other

    def _widen(self) -> None:
        fresh = _Grid(self.state)
        self.__dict__.update(fresh.__dict__)

    def update(self, k: int) -> None:
        st = self.state
        d = st.d
        r = st.routes[k]
        if len(r) + 2 > self.width:
            self._widen()
        row = d.rows[k]
        locs = [d.start_loc[k], *(d.loc[v] for v in r), d.end_loc[k]]
        starts = [d.shift_start[k], *(st.start[v] for v in r), st.ret[k]]
        durs = [0, *(d.dur[v] for v in r), 0]
        softs = [_BIG, *(d.soft[v] for v in r), _BIG]
        hards = [_BIG, *(d.hard[v] for v in r), d.end_limit[k]]
        legs = [row[a][b] for a, b in itertools.pairwise(locs)]
        n = len(locs)
        cum, acc = [0] * n, 0
        for q in range(1, n):
            acc += starts[q] - starts[q - 1] - durs[q - 1] - legs[q - 1]
            cum[q] = acc
        room = [h - s + c for h, s, c in zip(hards, starts, cum, strict=True)]
        for q in range(n - 2, -1, -1):
            if room[q + 1] < room[q]:
                room[q] = room[q + 1]
        self.loc[k, :n] = locs
        self.s[k, :n] = starts
        self.dur[k, :n] = durs
        self.soft[k, :n] = softs
        self.soft[k, n:] = _BIG
        self.late[k, :n] = [max(0, s - x) for s, x in zip(starts, softs, strict=True)]
        self.late[k, n:] = 0
        self.slack[k, :n] = cum
        self.room[k, :n] = room
        self.room[k, n:] = _BIG
        self.leg[k, : n - 1] = legs
        self.leg[k, n - 1 :] = 0
        self.valid[k, :n] = True
        self.valid[k, n:] = False

    def slots(self, ks: IntArray) -> tuple[IntArray, IntArray]:
        """Every (carer, position) a call can go in, for the given carers."""
        rows, cols = np.nonzero(self.valid[ks, 1:])
        return ks[rows], cols

    def costs(
        self, i: int, ks: IntArray, ps: IntArray, start: IntArray | None = None
    ) -> tuple[IntArray, BoolArray, IntArray, IntArray]:
        """Estimated cost (without the largest-lateness term) of ``i`` after node ``ps``.

        Returns the cost, feasibility, the call's start and the largest lateness in the
        round after the insertion (its own included).
        """
        d = self.state.d
        li = d.loc[i]
        md = d.mode_a[ks]
        t_in = d.travel[md, self.loc[ks, ps], li]
        t_out = d.travel[md, li, self.loc[ks, ps + 1]]
        arrive = self.s[ks, ps] + self.dur[ks, ps] + t_in
        start = np.maximum(arrive, d.early[i]) if start is None else np.maximum(start, arrive)
        ok = start <= d.hard[i]
        push = np.maximum(0, start + d.dur[i] + t_out - self.s[ks, ps + 1])
        base = self.slack[ks, ps + 1]
        ok &= push <= self.room[ks, ps + 1] - base
        own_late = np.maximum(0, start - d.soft[i])
        rel = self.slack[ks] - base[:, None]
        after = (self.cols[None, :] > ps[:, None]) & self.valid[ks]
        new_late = np.maximum(0, self.s[ks] + np.maximum(0, push[:, None] - rel) - self.soft[ks])
        new_late = np.where(after, new_late, 0)
        more_late = (new_late - np.where(after, self.late[ks], 0)).sum(axis=1)
        worst = np.maximum(own_late, new_late.max(axis=1))
        cost = d.w_travel * (t_in + t_out - self.leg[ks, ps]) + d.w_late * (own_late + more_late)
        if d.w_change:
            today = d.today_a[i]
            if today >= 0:
                cost = cost + d.w_change * (ks != today)
        return cost, ok, start, worst


class _Search:
    def __init__(self, data: _Data, rng: np.random.Generator) -> None:
        self.d = data
        self.rng = rng

    # ---- exact insertion -------------------------------------------------------------

    def exact(
        self, st: _State, inserts: Sequence[tuple[int, int, int]], bound: float = math.inf
    ) -> _Plan | None:
        """Apply ``(visit, carer, position)`` insertions on the side.

        ``None`` when infeasible or, once start times only rise, certainly dearer than
        ``bound`` (lateness never falls during an insertion, so its running total is a lower
        bound; waiting can fall, so no pruning when it is weighted).
        """
        d = self.d
        routes: dict[int, list[int]] = {}
        carers: dict[int, int] = {}
        fixed = 0
        for v, k, p in inserts:
            r = routes.get(k)
            if r is None:
                r = routes[k] = st.routes[k][:]
            r.insert(p, v)
            carers[v] = k
            if st.rload[k] + d.load[v] > d.capacity[k]:
                return None
            if d.today[v] >= 0 and d.today[v] != k:
                fixed += d.w_change
            fixed -= d.w_unserved
        travel: dict[int, int] = {}
        for k, r in routes.items():
            row, here, tr = d.rows[k], d.start_loc[k], 0
            for v in r:
                tr += row[here][d.loc[v]]
                here = d.loc[v]
            tr += row[here][d.end_loc[k]]
            travel[k] = tr
            fixed += d.w_travel * (tr - st.rtravel[k])
        if d.w_wait:
            bound = math.inf
        w_late, w_max, soft = d.w_late, d.w_max, d.soft
        late_total, late_max = st.late_total, st.late_max
        if fixed > bound:
            return None
        over: dict[int, int] = {}
        ret: dict[int, int] = {}
        work = deque(routes)
        queued = set(routes)
        budget = 4 * d.m + 20
        while work:
            k = work.popleft()
            queued.discard(k)
            budget -= 1
            if budget < 0:
                return None
            r = routes.get(k) or st.routes[k]
            row, here, t = d.rows[k], d.start_loc[k], d.shift_start[k]
            for v in r:
                s = t + row[here][d.loc[v]]
                if s < d.early[v]:
                    s = d.early[v]
                j = d.partner[v]
                kj = -1
                if j >= 0:
                    kj = carers.get(j, st.carer[j])
                    if kj >= 0:
                        sj = over.get(j)
                        if sj is None and st.carer[j] >= 0:
                            sj = st.start[j]
                        if sj is not None and sj + d.lag[v] > s:
                            s = sj + d.lag[v]
                if s > d.hard[v]:
                    return None
                old = over.get(v)
                if old is None and v not in carers:
                    old = st.start[v]
                if s != old:
                    over[v] = s
                    new = s - soft[v]
                    if new > 0:
                        late_total += new
                        if new > late_max:
                            late_max = new
                    if old is not None and old > soft[v]:
                        late_total -= old - soft[v]
                    if (
                        fixed
                        + w_late * (late_total - st.late_total)
                        + w_max * (late_max - st.late_max)
                        > bound
                    ):
                        return None
                    if kj >= 0 and kj not in queued:
                        queued.add(kj)
                        work.append(kj)
                t, here = s + d.dur[v], d.loc[v]
            back = t + row[here][d.end_loc[k]]
            if back > d.end_limit[k]:
                return None
            ret[k] = back
        delta = fixed + w_late * (late_total - st.late_total) + w_max * (late_max - st.late_max)
        wait: dict[int, int] = {}
        if d.w_wait:
            for k in ret:
                r = routes.get(k) or st.routes[k]
                tr = travel.get(k, st.rtravel[k])
                first = over.get(r[0], st.start[r[0]])
                depart = max(d.shift_start[k], first - d.rows[k][d.start_loc[k]][d.loc[r[0]]])
                wait[k] = ret[k] - depart - tr - sum(d.dur[v] for v in r)
                delta += d.w_wait * (wait[k] - st.rwait[k])
        return _Plan(delta, routes, over, ret, travel, wait, carers, late_total, late_max)

    @staticmethod
    def apply(st: _State, plan: _Plan, grid: _Grid | None) -> None:
        d = st.d
        for k, r in plan.routes.items():
            st.routes[k] = r
            st.rtravel[k] = plan.travel[k]
        for v, k in plan.carers.items():
            st.carer[v] = k
            st.rload[k] += d.load[v]
        for v, s in plan.starts.items():
            st.start[v] = s
        for k, back in plan.ret.items():
            st.ret[k] = back
        for k, w in plan.wait.items():
            st.rwait[k] = w
        st.late_total, st.late_max = plan.late_total, plan.late_max
        st.cost += plan.delta
        if grid is not None:
            for k in plan.ret:
                grid.update(k)

    # ---- recreate --------------------------------------------------------------------

    def _carers_for(self, st: _State, i: int) -> IntArray:
        d = self.d
        ok = d.feasible[i] & (np.array(st.rload) + d.load[i] <= d.cap_a)
        return np.flatnonzero(ok)

    def _cheapest_slots(
        self, st: _State, grid: _Grid, i: int, how_many: int
    ) -> tuple[IntArray, IntArray, IntArray] | None:
        """Carer, position and start of the ``how_many`` slots where call ``i`` costs
        least by the estimate, among its eligible carers' rounds; None if it fits nowhere."""
        ks = self._carers_for(st, i)
        if ks.size == 0:
            return None
        sk, sp = grid.slots(ks)
        cost, ok, start, worst = grid.costs(i, sk, sp)
        cost = cost + self.d.w_max * np.maximum(0, worst - st.late_max)
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            return None
        top = cand[np.argsort(cost[cand], kind="stable")[:how_many]]
        return sk[top], sp[top], start[top]

    def best_single(self, st: _State, grid: _Grid, i: int) -> _Plan | None:
        slots = self._cheapest_slots(st, grid, i, _SINGLE_EXACT)
        if slots is None:
            return None
        best: _Plan | None = None
        for k, pos in zip(slots[0].tolist(), slots[1].tolist(), strict=True):
            bound = math.inf if best is None else best.delta
            plan = self.exact(st, [(i, k, pos)], bound)
            if plan is not None and (best is None or plan.delta < best.delta):
                best = plan
        return best

    def best_pair(self, st: _State, grid: _Grid, a: int, b: int) -> _Plan | None:
        d = self.d
        side_a = self._cheapest_slots(st, grid, a, _PAIR_SIDE)
        side_b = None if side_a is None else self._cheapest_slots(st, grid, b, _PAIR_SIDE)
        if side_a is None or side_b is None:
            return None
        (ka, pa, sa0), (kb, pb, sb0) = side_a, side_b
        ia = np.repeat(np.arange(ka.size), kb.size)
        ib = np.tile(np.arange(kb.size), ka.size)
        keep = ka[ia] != kb[ib]
        ia, ib = ia[keep], ib[keep]
        if ia.size == 0:
            return None
        lo, hi = d.lag[b], -d.lag[a]
        sb = np.maximum(sb0[ib], sa0[ia] + lo)
        sa = np.maximum(sa0[ia], sb - hi)
        cost_a, ok_a, _, worst_a = grid.costs(a, ka[ia], pa[ia], sa)
        cost_b, ok_b, _, worst_b = grid.costs(b, kb[ib], pb[ib], sb)
        worst = np.maximum(worst_a, worst_b)
        cost = cost_a + cost_b + d.w_max * np.maximum(0, worst - st.late_max)
        cand = np.flatnonzero(ok_a & ok_b)
        if cand.size == 0:
            cand = np.arange(ia.size)  # the estimate may be pessimistic; let exact decide
        top = cand[np.argsort(cost[cand], kind="stable")[:_PAIR_EXACT]]
        best: _Plan | None = None
        for c in top.tolist():
            x, y = int(ia[c]), int(ib[c])
            bound = math.inf if best is None else best.delta
            inserts = [(a, int(ka[x]), int(pa[x])), (b, int(kb[y]), int(pb[y]))]
            plan = self.exact(st, inserts, bound)
            if plan is not None and (best is None or plan.delta < best.delta):
                best = plan
        return best

    def recreate(self, st: _State, units: list[int]) -> None:
        """Insert the given units one by one where each costs least (or leave them out)."""
        d = self.d
        if st.grid is None:
            st.grid = _Grid(st)
        grid = st.grid
        for u in units:
            unit = d.units[u]
            if len(unit) == 1:
                plan = self.best_single(st, grid, unit[0])
            else:
                plan = self.best_pair(st, grid, unit[0], unit[1])
            if plan is not None:
                self.apply(st, plan, grid)

    def order(self, units: list[int]) -> list[int]:
        d = self.d
        how = int(self.rng.integers(4))
        if how == 0:
            return [units[j] for j in self.rng.permutation(len(units))]
        if how == 1:
            return sorted(units, key=lambda u: (d.early[d.units[u][0]], u))
        if how == 2:
            return sorted(units, key=lambda u: (d.soft[d.units[u][0]], u))
        return sorted(units, key=lambda u: (-len(d.units[u]), d.difficulty[u], u))

    # ---- ruin ------------------------------------------------------------------------

    def ruin(self, st: _State, k: int) -> list[int]:
        """Pick about ``k`` served units to take out, by one of four rules."""
        d, rng = self.d, self.rng
        served = [u for u in range(d.n_units) if st.carer[d.units[u][0]] >= 0]
        if not served:
            return []
        k = min(k, len(served))
        how = int(rng.integers(4))
        chosen: list[int] = []
        if how == 0:
            chosen = [served[j] for j in rng.choice(len(served), size=k, replace=False)]
        elif how == 1:
            seed = served[int(rng.integers(len(served)))]
            chosen = [seed]
            near = [int(u) for u in d.neighbours[seed] if st.carer[d.units[int(u)][0]] >= 0]
            pool = near[: 2 * k]
            while len(chosen) < k and pool:
                chosen.append(pool.pop(int(len(pool) * rng.random() ** 3)))
        elif how == 2:
            worth = []
            for u in served:
                gain = 0
                for v in d.units[u]:
                    late = st.start[v] - d.soft[v]
                    gain += d.w_late * max(0, late) + d.w_travel * self._detour(st, v)
                worth.append(gain)
            ranked = [served[j] for j in np.argsort(worth, kind="stable")[::-1]]
            while len(chosen) < k and ranked:
                chosen.append(ranked.pop(int(len(ranked) * rng.random() ** 4)))
        else:
            busy = [kk for kk in range(d.m) if st.routes[kk]]
            rng.shuffle(busy)
            taken: set[int] = set()
            for kk in busy:
                taken.update(d.unit_of[v] for v in st.routes[kk])
                if len(taken) >= k:
                    break
            chosen = sorted(taken)
        visits = [v for u in chosen for v in d.units[u]]
        st.remove(visits)
        return chosen

    def _detour(self, st: _State, v: int) -> int:
        d = self.d
        k = st.carer[v]
        r = st.routes[k]
        p = r.index(v)
        row = d.rows[k]
        before = d.start_loc[k] if p == 0 else d.loc[r[p - 1]]
        after = d.end_loc[k] if p == len(r) - 1 else d.loc[r[p + 1]]
        return row[before][d.loc[v]] + row[d.loc[v]][after] - row[before][after]


def _initial_state(
    data: _Data,
    problem: Problem,
    initial: Sequence[Sequence[int]] | None,
    *,
    greedy_s: float,
    seed: int,
    max_decodes: int | None,
) -> _State:
    if initial is None:
        greedy = sync_greedy(
            problem,
            time_limit_s=greedy_s,
            seed=seed,
            feasible=data.feasible,
            max_decodes=max_decodes,
        )
        initial = greedy.rounds
    # Keep only calls the carer may serve, and double-ups whose halves are on two carers.
    routes = [
        [int(v) for v in r if data.unit_of[v] >= 0 and data.feasible[v, k]]
        for k, r in enumerate(initial)
    ]
    owner = {v: k for k, r in enumerate(routes) for v in r}
    split = {
        v
        for v in owner
        if data.partner[v] >= 0 and owner.get(data.partner[v], owner[v]) != owner[v]
    }
    routes = [[v for v in r if data.partner[v] < 0 or v in split] for r in routes]
    st = _State(data, routes)
    st.reschedule()
    if not st.feasible:
        # Keep what an exact insertion accepts, in the given order.
        st = _State(data, [[] for _ in range(data.m)])
        st.reschedule()
        search = _Search(data, np.random.default_rng(seed))
        done: set[int] = set()
        for k, r in enumerate(routes):
            for v in r:
                u = data.unit_of[v]
                if u in done:
                    continue
                done.add(u)
                unit = data.units[u]
                if len(unit) == 1:
                    plan = search.exact(st, [(v, k, len(st.routes[k]))])
                    if plan is not None:
                        search.apply(st, plan, None)
    return st


def solve_lns(
    problem: Problem,
    feasible: BoolArray,
    *,
    time_limit_s: float,
    seed: int = 0,
    max_iterations: int | None = None,
    initial: Sequence[Sequence[int]] | None = None,
) -> LnsResult:
    """Best day found by ruin and recreate within the budget.

    Parameters
    ----------
    problem
        The (part of the) day; double-ups, soft or hard windows, shifts, work caps, loads
        and the carer-change penalty are honoured. A provider-change cap is not.
    feasible
        Boolean (n_visits, n_carers) of carers allowed each call (from the pre-check).
    time_limit_s
        Wall-clock budget, seconds, including the construction.
    seed
        Seeds every random choice.
    max_iterations
        Stop after this many ruin-and-recreate steps (reproducible runs); ``None``: time only.
    initial
        Rounds to start from instead of the synchronisation-aware greedy.

    Returns
    -------
    LnsResult
        Rounds, start and departure times (seconds) and cost of the best day; calls no round
        could take are in no round.
    """
    started = time.perf_counter()
    deadline = started + time_limit_s
    data = _Data(problem, feasible)
    rng = np.random.default_rng(seed)
    st = _initial_state(
        data,
        problem,
        initial,
        # With an iteration limit the decode count, not the clock, must end the order search.
        greedy_s=(0.05 if max_iterations is None else 0.5) * time_limit_s,
        seed=seed,
        max_decodes=None if max_iterations is None else min(max_iterations, 50),
    )
    search = _Search(data, rng)
    missing = [u for u in range(data.n_units) if st.carer[data.units[u][0]] < 0]
    if missing:
        search.recreate(st, search.order(missing))
        st.reschedule()
    best = st.copy()
    iterations = improvements = 0
    n_units = max(1, data.n_units)
    k_max = max(2, min(_RUIN_MAX, n_units // _RUIN_SHARE + 1))
    # Scale by the cost without unserved penalties, so a start that leaves calls out still
    # anneals (the penalty keeps any trial that drops a call from being accepted).
    out = sum(1 for unit in data.units for i in unit if best.carer[i] < 0)
    t_start = _TEMP_START * max(0, best.cost - data.w_unserved * out) / n_units
    t_end = t_start / _TEMP_DROP
    run_s = max(1e-9, deadline - time.perf_counter())
    run_started = time.perf_counter()
    while data.n_units > 1:
        if max_iterations is not None and iterations >= max_iterations:
            break
        now = time.perf_counter()
        if now >= deadline:
            break
        frac = (
            iterations / max_iterations
            if max_iterations is not None
            else (now - run_started) / run_s
        )
        temperature = t_start * (t_end / t_start) ** frac if t_start > 0 else 0.0
        iterations += 1
        trial = st.copy()
        k = int(rng.integers(2, k_max + 1))
        removed = search.ruin(trial, k)
        trial.reschedule()
        left = [u for u in range(data.n_units) if trial.carer[data.units[u][0]] < 0]
        search.recreate(trial, search.order(left))
        if not trial.feasible or not removed:
            continue
        threshold = float(st.cost)
        if temperature > 0:
            threshold -= temperature * math.log(max(rng.random(), 1e-300))
        if trial.cost < threshold:
            st = trial
            if trial.cost < best.cost:
                best = trial.copy()
                improvements += 1
    start_s = {v: best.start[v] for r in best.routes for v in r}
    return LnsResult(
        rounds=tuple(tuple(r) for r in best.routes),
        start_s=start_s,
        depart_s=tuple(best.depart(k) for k in range(data.m)),
        cost=int(best.cost),
        iterations=iterations,
        improvements=improvements,
    )
