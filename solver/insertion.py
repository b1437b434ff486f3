"""Placement: where a new package fits into existing rounds, with least added travel.

``PlacementIndex`` precomputes, once per set of rounds, one row per gap between consecutive
stops of every round (start → first visit, ..., last visit → end): the stop locations, the
time the carer can leave the earlier stop, when the later stop starts and how far it can be
pushed back (forward time slack, Savelsbergh 1992). A query then prices a call in every gap
of every round with a handful of numpy operations, so a broker's question takes
milliseconds at county scale. Proposals are re-checked exactly before they are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.params import PlacementParams
from solver.problem import BoolArray, IntArray, Problem, Visit
from solver.solution import Solution

_BIG = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class CallInsertion:
    """One call of the package placed in one round.

    Attributes
    ----------
    call
        Index of the call in the package.
    carer
        Carer whose round takes it.
    position
        Index in the carer's current round before which the call goes (len = at the end).
    start_s
        Earliest start of the call there.
    added_travel_s
        Extra travel for the round.
    lateness_s
        Seconds past the call's window end at ``start_s``.
    """

    call: int
    carer: int
    position: int
    start_s: int
    added_travel_s: int
    lateness_s: int


@dataclass(frozen=True)
class Placement:
    """A proposal: one provider's carers taking every call of the package."""

    provider: int
    insertions: tuple[CallInsertion, ...]
    added_travel_s: int
    lateness_s: int


def _skill_bits(skills: frozenset[str], index: dict[str, int]) -> int:
    bits = 0
    for s in skills:
        bits |= 1 << index.setdefault(s, len(index))
    return bits


