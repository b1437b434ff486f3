"""Placement latency: p50/p95 over 200 package queries against a county day's rounds.

Run: .venv/bin/python benchmarks/bench_placement.py [--queries 200] [--seed 0]
Prints figures; target (issue 4): p95 <= 100 ms per query.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _county_instance import CALL_SLOTS_S, make_county_day

from solver import PlacementParams, Visit, evaluate_rounds, today_rounds
from solver.insertion import PlacementIndex


def _package(rng: np.random.Generator, location: int) -> list[Visit]:
    """A new person's calls: 1-4 a day in the usual slots, 1 in 20 a double-up."""
    n_calls = int(rng.choice([1, 2, 3, 4], p=[0.1, 0.2, 0.2, 0.5]))
    double = rng.random() < 0.05
    calls = []
    for g, slot in enumerate(sorted(rng.choice(4, size=n_calls, replace=False))):
        lo, hi = CALL_SLOTS_S[slot]
        width = int(rng.choice([5400, 7200, 10800]))
        start = int(rng.integers(lo, max(lo + 1, hi - width + 1)) // 300 * 300)
        duration = int(rng.choice([900, 1800, 2700, 3600], p=[0.02, 0.72, 0.18, 0.08]))
        copies = 2 if double else 1
        for _ in range(copies):
            calls.append(
                Visit(
                    location,
                    start,
                    start + width,
                    duration,
                    sync_group=g if double else -1,
                    sync_min_gap_s=-300,
                    sync_max_gap_s=300,
                )
            )
    return calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()

    problem, xy = make_county_day(args.seed, n_waiting=args.queries)
    rounds = evaluate_rounds(problem, today_rounds(problem))
    t0 = time.perf_counter()
    index = PlacementIndex(problem, rounds)
    build_ms = 1000 * (time.perf_counter() - t0)
    print(
        f"instance seed {args.seed}: {problem.num_visits} visits, {problem.num_carers} carers, "
        f"{rounds.total.visits} in today's rounds; index build {build_ms:.0f} ms "
        f"({index.gap_carer.size} gaps)"
    )
    rng = np.random.default_rng(args.seed + 1)
    first_waiting = xy.shape[0] - args.queries
    params = PlacementParams(top_k=args.top_k)
    times, found, calls_n, travel = [], 0, [], []
    for q in range(args.queries):
        calls = _package(rng, first_waiting + q)
        t0 = time.perf_counter()
        proposals = index.place(calls, params)
        times.append(1000 * (time.perf_counter() - t0))
        calls_n.append(len(calls))
        if proposals:
            found += 1
            travel.append(proposals[0].added_travel_s / 60)
    ms = np.array(times)
    print(
        f"placement over {args.queries} packages ({np.mean(calls_n):.1f} calls each): "
        f"p50 {np.percentile(ms, 50):.1f} ms  p95 {np.percentile(ms, 95):.1f} ms  "
        f"max {ms.max():.1f} ms; placed {found}/{args.queries}; "
        f"best added travel median {np.median(travel) if travel else float('nan'):.1f} min"
    )


if __name__ == "__main__":
    main()
