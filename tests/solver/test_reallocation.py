"""Re-allocation: feasibility invariants, infeasible calls reported, determinism, optimality."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import (
    Carer,
    InvalidRoundsError,
    Objective,
    Policy,
    Problem,
    ReallocationParams,
    Solution,
    UnservedReason,
    Visit,
    evaluate_rounds,
    reallocate,
)
from solver._passes import Passes
from tests.solver.conftest import H, street_matrix

FAST = ReallocationParams(time_limit_s=1, workers=1, solution_limit=300)


def assert_feasible(problem: Problem, sol: Solution) -> None:
    """Every call once; shifts, skills, windows, travel and double-ups honoured."""
    n = problem.num_visits
    for r in sol.routes:
        cap = problem.carers[r.carer].capacity_units
        assert cap is None or sum(problem.visits[i].load_units for i in r.visits) <= cap
    placed = [i for r in sol.routes for i in r.visits]
    unserved = [u.visit for u in sol.unserved]
    assert sorted(placed + unserved) == list(range(n))
    assert all(u.reason in UnservedReason for u in sol.unserved)
    for r in sol.routes:
        carer = problem.carers[r.carer]
        travel = problem.travel_s[carer.travel_mode]
        t, here = r.depart_s, carer.start_location
        assert r.depart_s >= carer.shift_start_s
        for i, start in zip(r.visits, r.start_s, strict=True):
            v = problem.visits[i]
            assert v.skills <= carer.skills
            assert v.gender in (None, carer.gender)
            assert start >= t + travel[here, v.location]  # no carer in two places
            assert start >= v.window_start_s
            if problem.objective.hard_windows:
                assert start + v.duration_s <= v.window_end_s
            t, here = start + v.duration_s, v.location
        if r.visits:  # an idle carer stays at home
            assert r.return_s == t + travel[here, carer.end_location]
        assert r.return_s <= carer.shift_end_s
        assert r.return_s - r.depart_s <= carer.work_cap_s
    carer_of, start_of = sol.carer_of(n), sol.start_of(n)
    for a, b in problem.sync_pairs:
        assert (carer_of[a] < 0) == (carer_of[b] < 0)
        if carer_of[a] >= 0:
            assert carer_of[a] != carer_of[b]
            gap = start_of[b] - start_of[a]
            v = problem.visits[a]
            assert v.sync_min_gap_s <= gap <= v.sync_max_gap_s
    assert sol.sync_violations == 0


def test_serves_every_call_on_one_street(one_street_two_carers: Problem) -> None:
    """Four easy calls are all served, feasibly."""
    sol = reallocate(one_street_two_carers, FAST)
    assert_feasible(one_street_two_carers, sol)
    assert sol.is_complete


def test_double_up_starts_together_on_two_carers(double_up_on_street: Problem) -> None:
    """Both halves of a double-up start at the same time on two hoist carers."""
    sol = reallocate(double_up_on_street, FAST)
    assert_feasible(double_up_on_street, sol)
    carer_of = sol.carer_of(4)
    assert carer_of[0] >= 0 and carer_of[1] >= 0
    assert {carer_of[0], carer_of[1]} == {0, 1}


def test_double_up_one_after_the_other(double_up_on_street: Problem) -> None:
    """A 15-30 minute start gap band is honoured (Mankowska-style sequential double service)."""
    visits = list(double_up_on_street.visits)
    for j in (0, 1):
        v = visits[j]
        visits[j] = Visit(
            v.location,
            8 * H,
            11 * H,
            v.duration_s,
            skills=v.skills,
            sync_group=0,
            sync_min_gap_s=900,
            sync_max_gap_s=1800,
        )
    problem = double_up_on_street.with_visits(visits)
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    start = sol.start_of(4)
    assert 900 <= start[1] - start[0] <= 1800


def test_infeasible_calls_reported_per_call() -> None:
    """No skilled carer, window shorter than visit, and one-carer double-up each get a reason."""
    visits = (
        Visit(1, 8 * H, 10 * H, 1800, skills=frozenset({"peg_feeding"})),
        Visit(2, 8 * H, 8 * H + 900, 1800),
        Visit(3, 9 * H, 11 * H, 1800, skills=frozenset({"hoist"}), sync_group=7),
        Visit(3, 9 * H, 11 * H, 1800, skills=frozenset({"hoist"}), sync_group=7),
        Visit(4, 9 * H, 11 * H, 1800),
    )
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, skills=frozenset({"hoist"})),
        Carer(0, 0, 0, 7 * H, 14 * H),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(5))
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    reasons = {u.visit: u.reason for u in sol.unserved}
    assert reasons == {
        0: UnservedReason.NO_ELIGIBLE_CARER,
        1: UnservedReason.WINDOW_TOO_SHORT,
        2: UnservedReason.DOUBLE_UP_ONE_CARER,
        3: UnservedReason.DOUBLE_UP_ONE_CARER,
    }
    assert sol.carer_of(5)[4] >= 0


def test_call_outside_every_shift_is_reported() -> None:
    """A bedtime call when every carer works mornings is reported, not dropped."""
    visits = (Visit(1, 21 * H, 22 * H, 1800), Visit(2, 8 * H, 9 * H, 1800))
    carers = (Carer(0, 0, 0, 7 * H, 14 * H),)
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(3))
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    assert [(u.visit, u.reason) for u in sol.unserved] == [(0, UnservedReason.NO_CARER_IN_SHIFT)]


def test_gender_preference_and_provider_boundary_honoured() -> None:
    """A call wanting a female carer, and one only provider 1 may take, go to the right carers."""
    visits = (Visit(1, 8 * H, 10 * H, 1800, gender="f"), Visit(2, 8 * H, 10 * H, 1800))
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, gender="m"),
        Carer(1, 3, 3, 7 * H, 14 * H, gender="f"),
        Carer(0, 2, 2, 7 * H, 14 * H, gender="m"),
    )
    eligible = np.array([[True, False], [True, True]])
    problem = Problem(
        visits=visits, carers=carers, travel_s=street_matrix(4), policy=Policy(eligible=eligible)
    )
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    assert sol.carer_of(2).tolist() == [1, 1]


@pytest.mark.parametrize("fixture", ["one_street_two_carers", "double_up_on_street"])
def test_same_seed_same_answer(fixture: str, request: pytest.FixtureRequest) -> None:
    """Two runs with the same seed and solution limit give identical solutions (both engines)."""
    problem = request.getfixturevalue(fixture)
    params = ReallocationParams(time_limit_s=3, workers=1, solution_limit=50, seed=3)
    first, second = reallocate(problem, params), reallocate(problem, params)
    assert first == second
    assert first.stats.engine == ("pyvrp" if fixture == "one_street_two_carers" else "lns")


def test_provider_change_cap_zero_keeps_everyone_with_their_provider(
    one_street_two_carers: Problem,
) -> None:
    """With a cap of 0, no person moves to the other provider even when it would be cheaper."""
    problem = Problem(
        visits=one_street_two_carers.visits,
        carers=one_street_two_carers.carers,
        travel_s=one_street_two_carers.travel_s,
        policy=Policy(max_provider_changes=0),
    )
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    assert sol.provider_changes == 0


def test_provider_change_cap_one() -> None:
    """A cap of one person is respected when moving more would serve more calls."""
    visits = tuple(
        Visit(loc, 8 * H, 9 * H, 2400, provider=0, service_user=loc) for loc in (1, 2, 3)
    )
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H),
        Carer(1, 0, 0, 7 * H, 14 * H),
        Carer(1, 0, 0, 7 * H, 14 * H),
    )
    problem = Problem(
        visits=visits,
        carers=carers,
        travel_s=street_matrix(4),
        policy=Policy(max_provider_changes=1),
    )
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    assert sol.provider_changes <= 1
    assert len(sol.unserved) == 1


def test_soft_windows_report_lateness() -> None:
    """With soft windows a call that cannot be on time is served late and its lateness costed."""
    visits = (Visit(1, 8 * H, 8 * H + 1800, 1800), Visit(2, 8 * H, 8 * H + 1800, 1800))
    carers = (Carer(0, 0, 0, 8 * H, 14 * H),)
    problem = Problem(
        visits=visits,
        carers=carers,
        travel_s=street_matrix(3),
        objective=Objective(hard_windows=False, max_lateness_weight=5),
    )
    sol = reallocate(problem, FAST)
    assert_feasible(problem, sol)
    assert sol.is_complete
    assert sol.total.lateness_s > 0
    start = sol.start_of(2)
    late = [max(0, int(start[i]) - v.latest_start_s) for i, v in enumerate(visits)]
    assert (sol.total.lateness_s, sol.total.max_lateness_s) == (sum(late), max(late))


def test_decomposed_day_keeps_invariants() -> None:
    """A day cut into parts (two workers) still serves each call once with double-ups intact."""
    rng = np.random.default_rng(5)
    n_loc = 30
    visits = [
        Visit(int(loc), int(ws) * H, int(ws) * H + 2 * H, 1800)
        for loc, ws in zip(rng.integers(1, n_loc, 24), rng.integers(7, 12, 24), strict=True)
    ]
    visits += [
        Visit(5, 9 * H, 11 * H, 1800, sync_group=0),
        Visit(5, 9 * H, 11 * H, 1800, sync_group=0),
    ]
    carers = tuple(Carer(0, int(s), int(s), 7 * H, 15 * H) for s in rng.integers(0, n_loc, 6))
    problem = Problem(visits=tuple(visits), carers=carers, travel_s=street_matrix(n_loc, step_s=60))
    params = ReallocationParams(time_limit_s=3, workers=2, max_part_visits=10, solution_limit=200)
    sol = reallocate(problem, params)
    assert sol.stats.parts >= 3
    assert_feasible(problem, sol)


def _brute_force_cost(problem: Problem) -> int:
    """Least cost over every assignment and order of the visits, serving all of them."""
    n, m = problem.num_visits, problem.num_carers
    best = None
    for owner in itertools.product(range(m), repeat=n):
        groups = [[i for i in range(n) if owner[i] == k] for k in range(m)]
        for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
            sol = evaluate_rounds(problem, orders)
            feasible = sol.total.lateness_s == 0 and all(
                r.return_s <= problem.carers[r.carer].shift_end_s for r in sol.routes
            )
            if feasible and (best is None or sol.cost < best):
                best = sol.cost
    assert best is not None
    return best


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_instances_match_brute_force(seed: int, engine: str) -> None:
    """Five-call, two-carer days: each engine finds the brute-force optimum."""
    rng = np.random.default_rng(seed)
    n_loc = 8
    xy = rng.uniform(0, 3000, (n_loc, 2))
    travel = np.rint(np.hypot(*(xy[:, None] - xy[None, :]).transpose(2, 0, 1))).astype(int)
    visits = tuple(
        Visit(int(1 + j), int(ws), int(ws) + 2 * H, int(d))
        for j, (ws, d) in enumerate(
            zip(rng.integers(8 * H, 10 * H, 5), rng.choice([900, 1800], 5), strict=True)
        )
    )
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 6, 7, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=travel)
    sol = reallocate(problem, ReallocationParams(time_limit_s=1, workers=1, engine=engine))
    assert sol.stats.engine == engine
    assert_feasible(problem, sol)
    assert sol.is_complete
    assert sol.cost == _brute_force_cost(problem)


@st.composite
def small_days(draw: st.DrawFn) -> Problem:
    """Random small days: skills, genders, shifts, a possible double-up, infeasible calls."""
    n_loc = draw(st.integers(3, 8))
    step = draw(st.integers(60, 900))
    n_visits = draw(st.integers(1, 7))
    visits = []
    for _ in range(n_visits):
        ws = draw(st.integers(7, 18)) * H
        width = draw(st.sampled_from([900, 1800, 3600, 7200]))
        visits.append(
            Visit(
                draw(st.integers(1, n_loc - 1)),
                ws,
                ws + width,
                draw(st.sampled_from([900, 1800, 2700])),
                skills=frozenset(
                    draw(st.sets(st.sampled_from(["hoist", "medication"]), max_size=1))
                ),
                gender=draw(st.sampled_from([None, None, "f"])),
            )
        )
    if draw(st.booleans()):
        ws = draw(st.integers(8, 16)) * H
        band = draw(st.sampled_from([(0, 0), (-600, 600), (900, 1800)]))
        for _ in range(2):
            visits.append(
                Visit(
                    draw(st.integers(1, n_loc - 1)) if band[0] > 0 else 1,
                    ws,
                    ws + 2 * H,
                    1800,
                    sync_group=0,
                    sync_min_gap_s=band[0],
                    sync_max_gap_s=band[1],
                )
            )
    carers = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.sampled_from([7 * H, 12 * H, 15 * H]))
        carers.append(
            Carer(
                draw(st.integers(0, 1)),
                draw(st.integers(0, n_loc - 1)),
                draw(st.integers(0, n_loc - 1)),
                start,
                start + draw(st.sampled_from([4 * H, 7 * H, 10 * H])),
                skills=frozenset(draw(st.sets(st.sampled_from(["hoist", "medication"])))),
                gender=draw(st.sampled_from(["f", "m"])),
            )
        )
    hard = draw(st.booleans())
    return Problem(
        visits=tuple(visits),
        carers=tuple(carers),
        travel_s=street_matrix(n_loc, step_s=step),
        objective=Objective(hard_windows=hard),
        n_providers=2,
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days())
def test_property_invariants_hold(problem: Problem) -> None:
    """Any small day: calls served once or reported, no carer in two places, double-ups synced."""
    sol = reallocate(problem, ReallocationParams(time_limit_s=0.3, workers=1, solution_limit=100))
    assert_feasible(problem, sol)


def test_warm_start_from_complete_rounds_is_no_worse(one_street_two_carers: Problem) -> None:
    """Starting from complete, feasible rounds returns a solution costing no more than them."""
    initial = [[3, 2, 1, 0], []]
    before = evaluate_rounds(one_street_two_carers, initial)
    sol = reallocate(one_street_two_carers, FAST, initial=initial)
    assert_feasible(one_street_two_carers, sol)
    assert sol.stats.status == "warm"
    assert sol.cost <= before.cost


def test_initial_rounds_must_fit_the_problem(one_street_two_carers: Problem) -> None:
    """Initial rounds with the wrong number of carers or a repeated visit are refused."""
    with pytest.raises(InvalidRoundsError):
        reallocate(one_street_two_carers, FAST, initial=[[0, 1, 2, 3]])
    with pytest.raises(InvalidRoundsError):
        reallocate(one_street_two_carers, FAST, initial=[[0, 0], [1]])


def test_cross_part_repair_serves_call_only_another_part_can_take() -> None:
    """A hoist call in a part with no hoist carer is picked up by the other part's carer."""
    n_loc = 24
    visits = [Visit(loc, 8 * H, 12 * H, 1200) for loc in (1, 2, 3, 4, 5, 6)]
    visits += [Visit(loc, 8 * H, 12 * H, 1200) for loc in (18, 19, 20, 21, 22)]
    visits.append(Visit(23, 8 * H, 14 * H, 1200, skills=frozenset({"hoist"})))
    carers = (
        Carer(0, 0, 0, 7 * H, 15 * H, skills=frozenset({"hoist"})),
        Carer(0, 0, 0, 7 * H, 15 * H),
        Carer(1, 23, 23, 7 * H, 15 * H),
        Carer(1, 23, 23, 7 * H, 15 * H),
    )
    problem = Problem(
        visits=tuple(visits), carers=carers, travel_s=street_matrix(n_loc, step_s=120)
    )
    params = ReallocationParams(time_limit_s=2, workers=1, max_part_visits=6, solution_limit=200)
    sol = reallocate(problem, params)
    assert sol.stats.parts == 2
    assert_feasible(problem, sol)
    assert sol.carer_of(12)[11] == 0


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_capacity_limits_each_round(engine: str) -> None:
    """Loads per round stay within each carer's capacity (vehicle-routing benchmarks)."""
    visits = tuple(Visit(loc, 7 * H, 14 * H, 600, load_units=4) for loc in (1, 2, 3, 4))
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, capacity_units=8),
        Carer(0, 0, 0, 7 * H, 14 * H, capacity_units=8),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(5))
    sol = reallocate(problem, ReallocationParams(time_limit_s=1, workers=1, engine=engine))
    assert_feasible(problem, sol)
    assert sol.is_complete
    assert [c.load_units for c in sol.costs] == [8, 8]