class PlacementIndex:
    """Per-gap arrays for a set of rounds; build once, query many times.

    Parameters
    ----------
    problem
        The day the rounds belong to.
    solution
        The rounds (today's, or a re-allocation's), with start times.
    """

    def __init__(self, problem: Problem, solution: Solution) -> None:
        self.problem = problem
        self.solution = solution
        self._travel = np.stack(problem.travel_s)  # (modes, n_loc, n_loc)
        self._skill_index: dict[str, int] = {}
        carers = problem.carers
        self._carer_bits = np.array(
            [_skill_bits(c.skills, self._skill_index) for c in carers], dtype=object
        )
        self._carer_gender = np.array([c.gender or "" for c in carers], dtype=object)
        self._carer_provider = np.array([c.provider for c in carers], dtype=np.int64)

        gap_carer, gap_pos, prev_loc, next_loc, prev_free, next_start, next_slack = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        cap_slack, load_room, depart, is_last = [], [], [], []
        visits = problem.visits
        for route in solution.routes:
            c = carers[route.carer]
            travel = problem.travel_s[c.travel_mode]
            seq = list(route.visits)
            starts = list(route.start_s)
            n = len(seq)
            # Forward slack of each later stop: how long its start may slip, given waiting
            # downstream absorbs the push. Double-ups and the end stop are pinned.
            latest = [
                starts[j]
                if visits[seq[j]].sync_group >= 0
                else max(starts[j], visits[seq[j]].latest_start_s)
                for j in range(n)
            ]
            back = (starts[-1] + visits[seq[-1]].duration_s if n else c.shift_start_s) + int(
                travel[visits[seq[-1]].location if n else c.start_location, c.end_location]
            )
            slack = np.empty(n + 1, dtype=np.int64)
            slack[n] = c.shift_end_s - back
            for j in range(n - 1, -1, -1):
                finish = starts[j] + visits[seq[j]].duration_s
                nxt_loc = visits[seq[j + 1]].location if j + 1 < n else c.end_location
                nxt_start = starts[j + 1] if j + 1 < n else back
                wait = nxt_start - (finish + int(travel[visits[seq[j]].location, nxt_loc]))
                slack[j] = min(latest[j] - starts[j], wait + slack[j + 1])
            locs = [c.start_location] + [visits[i].location for i in seq] + [c.end_location]
            frees = [c.shift_start_s] + [
                s + visits[i].duration_s for i, s in zip(seq, starts, strict=True)
            ]
            span = back - (route.depart_s if n else c.shift_start_s)
            room = (
                _BIG
                if c.capacity_units is None
                else c.capacity_units - sum(visits[i].load_units for i in seq)
            )
            for j in range(n + 1):
                gap_carer.append(route.carer)
                gap_pos.append(j)
                prev_loc.append(locs[j])
                next_loc.append(locs[j + 1])
                prev_free.append(frees[j])
                next_start.append(starts[j] if j < n else back)
                next_slack.append(int(slack[j]))
                cap_slack.append(c.work_cap_s - span)
                load_room.append(room)
                depart.append(route.depart_s if n else c.shift_start_s)
                is_last.append(j == n and n > 0)
        as_int = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
        self.gap_carer = as_int(gap_carer)
        self.gap_pos = as_int(gap_pos)
        self.prev_loc = as_int(prev_loc)
        self.next_loc = as_int(next_loc)
        self.prev_free = as_int(prev_free)
        self.next_start = as_int(next_start)
        self.next_slack = as_int(next_slack)
        self.cap_slack = as_int(cap_slack)
        self.load_room = as_int(load_room)
        self.gap_depart = as_int(depart)
        self.gap_is_last = np.array(is_last, dtype=bool)
        self.gap_work_cap = as_int([carers[k].work_cap_s for k in gap_carer])
        self.gap_mode = as_int([carers[k].travel_mode for k in gap_carer])
        self.gap_provider = self._carer_provider[self.gap_carer]
        self.base_travel = self._travel[self.gap_mode, self.prev_loc, self.next_loc]
        order = np.argsort(self.gap_provider, kind="stable")
        cuts = np.searchsorted(self.gap_provider[order], np.arange(problem.num_providers + 1))
        self._provider_gaps = {
            p: order[cuts[p] : cuts[p + 1]]
            for p in range(problem.num_providers)
            if cuts[p + 1] > cuts[p]
        }

    def price(self, call: Visit, *, max_lateness_s: int = 0) -> dict[str, IntArray]:
        """Price one call in every gap: feasibility, start window and added travel.

        Returns
        -------
        dict
            ``ok`` (bool per gap), ``start`` (earliest start), ``start_max`` (latest start
            that keeps the round feasible), ``added`` (extra travel seconds).
        """
        x = call.location
        go = self._travel[self.gap_mode, self.prev_loc, x]
        back = self._travel[self.gap_mode, x, self.next_loc]
        start = np.maximum(self.prev_free + go, call.window_start_s)
        latest = call.latest_start_s + max_lateness_s
        # Latest start that pushes the next stop no more than its slack allows.
        push_room = self.next_start + np.maximum(self.next_slack, 0) - call.duration_s - back
        start_max = np.minimum(latest, push_room)
        added = go + back - self.base_travel
        need = _skill_bits(call.skills, self._skill_index)
        skilled = np.array([(need & ~int(b)) == 0 for b in self._carer_bits], dtype=bool)
        if call.gender:
            skilled &= self._carer_gender == call.gender
        ok = (start <= start_max) & skilled[self.gap_carer] & (self.next_slack >= 0)
        # Working-hours cap. After the last call the round ends later by the wait for the
        # window too; elsewhere the round grows by at most the added travel and the call.
        ends_later = start + call.duration_s + back - self.gap_depart <= self.gap_work_cap
        ok &= np.where(self.gap_is_last, ends_later, added + call.duration_s <= self.cap_slack)
        ok &= call.load_units <= self.load_room
        return {"ok": ok, "start": start, "start_max": start_max, "added": added}

    def place(
        self,
        calls: Sequence[Visit],
        params: PlacementParams | None = None,
        *,
        providers: Sequence[int] | None = None,
    ) -> tuple[Placement, ...]:
        """Top-k provider proposals for a package, least added travel first.

        Parameters
        ----------
        calls
            The package's calls for the day; a double-up is two calls sharing a
            ``sync_group`` (their start-gap band applies as in ``Visit``).
        params
            Number of proposals and lateness allowed.
        providers
            Only these providers (e.g. those whose contract covers the area).

        Returns
        -------
        tuple of Placement
            At most ``params.top_k`` proposals from distinct providers, each placing every
            call; empty if no provider can take the whole package.
        """
        params = params or PlacementParams()
        priced = [self.price(c, max_lateness_s=params.max_lateness_s) for c in calls]
        allowed_provider = None
        if providers is not None:
            allowed_provider = np.isin(self.gap_provider, np.asarray(providers, dtype=np.int64))
        pairs: dict[int, int] = {}
        groups: dict[int, list[int]] = {}
        for j, c in enumerate(calls):
            if c.sync_group >= 0:
                groups.setdefault(c.sync_group, []).append(j)
        for members in groups.values():
            if len(members) != 2:
                raise ValueError(f"Expected double-up calls in pairs, got {members}.")
            pairs[members[1]] = members[0]

        # Cheapest feasible gap per (call, provider), vectorised with a lexsort.
        cost = np.stack([np.where(p["ok"], p["added"], _BIG) for p in priced])
        if allowed_provider is not None:
            cost[:, ~allowed_provider] = _BIG
        proposals: list[Placement] = []
        for prov, in_prov in self._provider_gaps.items():
            sub = cost[:, in_prov]
            if (sub.min(axis=1) >= _BIG).any():
                continue
            placement = self._combine(calls, priced, in_prov, sub, pairs, prov, spread=False)
            if placement is not None and not self._holds(calls, placement, params):
                placement = self._combine(calls, priced, in_prov, sub, pairs, prov, spread=True)
            if placement is not None and self._holds(calls, placement, params):
                proposals.append(placement)
        proposals.sort(key=lambda p: (p.lateness_s > 0, p.added_travel_s, p.provider))
        return tuple(proposals[: params.top_k])

    def _combine(
        self,
        calls: Sequence[Visit],
        priced: list[dict[str, IntArray]],
        gaps: IntArray,
        cost: IntArray,
        pairs: dict[int, int],
        provider: int,
        *,
        spread: bool,
    ) -> Placement | None:
        """Best gap per call within one provider: one call per gap (per carer if ``spread``)."""
        chosen: dict[int, int] = {}
        used: set[tuple[int, int]] = set()
        for j in range(len(calls)):
            rank = np.argsort(cost[j], kind="stable")
            order = gaps[rank[cost[j][rank] < _BIG][:50]]
            for g in order:
                key = (int(self.gap_carer[g]), -1 if spread else int(self.gap_pos[g]))
                if key in used:
                    continue
                if j in pairs:
                    first = chosen[pairs[j]]
                    if self.gap_carer[first] == self.gap_carer[g]:
                        continue
                    if not self.pair_starts(calls[j], priced[pairs[j]], first, priced[j], g)[2]:
                        continue
                chosen[j] = int(g)
                used.add(key)
                break
            else:
                return None
        starts = {j: int(priced[j]["start"][g]) for j, g in chosen.items()}
        for j, i in pairs.items():
            a, b, ok = self.pair_starts(calls[j], priced[i], chosen[i], priced[j], chosen[j])
            assert ok  # checked when the second half was chosen
            starts[i], starts[j] = int(a), int(b)
        inserts = []
        for j, g in chosen.items():
            c = calls[j]
            inserts.append(
                CallInsertion(
                    call=j,
                    carer=int(self.gap_carer[g]),
                    position=int(self.gap_pos[g]),
                    start_s=starts[j],
                    added_travel_s=int(priced[j]["added"][g]),
                    lateness_s=max(0, starts[j] - c.latest_start_s),
                )
            )
        inserts.sort(key=lambda ins: ins.call)
        return Placement(
            provider=provider,
            insertions=tuple(inserts),
            added_travel_s=sum(i.added_travel_s for i in inserts),
            lateness_s=sum(i.lateness_s for i in inserts),
        )

    @staticmethod
    def pair_starts(
        band: Visit,
        first: dict[str, IntArray],
        g1: IntArray | int,
        second: dict[str, IntArray],
        g2: IntArray | int,
    ) -> tuple[IntArray, IntArray, BoolArray]:
        """Earliest starts of two double-up halves in gaps ``g1``, ``g2`` that meet the band.

        ``first`` and ``second`` are ``price`` answers for the halves; ``g1``, ``g2`` gap
        indices or equal-length arrays of them (one pairing per element). The first half
        starts as early as its gap and the band allow, the second as early as its gap and
        the band then allow.

        Returns
        -------
        tuple
            Start of the first half, start of the second (seconds), and whether both
            starts lie within their gaps' start windows (``start`` .. ``start_max``).
        """
        a = np.maximum(first["start"][g1], second["start"][g2] - band.sync_max_gap_s)
        b = np.maximum(second["start"][g2], a + band.sync_min_gap_s)
        ok = (a <= first["start_max"][g1]) & (b <= second["start_max"][g2])
        return a, b, ok & (b - a <= band.sync_max_gap_s)

    def _holds(self, calls: Sequence[Visit], placement: Placement, params: PlacementParams) -> bool:
        """Re-time every round that takes a call exactly: still on time, in shift and in hours?

        The round is timed as early as it can run; its least span is then from the latest
        departure that still keeps that finish (a backward pass) to the return home.
        """
        by_carer: dict[int, list[CallInsertion]] = {}
        for ins in placement.insertions:
            by_carer.setdefault(ins.carer, []).append(ins)
        problem, visits = self.problem, self.problem.visits
        for k, inserts in by_carer.items():
            route = self.solution.routes[k]
            carer = problem.carers[k]
            travel = problem.travel_s[carer.travel_mode]
            if carer.capacity_units is not None:
                load = sum(visits[i].load_units for i in route.visits)
                if load + sum(calls[x.call].load_units for x in inserts) > carer.capacity_units:
                    return False
            # (visit, earliest start, latest start): existing double-ups stay pinned, other
            # calls may slip up to their window (or their current start if already late).
            stops: list[tuple[Visit, int, int]] = []
            extra = sorted(inserts, key=lambda i: (i.position, calls[i.call].window_start_s))
            late_ok = params.max_lateness_s
            e = 0
            for j, (i, s) in enumerate(zip(route.visits, route.start_s, strict=True)):
                while e < len(extra) and extra[e].position == j:
                    c = calls[extra[e].call]
                    stops.append((c, extra[e].start_s, c.latest_start_s + late_ok))
                    e += 1
                v = visits[i]
                pinned = v.sync_group >= 0
                stops.append((v, s if pinned else 0, s if pinned else max(v.latest_start_s, s)))
            for x in extra[e:]:
                c = calls[x.call]
                stops.append((c, x.start_s, c.latest_start_s + late_ok))
            t, here = carer.shift_start_s, carer.start_location
            for v, lo, hi in stops:
                start = max(t + int(travel[here, v.location]), v.window_start_s, lo)
                if start > hi:
                    return False
                t, here = start + v.duration_s, v.location
            back = t + int(travel[here, carer.end_location])
            if back > carer.shift_end_s:
                return False
            # Latest start of each stop that still finishes by the earliest finish.
            finish_by, there = back, carer.end_location
            for v, _, hi in reversed(stops):
                finish_by = min(hi, finish_by - int(travel[v.location, there]) - v.duration_s)
                there = v.location
            leave = finish_by - int(travel[carer.start_location, there])
            if back - leave > carer.work_cap_s:
                return False
        return True


def place_package(
    problem: Problem,
    solution: Solution,
    calls: Sequence[Visit],
    params: PlacementParams | None = None,
    *,
    providers: Sequence[int] | None = None,
) -> tuple[Placement, ...]:
    """Top-k feasible insertions of a new package into existing rounds.

    Builds a ``PlacementIndex`` (tens of milliseconds at county scale) and queries it;
    callers answering many queries against the same rounds should keep the index.

    Parameters
    ----------
    problem
        The day the rounds belong to (its matrices must include the package's location).
    solution
        Existing rounds with start times.
    calls
        The package's calls for the day (``Visit`` objects; provider/carer fields ignored).
    params
        Number of proposals and lateness allowed.
    providers
        Restrict proposals to these providers.

    Returns
    -------
    tuple of Placement
        Proposals from distinct providers, least added travel first.
    """
    return PlacementIndex(problem, solution).place(calls, params, providers=providers)
