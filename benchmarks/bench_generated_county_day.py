"""Re-allocation of a generated county day through the product's own path.

Generates the county data set (data.synthetic), reconstructs one weekday's rounds from its
ECM visits exactly as the service does (app.planning with the fallback travel model), then
re-allocates with the solver, side by side at two budgets.

Run: .venv/bin/python benchmarks/bench_generated_county_day.py [--budget-s 120] [--factor 10]
     [--area Fenland] [--seed 7] [--day-offset 0]
Targets (issue 4): wall <= 120 s on 2 cores; travel within 2% of a run ten times longer;
every call served or reported with a reason; double-ups together.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import Counter
from datetime import timedelta

import solver
from app.planning import build_planning_day
from app.settings import Settings
from app.travel import matrices_for
from data.synthetic import SyntheticConfig, generate


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (the part workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def line(label: str, sol: solver.Solution, wall_s: float, cpu: float = 0.0) -> None:
    t = sol.total
    reasons = Counter(str(u.reason) for u in sol.unserved)
    print(
        f"{label:<8} wall {wall_s:7.1f} s  cpu {cpu:7.1f} s  served {t.visits:5d}  unserved {len(sol.unserved):4d} "
        f"{dict(reasons) if reasons else ''}  travel {t.travel_s / 3600:7.1f} h  "
        f"miles {t.distance_m / 1609.344:7.0f}  waiting {t.waiting_s / 3600:7.1f} h  "
        f"late {t.lateness_s / 3600:6.1f} h (max {t.max_lateness_s / 60:5.0f} min)  "
        f"provider changes {sol.provider_changes}  sync violations {sol.sync_violations}  "
        f"objective {sol.cost}  engine {sol.stats.engine}/{sol.stats.status} "
        f"parts {sol.stats.parts}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--area", default=None, help="One district; default the whole county.")
    parser.add_argument("--day-offset", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=120.0)
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-long", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    config = SyntheticConfig.county(seed=args.seed)
    dataset = generate(config)
    day = config.start_date + timedelta(days=args.day_offset)
    print(f"generated county data in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    planning = build_planning_day(
        dataset.frames, day, area=args.area, matrices=matrices_for(Settings())
    )
    p = planning.problem
    print(
        f"{day} {args.area or 'county'}: {p.num_visits} visits, {p.num_carers} carers, "
        f"{p.n_providers} providers, {len(p.sync_pairs)} double-ups "
        f"(planning day built in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    t0 = time.perf_counter()
    today = solver.evaluate_rounds(p, planning.today)
    line("today", today, time.perf_counter() - t0)

    budgets = [("short", args.budget_s)]
    if not args.skip_long:
        budgets.append(("long", args.budget_s * args.factor))
    results = {}
    for label, budget in budgets:
        params = solver.ReallocationParams(
            time_limit_s=budget, seed=args.seed, workers=args.workers
        )
        t0, c0 = time.perf_counter(), cpu_s()
        sol = solver.reallocate(p, params, initial=planning.today)
        line(label, sol, time.perf_counter() - t0, cpu_s() - c0)
        results[label] = sol
    if "long" in results:
        short, long_ = results["short"].total.travel_s, results["long"].total.travel_s
        print(f"travel short/long: {short / max(1, long_):.4f} (target <= 1.02)")
    best = results["short"]
    effect = solver.impact(p, today, best)
    print(f"impact: {effect.overall}")


if __name__ == "__main__":
    main()