def test_carer_change_penalty_keeps_todays_carer() -> None:
    """With a continuity penalty, calls stay with today's carer when that costs no more travel."""
    visits = tuple(Visit(loc, 8 * H, 12 * H, 1800, carer=1, provider=0) for loc in (1, 2, 3))
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 0, 0, 7 * H, 14 * H))
    problem = Problem(
        visits=visits,
        carers=carers,
        travel_s=street_matrix(4),
        policy=Policy(carer_change_penalty=100_000),
    )
    sol = reallocate(problem, ReallocationParams(time_limit_s=1, workers=1, use_initial=False))
    assert_feasible(problem, sol)
    assert sol.stats.engine == "ortools"
    assert sol.carer_of(3).tolist() == [1, 1, 1]
    assert sol.total.carer_changes == 0


def _spread_day(seed: int, n_visits: int, n_carers: int) -> Problem:
    """Calls and carers scattered over a 20 km square, in three towns, morning and evening."""
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0, 20_000, (3, 2))
    homes = towns[rng.integers(0, 3, n_visits)] + rng.normal(0, 1500, (n_visits, 2))
    bases = towns[rng.integers(0, 3, n_carers)] + rng.normal(0, 1500, (n_carers, 2))
    xy = np.vstack([homes, bases])
    travel = np.rint(np.hypot(*(xy[:, None] - xy[None, :]).transpose(2, 0, 1)) / 10).astype(
        np.int64
    )
    opens = rng.choice([7 * H, 8 * H, 17 * H, 18 * H], n_visits)
    visits = tuple(
        Visit(i, int(t), int(t) + 3 * H, 1800, carer=int(rng.integers(n_carers)))
        for i, t in enumerate(opens)
    )
    carers = tuple(
        Carer(0, n_visits + k, n_visits + k, *(7 * H, 14 * H) if k % 2 else (15 * H, 22 * H))
        for k in range(n_carers)
    )
    return Problem(visits=visits, carers=carers, travel_s=travel)


