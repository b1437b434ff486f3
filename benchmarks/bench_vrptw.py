"""Solomon VRPTW side by side: ours, PyVRP, plain OR-Tools and the best-known distance.

Every engine gets the same wall-clock budget per instance and the same DIMACS integers
(distances truncated to 0.1, scaled by 10). Distances are recomputed here from each engine's
routes, and every route set is checked (all customers once, capacity, windows, depot
closing time) before its gap counts; an invalid answer is shown with ``!`` and left out of
the mean.

Engines:
  ours        ``solver.reallocate`` on the instance as a ``Problem`` (the product entry point,
              which picks its engine itself)
  ours-pyvrp  ``solver._pyvrp_engine.solve_with_pyvrp``: the product's PyVRP engine called
              directly
  pyvrp       PyVRP's ``solve`` on the raw instance
  ortools     OR-Tools routing: parallel cheapest insertion + guided local search

Run from the repository root::

    nice -n 10 .venv/bin/python -m benchmarks.bench_vrptw --time-limit 10
    .venv/bin/python -m benchmarks.bench_vrptw --instances C101,R201 --time-limit 2
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.baselines import BaselineResult, solve_vrptw_ortools, solve_vrptw_pyvrp
from benchmarks.instances import (
    GH200_DIR,
    SOLOMON_DIR,
    VRPTW_BKS_CSV,
    VrptwInstance,
    read_bks,
    read_vrptw,
    routes_distance_x10,
    vrptw_problem,
    vrptw_routes,
)

ENGINES = ("ours", "ours-pyvrp", "pyvrp", "ortools")

#: Two of each Solomon class: a tight-window and a loose-window instance.
REPRESENTATIVE = "C101,C105,C201,C205,R101,R105,R201,R205,RC101,RC105,RC201,RC205"


@dataclass(frozen=True)
class EngineRun:
    """One engine's answer on one instance, checked here."""

    distance: float | None
    problems: tuple[str, ...]
    runtime_s: float

    @property
    def is_valid(self) -> bool:
        """Whether the routes passed every check."""
        return self.distance is not None and not self.problems


