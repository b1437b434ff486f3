"""County-day re-allocation over several seeds: the paired runs a solver change is judged by.

Run from the root of the tree to measure (e.g. a ``git worktree`` holding a variant, with
this checkout's ``.venv``):
    nice -n 5 .venv/bin/python -m benchmarks.bench_county_seeds [--seeds 0,1,2,3]
        [--budget-s 120] [--repeats 1] [--verbose]
Prints one line per run: wall, calls served, travel split into the drive from home and back
and the drive between calls, and the status (the first repair's calls, the regions kept).

A 120 s county day stops where the clock stops it, so one run says little: seed 0 alone
drove 373.1-387.4 h in session 17, and the seed sets the first decomposition, which sets
the start the passes work from (seed 0 starts best; seeds 2 and 3 start 40 h higher).
A variant is judged against the kept code on the same seeds, one run at a time on an idle
machine (the runs use both cores), by the mean over seeds and by how many seeds it wins.
``bench_county_day.py`` measures the issue's target (a short run against one ten times
longer) on seed 0 alone.
"""

from __future__ import annotations

import argparse
import logging
import time

from benchmarks._county_instance import make_county_day
from solver import Problem, ReallocationParams, Solution, reallocate


def home_legs_s(problem: Problem, sol: Solution) -> int:
    """Seconds driven from each carer's home to their first call and from their last call back."""
    total = 0
    for route in sol.routes:
        if route.visits:
            carer = problem.carers[route.carer]
            travel = problem.travel_s[carer.travel_mode]
            first = problem.visits[route.visits[0]].location
            last = problem.visits[route.visits[-1]].location
            total += int(travel[carer.start_location, first] + travel[last, carer.end_location])
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1,2,3", help="Comma-separated reallocate seeds.")
    parser.add_argument("--instance-seed", type=int, default=0, help="The county day's seed.")
    parser.add_argument("--budget-s", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=1, help="Runs per seed.")
    parser.add_argument("--max-part-visits", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="Per-part and per-pass log.")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(format="%(relativeCreated)8.0f ms %(message)s")
        logging.getLogger("solver.reallocation").setLevel(logging.DEBUG)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    problem, _ = make_county_day(args.instance_seed)
    travel_h: list[float] = []
    served: list[int] = []
    for seed in seeds:
        for _ in range(args.repeats):
            params = ReallocationParams(
                time_limit_s=args.budget_s,
                seed=seed,
                workers=args.workers,
                max_part_visits=args.max_part_visits,
            )
            t0 = time.perf_counter()
            sol = reallocate(problem, params)
            wall = time.perf_counter() - t0
            home_h = home_legs_s(problem, sol) / 3600
            travel_h.append(sol.total.travel_s / 3600)
            served.append(sol.total.visits)
            print(
                f"seed {seed}  wall {wall:6.1f} s  served {sol.total.visits:5d}  "
                f"travel {travel_h[-1]:6.1f} h (home legs {home_h:6.1f} h, between calls "
                f"{travel_h[-1] - home_h:6.1f} h)  sync violations {sol.sync_violations}  "
                f"[{sol.stats.status}]",
                flush=True,
            )
    print(
        f"mean of {len(travel_h)} runs: travel {sum(travel_h) / len(travel_h):.1f} h, "
        f"served {sum(served) / len(served):.1f}"
    )


if __name__ == "__main__":
    main()