def test_decomposed_day_finishes_within_its_time_limit() -> None:
    """The time limit is a deadline for the whole call: parts, stitching and repair."""
    problem = _spread_day(0, 400, 40)
    params = ReallocationParams(time_limit_s=4, workers=2, max_part_visits=60)
    started = time.perf_counter()
    sol = reallocate(problem, params)
    wall = time.perf_counter() - started
    assert sol.stats.parts >= 6
    assert wall <= 4 + 0.5
    assert_feasible(problem, sol)


def test_passes_stop_halfway_for_a_repair_the_second_half_re_solves_around(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a decomposed day the improvement passes stop halfway for a repair of what they
    have not placed; the second half's passes start from the rounds it returns, and
    regions grow from that point on, as they would have from half the passes' time."""
    from solver import reallocation

    calls: list[tuple[str, float, float | None, object]] = []
    real_passes, real_repair = reallocation.run_passes, reallocation.repair

    def passes(*args: object, **kwargs: object) -> Passes:
        placed = {i for r in args[1] for i in r}  # type: ignore[attr-defined]
        calls.append(("passes", time.perf_counter(), kwargs.get("grow_at"), placed))
        calls.append(("end", kwargs["end"], None, None))
        return real_passes(*args, **kwargs)

    def repair(*args: object, **kwargs: object) -> object:
        calls.append(("repair", time.perf_counter(), None, None))
        out = real_repair(*args, **kwargs)
        placed = {i for r in out[0] for i in r}  # type: ignore[index]
        calls.append(("repaired", time.perf_counter(), None, placed))
        return out

    monkeypatch.setattr(reallocation, "run_passes", passes)
    monkeypatch.setattr(reallocation, "repair", repair)
    problem = _spread_day(0, 400, 40)
    sol = reallocate(problem, ReallocationParams(time_limit_s=4, workers=2, max_part_visits=60))
    kinds = [c[0] for c in calls if c[0] in ("passes", "repair")]
    assert kinds[:4] == ["repair", "passes", "repair", "passes"]
    _, first, second = [i for i, c in enumerate(calls) if c[0] in ("passes", "repair")][:3]
    halfway = calls[first + 1][1]
    began, end = calls[first][1], calls[second + 3][1]
    assert began < halfway < end
    assert halfway - began == pytest.approx(end - halfway, abs=0.05)
    assert calls[first][2] == calls[second + 2][2] == halfway  # regions grow from there
    # The second half's passes start with every call the halfway repair placed.
    assert calls[second + 2][3] == calls[second + 1][3]
    assert_feasible(problem, sol)


def test_passes_run_straight_through_where_every_call_is_placed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the parts and the first repair placed every call, the passes do not stop
    halfway (a repair would find nothing to place, and the lanes would idle)."""
    from solver import reallocation

    calls: list[tuple[str, object]] = []
    real_passes, real_repair = reallocation.run_passes, reallocation.repair

    def passes(*args: object, **kwargs: object) -> Passes:
        calls.append(("passes", kwargs.get("grow_at")))
        return real_passes(*args, **kwargs)

    def repair(*args: object, **kwargs: object) -> object:
        calls.append(("repair", None))
        return real_repair(*args, **kwargs)

    monkeypatch.setattr(reallocation, "run_passes", passes)
    monkeypatch.setattr(reallocation, "repair", repair)
    problem = _spread_day(0, 120, 40)
    params = ReallocationParams(time_limit_s=3, workers=2, max_part_visits=30)
    sol = reallocate(problem, params)
    assert sol.stats.parts >= 3
    assert not sol.unserved
    assert calls == [("repair", None), ("passes", None)]
    assert_feasible(problem, sol)


@pytest.mark.parametrize("why", ["soft windows", "solution limit"])
def test_passes_run_straight_through_on_soft_windows_or_a_solution_limit(
    why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls left out or not, a soft-window day's passes (regions to OR-Tools) do not stop
    halfway, nor do passes with a solution limit (a stop on the clock would make two runs
    differ)."""
    from solver import reallocation

    grow_at: list[object] = []
    real_passes = reallocation.run_passes

    def passes(*args: object, **kwargs: object) -> Passes:
        grow_at.append(kwargs.get("grow_at"))
        return real_passes(*args, **kwargs)

    monkeypatch.setattr(reallocation, "run_passes", passes)
    problem = _spread_day(0, 400, 40)
    params = ReallocationParams(time_limit_s=4, workers=2, max_part_visits=60)
    if why == "soft windows":
        soft = replace(problem.objective, hard_windows=False, max_lateness_s=1800)
        problem = replace(problem, objective=soft)
    else:
        params = replace(params, solution_limit=20)
    sol = reallocate(problem, params)
    assert sol.stats.parts >= 6
    assert grow_at[0] is None  # no halfway point: one run of passes to the end
    assert_feasible(problem, sol)


def test_decomposed_day_same_seed_same_answer_on_two_workers() -> None:
    """With a solution limit, two runs on two workers give the same rounds."""
    problem = _spread_day(1, 120, 14)
    params = ReallocationParams(time_limit_s=60, workers=2, max_part_visits=30, solution_limit=30)
    first, second = reallocate(problem, params), reallocate(problem, params)
    assert first.stats.parts >= 3
    # The passes stop at the first pass with nothing better, not at the clock.
    assert first.stats.wall_s < params.time_limit_s / 2
    assert [r.visits for r in first.routes] == [r.visits for r in second.routes]
    assert [r.start_s for r in first.routes] == [r.start_s for r in second.routes]
    assert first.cost == second.cost


def test_decomposition_loses_no_call_the_whole_day_places() -> None:
    """Cut into parts, a day still serves every call a whole-day solve serves."""
    problem = _spread_day(2, 90, 20)
    whole = reallocate(problem, replace(FAST, time_limit_s=5, max_part_visits=200))
    cut = reallocate(problem, replace(FAST, time_limit_s=5, max_part_visits=25, workers=2))
    assert cut.stats.parts >= 3
    assert not whole.unserved
    assert len(cut.unserved) <= len(whole.unserved)
    assert_feasible(problem, cut)


def test_a_region_is_costed_with_carers_leaving_home_just_in_time() -> None:
    """A region's rounds before and after its search are compared alike: whatever
    departure an engine reported, each carer leaves home just as their first call needs,
    so waiting at home before the round never counts against either side."""
    from solver._passes import region_cost

    visits = (Visit(4, 9 * H, 10 * H, 1800), Visit(6, 9 * H, 11 * H, 1800))
    problem = Problem(
        visits=visits, carers=(Carer(0, 0, 0, 7 * H, 14 * H),), travel_s=street_matrix(8)
    )
    start_s = {0: 9 * H, 1: 9 * H + 1800 + 600}
    at_shift_start = evaluate_rounds(problem, [(0, 1)], start_s=start_s, depart_s=[7 * H])
    just_in_time = evaluate_rounds(problem, [(0, 1)], start_s=start_s, depart_s=[9 * H - 4 * 300])
    assert just_in_time.total.waiting_s == 0
    assert at_shift_start.cost > just_in_time.cost
    assert region_cost(problem, [(0, 1)], start_s=start_s) == just_in_time.cost


@dataclass
class _Pass:
    """A decomposed day's answer as the improvement passes take it, the search limit of
    each region they sent to a lane (``sent``, one list per ``improve``), the carers of
    each region they cut (``cut``, one list per pass) and the largest region each cut
    asked for (``sizes``)."""

    problem: Problem
    rounds: list[tuple[int, ...]]
    start_s: dict[int, int]
    depart_s: list[int]
    feasible: np.ndarray
    sent: list[list[float]]
    cut: list[list[np.ndarray]]
    sizes: list[int]

    def improve(
        self,
        *,
        seconds: float,
        around: np.ndarray | None = None,
        hand_over: bool = True,
        solution_limit: int | None = None,
    ) -> Passes:
        """Passes (seed 1, two lanes) that must end ``seconds`` from now."""
        from solver._passes import run_passes

        params = ReallocationParams(
            time_limit_s=60,
            workers=2,
            max_part_visits=60,
            engine="pyvrp",
            lns_iterations_per_solution=0,
            solution_limit=solution_limit,
        )
        self.sent.append([])
        return run_passes(
            self.problem,
            self.rounds,
            self.start_s,
            self.depart_s,
            self.feasible,
            params,
            lanes=2,
            end=time.perf_counter() + seconds,
            seed=1,
            around=around,
            hand_over=hand_over,
        )

    def answer(self) -> Solution:
        """The rounds as they stand, costed with their start and departure times."""
        return evaluate_rounds(
            self.problem, self.rounds, start_s=self.start_s, depart_s=self.depart_s
        )

    def cost_leaving_just_in_time(self) -> int:
        """The day's cost as a pass compares regions: each carer leaving just in time."""
        from solver.baseline import just_in_time_departures

        depart_s = just_in_time_departures(self.problem, self.rounds, self.start_s)
        return evaluate_rounds(
            self.problem, self.rounds, start_s=self.start_s, depart_s=depart_s
        ).cost


def _a_pass(monkeypatch: pytest.MonkeyPatch, region_s: float) -> _Pass:
    """A 400-call day cut into parts of 60, each region given ``region_s``."""
    from solver import _passes
    from solver._precheck import precheck

    problem = _spread_day(0, 400, 40)
    start = reallocate(problem, replace(FAST, time_limit_s=5, max_part_visits=60, workers=2))
    state = _Pass(
        problem,
        list(start.rounds),
        {i: s for r in start.routes for i, s in zip(r.visits, r.start_s, strict=True)},
        [r.depart_s for r in start.routes],
        precheck(problem)[1],
        [],
        [],
        [],
    )
    regroup, flight = _passes.regroup, _passes._Flight

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        regions = regroup(*args, **kwargs)
        state.cut.append([r.carers for r in regions])
        state.sizes.append(kwargs["max_part_visits"])
        return regions

    def sending(*args, **kwargs):  # type: ignore[no-untyped-def]
        sent = flight(*args, **kwargs)
        state.sent[-1].append(sent.limit_s)
        return sent

    monkeypatch.setattr(_passes, "regroup", recording)
    monkeypatch.setattr(_passes, "_Flight", sending)
    monkeypatch.setattr(_passes, "_REGION_S", region_s)
    return state


@pytest.fixture
def a_pass(monkeypatch: pytest.MonkeyPatch) -> _Pass:
    """A 400-call day cut into parts of 60, each region given 0.4 s."""
    return _a_pass(monkeypatch, 0.4)


def test_passes_short_of_time_send_only_the_regions_that_fit_at_full_length(
    a_pass: _Pass,
) -> None:
    """With time for only two regions per lane, the passes send that many regions, each
    given a full region's search, rather than every region a sliver."""
    before = a_pass.cost_leaving_just_in_time()
    passes = a_pass.improve(seconds=2 * 0.4 + 0.2, hand_over=False)
    assert passes.passes == 1 and len(a_pass.cut[0]) > 4
    assert len(a_pass.sent[0]) == 4
    assert min(a_pass.sent[0]) >= 0.3
    assert passes.better <= 4
    assert a_pass.cost_leaving_just_in_time() <= before
    assert_feasible(a_pass.problem, a_pass.answer())


def test_passes_in_the_second_half_cut_larger_regions_searched_longer(a_pass: _Pass) -> None:
    """Passes cut after half the passes' time ask for regions twice the size and give each
    twice the search, so fewer, larger regions; the day keeps every call once and costs
    no more."""
    before = a_pass.cost_leaving_just_in_time()
    passes = a_pass.improve(seconds=8, hand_over=False)
    assert passes.passes >= 3
    assert a_pass.sizes[0] == 60 and a_pass.sizes[-1] == 120
    assert set(a_pass.sizes) == {60, 120}
    assert len(a_pass.cut[-1]) < len(a_pass.cut[0])
    assert min(a_pass.sent[0]) >= 0.3 and max(a_pass.sent[0]) >= 0.7
    assert a_pass.cost_leaving_just_in_time() <= before
    assert_feasible(a_pass.problem, a_pass.answer())


def test_passes_with_a_solution_limit_keep_their_region_size(
    a_pass: _Pass, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a solution limit makes the answer repeatable, no pass grows its regions on
    the clock, even where every pass after the first would."""
    from solver import _passes

    monkeypatch.setattr(_passes, "_LATE_SHARE", 0.0)
    assert a_pass.improve(seconds=8, hand_over=False, solution_limit=20).passes >= 2
    assert set(a_pass.sizes) == {60}


def test_passes_around_some_carers_leave_the_other_rounds_alone(a_pass: _Pass) -> None:
    """After the last repair only the regions holding the rounds it changed are searched,
    pass after pass with new cuts until the time is spent: one flagged carer sends one
    region a pass, and every carer in none of those regions keeps their round."""
    around = np.zeros(a_pass.problem.num_carers, dtype=bool)
    busy = [k for k, r in enumerate(a_pass.rounds) if r]
    around[busy[0]] = True
    before = list(a_pass.rounds)
    cost = a_pass.cost_leaving_just_in_time()
    passes = a_pass.improve(seconds=3, around=around, hand_over=False).passes
    assert passes >= 2
    # The last pass may find no time left to send its region once cut.
    assert passes - 1 <= len(a_pass.sent[0]) <= passes
    regions = [next(c for c in cut if busy[0] in c) for cut in a_pass.cut[:passes]]
    assert all(len(region) < len(busy) for region in regions)
    moved = {k for k, (a, b) in enumerate(zip(before, a_pass.rounds, strict=True)) if a != b}
    assert moved <= set(np.concatenate(regions).tolist())
    assert a_pass.cost_leaving_just_in_time() <= cost
    assert_feasible(a_pass.problem, a_pass.answer())


def test_passes_back_to_back_keep_every_call_once_and_cost_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Passes follow each other without waiting for the last regions' answers, and hand
    rounds over while regions are out: the day stays feasible, each call in one round, no
    fewer calls placed, at no higher cost, over several passes with new cuts."""
    day = _a_pass(monkeypatch, 0.1)
    before = day.cost_leaving_just_in_time()
    placed = sum(map(len, day.rounds))
    passes = day.improve(seconds=4)
    assert passes.passes >= 3 and passes.better >= 1
    assert len(day.cut) == passes.passes
    cuts = {tuple(tuple(c.tolist()) for c in cut) for cut in day.cut}
    assert len(cuts) > 1  # two seeds may cut alike, but not every pass
    assert sum(len(s) for s in day.sent) > len(day.cut[0])
    assert day.cost_leaving_just_in_time() <= before
    assert sum(map(len, day.rounds)) >= placed  # a region may place one call for another
    assert_feasible(day.problem, day.answer())


def test_pairs_whole_asks_that_a_region_hold_both_halves_of_its_double_ups() -> None:
    """A region cut while others were out may have lost a double-up half to a carer
    outside it since; such a region is not sent (its subproblem could not be built)."""
    from solver._passes import pairs_whole

    visits = (
        Visit(0, 9 * H, 10 * H, 1800, sync_group=0),
        Visit(0, 9 * H, 10 * H, 1800, sync_group=0),
        Visit(1, 9 * H, 12 * H, 1800),
    )
    carer = Carer(0, 2, 2, 7 * H, 14 * H)
    problem = Problem(visits=visits, carers=(carer,) * 3, travel_s=street_matrix(3))
    assert pairs_whole(problem, [(0, 2), (1,)])
    assert not pairs_whole(problem, [(0, 2)])
    assert not pairs_whole(problem, [(1,), ()])
    assert pairs_whole(problem, [(0,), (1,)])
    assert pairs_whole(problem, [()])


def _one_half_only(job):  # type: ignore[no-untyped-def]
    """A region's search that, like OR-Tools at times, serves one half of each double-up
    it places and leaves out the other (module level, so the lanes can take it)."""
    from solver._parts import solve_part_or_nothing

    result = solve_part_or_nothing(job)
    drop = {int(b) for a, b in job[0].sync_pairs if any(a in r for r in result.rounds)}
    rounds = tuple(tuple(i for i in r if i not in drop) for r in result.rounds)
    return replace(result, rounds=rounds)


def test_passes_take_no_answer_that_serves_one_half_of_a_double_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A region's answer serving one half of a double-up without the other is not taken,
    even though it costs less than leaving both out: the next region holding that half
    could not be modelled (the product day crashed this way), and a double-up served
    by one carer is no service."""
    from solver import _passes
    from solver._precheck import precheck

    day = _a_pass(monkeypatch, 0.1)
    # Calls 2j and 2j+1 (j < 10) become double-ups at one place and time, both in no
    # round; soft windows, as on the product day, send the regions to OR-Tools.
    visits = list(day.problem.visits)
    for j in range(10):
        a, b = visits[2 * j], visits[2 * j + 1]
        visits[2 * j] = replace(a, sync_group=j)
        visits[2 * j + 1] = replace(a, sync_group=j, carer=b.carer)
    soft = replace(day.problem.objective, hard_windows=False, max_lateness_s=1800)
    day.problem = replace(day.problem, visits=tuple(visits), objective=soft)
    day.rounds[:] = [tuple(i for i in r if i >= 20) for r in day.rounds]
    day.feasible = precheck(day.problem)[1]
    monkeypatch.setattr(_passes, "solve_part_or_nothing", _one_half_only)
    passes = day.improve(seconds=3, hand_over=False)
    assert passes.passes >= 2
    in_rounds = {i for r in day.rounds for i in r}
    assert all((2 * j in in_rounds) == (2 * j + 1 in in_rounds) for j in range(10))
    assert not in_rounds & set(range(20))  # the regions' only answers for them split them