def check_routes(instance: VrptwInstance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Everything wrong with ``routes`` for ``instance`` (empty when feasible)."""
    problems: list[str] = []
    served = sorted(c for route in routes for c in route)
    if served != list(range(1, len(instance.coords))):
        problems.append(f"{len(set(served))} of {instance.num_customers} customers served")
    used = len([r for r in routes if r])
    if used > instance.num_vehicles:
        problems.append(f"{used} routes > {instance.num_vehicles} vehicles")
    distance_x10 = instance.distance_matrix_x10()
    for k, route in enumerate(routes):
        if int(instance.demand[list(route)].sum()) > instance.capacity:
            problems.append(f"route {k} over capacity")
        t, here = int(instance.tw_early[0]) * 10, 0
        for node in [*route, 0]:
            t = max(t + int(distance_x10[here, node]), int(instance.tw_early[node]) * 10)
            if t > int(instance.tw_late[node]) * 10:
                problems.append(f"route {k} late at node {node}")
                break
            t += int(instance.service_time[node]) * 10
            here = node
    return problems


def _checked(
    instance: VrptwInstance, routes: Sequence[Sequence[int]], runtime_s: float, feasible: bool
) -> EngineRun:
    problems = check_routes(instance, routes)
    if not feasible and not problems:
        problems.append("engine reports infeasible")
    distance = routes_distance_x10(instance.distance_matrix_x10(), [list(r) for r in routes]) / 10
    return EngineRun(distance=distance, problems=tuple(problems), runtime_s=runtime_s)


def run_ours(instance: VrptwInstance, time_limit_s: float, seed: int) -> EngineRun:
    """``solver.reallocate`` on the instance (every route re-checked afterwards)."""
    import solver

    converted = vrptw_problem(instance)
    params = solver.ReallocationParams(time_limit_s=time_limit_s, seed=seed, workers=1)
    started = time.perf_counter()
    try:
        solution = solver.reallocate(converted.problem, params)
    except NotImplementedError:
        return EngineRun(None, ("reallocate not implemented",), 0.0)
    runtime_s = time.perf_counter() - started
    feasible = solution.is_complete and solution.total.lateness_s == 0
    return _checked(instance, vrptw_routes(solution), runtime_s, feasible)


def run_ours_pyvrp(instance: VrptwInstance, time_limit_s: float, seed: int) -> EngineRun:
    """The product's PyVRP engine called directly (capacity from the ``Problem``)."""
    import solver
    from solver._pyvrp_engine import solve_with_pyvrp

    converted = vrptw_problem(instance)
    params = solver.ReallocationParams(time_limit_s=time_limit_s, seed=seed, workers=1)
    started = time.perf_counter()
    solution = solve_with_pyvrp(converted.problem, params)
    runtime_s = time.perf_counter() - started
    feasible = solution.is_complete and solution.total.lateness_s == 0
    return _checked(instance, vrptw_routes(solution), runtime_s, feasible)


def _from_baseline(instance: VrptwInstance, result: BaselineResult) -> EngineRun:
    return _checked(instance, result.routes, result.runtime_s, result.is_feasible)


RUNNERS: dict[str, Callable[[VrptwInstance, float, int], EngineRun]] = {
    "ours": run_ours,
    "ours-pyvrp": run_ours_pyvrp,
    "pyvrp": lambda i, t, s: _from_baseline(i, solve_vrptw_pyvrp(i, time_limit_s=t, seed=s)),
    "ortools": lambda i, t, s: _from_baseline(i, solve_vrptw_ortools(i, time_limit_s=t)),
}


def gap_pct(distance: float, best_known: float) -> float:
    """Gap of ``distance`` above ``best_known``, in percent."""
    return 100.0 * (distance - best_known) / best_known


def _select(names: str | None, limit: int | None, directory: Path = SOLOMON_DIR) -> list[Path]:
    paths = sorted(directory.glob("*.vrp"))
    if names:
        wanted = [n.strip().upper() for n in names.split(",") if n.strip()]
        by_name = {p.stem.upper(): p for p in paths}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise SystemExit(f"Unknown instances in {directory.name}: {', '.join(missing)}")
        paths = [by_name[n] for n in wanted]
    return paths[:limit] if limit else paths


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one row per instance and a summary per engine."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per engine")
    parser.add_argument(
        "--instances", help="comma-separated names, or 'representative' (12 Solomon)"
    )
    parser.add_argument("--limit", type=int, help="first N instances only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset")
    parser.add_argument("--csv", type=Path, help="also write rows to this CSV file")
    parser.add_argument(
        "--set", choices=("solomon", "gh200"), default="solomon", help="instance set"
    )
    args = parser.parse_args(argv)

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {ENGINES}")
    names = REPRESENTATIVE if args.instances == "representative" else args.instances
    directory = GH200_DIR if args.set == "gh200" else SOLOMON_DIR
    paths = _select(names, args.limit, directory)
    bks = read_bks(VRPTW_BKS_CSV)

    print(
        f"{'Solomon' if args.set == 'solomon' else 'Gehring-Homberger 200'} VRPTW, "
        f"{len(paths)} instances, {args.time_limit:g} s per engine, "
        f"seed {args.seed}; distance (gap % to best-known); ! = invalid"
    )
    header = f"{'instance':<8} {'BKS':>8} " + " ".join(f"{e:>18}" for e in engines)
    print(header)
    print("-" * len(header))
    gaps: dict[str, list[float]] = {e: [] for e in engines}
    invalid: dict[str, int] = {e: 0 for e in engines}
    rows: list[dict[str, object]] = []
    for path in paths:
        instance = read_vrptw(path)
        best = bks[instance.name].distance
        cells = []
        row: dict[str, object] = {"instance": instance.name, "bks": best}
        for engine in engines:
            try:
                run = RUNNERS[engine](instance, args.time_limit, args.seed)
            except Exception as exc:  # a crashing engine is a result, not the end of the run
                run = EngineRun(None, (f"{type(exc).__name__}: {exc}",), 0.0)
                print(f"  {engine} on {instance.name} failed: {run.problems[0]}", file=sys.stderr)
            if run.distance is None:
                cells.append(f"{'n/a':>18}")
                invalid[engine] += 1
                row[engine] = ""
                continue
            gap = gap_pct(run.distance, best)
            mark = " " if run.is_valid else "!"
            cells.append(f"{run.distance:>9.1f} ({gap:5.2f}%){mark}")
            row[engine], row[f"{engine}_gap_pct"] = run.distance, round(gap, 4)
            row[f"{engine}_problems"] = "; ".join(run.problems)
            if run.is_valid:
                gaps[engine].append(gap)
            else:
                invalid[engine] += 1
        print(f"{instance.name:<8} {best:>8.1f} " + " ".join(cells), flush=True)
        rows.append(row)

    print("-" * len(header))
    for label, fn in (("mean gap", statistics.fmean), ("max gap", max)):
        cells = [f"{fn(gaps[e]):>17.2f}%" if gaps[e] else f"{'n/a':>18}" for e in engines]
        print(f"{label:<17} " + " ".join(cells))
    print(f"{'invalid / n/a':<17} " + " ".join(f"{invalid[e]:>18}" for e in engines))
    if any(invalid.values()):
        print("(means cover valid answers only)")

    if args.csv:
        fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "instance", k))
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
