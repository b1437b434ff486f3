"""Mankowska (2014) home health care instances with double services: ours against best-known.

Each instance becomes a ``Problem`` (services as visits, double services as sync groups,
qualifications as skills, soft windows with total and maximum lateness weighted like travel)
and goes through ``solver.reallocate``. The answer is then scored and checked by
``benchmarks.instances.evaluate_schedule`` on the instance's own data, not by trusting the
solver: every service done once by a qualified carer, no start before ``e``, travel between
consecutive services, two different carers per double service and every synchronisation gap
inside ``[mind, maxd]``. The objective is (travel + total tardiness + max tardiness) / 3.

Run from the repository root::

    nice -n 10 .venv/bin/python -m benchmarks.bench_hhcrsp --time-limit 60
    .venv/bin/python -m benchmarks.bench_hhcrsp --sets A,B,C --time-limit 10
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.instances import (
    MANKOWSKA_BKS_CSV,
    MANKOWSKA_DIR,
    MankowskaBestKnown,
    MankowskaEvaluation,
    evaluate_schedule,
    mankowska_problem,
    mankowska_schedule,
    read_mankowska,
    read_mankowska_bks,
)

SMALL_SETS = "ABCD"
LARGE_SETS = "EFG"
TARGET_GAP_PCT = {SMALL_SETS: 2.0, LARGE_SETS: 5.0}


@dataclass(frozen=True)
class HhcrspRun:
    """Our answer on one instance, as scored by the independent checker."""

    evaluation: MankowskaEvaluation | None
    runtime_s: float
    note: str = ""


def run_ours(path: Path, time_limit_s: float, seed: int, workers: int) -> HhcrspRun:
    """Solve one instance with ``solver.reallocate`` and score it with the checker."""
    import solver

    instance = read_mankowska(path)
    converted = mankowska_problem(instance)
    params = solver.ReallocationParams(time_limit_s=time_limit_s, seed=seed, workers=workers)
    started = time.perf_counter()
    try:
        solution = solver.reallocate(converted.problem, params)
    except Exception as exc:  # a crashing solver is a result, not the end of the run
        return HhcrspRun(None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    runtime_s = time.perf_counter() - started
    evaluation = evaluate_schedule(instance, mankowska_schedule(converted, solution))
    note = f"{len(solution.unserved)} unserved" if solution.unserved else ""
    return HhcrspRun(evaluation, runtime_s, note)


def _select(
    bks: dict[str, MankowskaBestKnown], names: str | None, sets: str | None, limit: int | None
) -> list[MankowskaBestKnown]:
    def order(label: str) -> tuple[str, int]:
        return label[0], int(label[1:])

    entries = [bks[label] for label in sorted(bks, key=order)]
    if sets:
        letters = {s.strip().upper() for s in sets.split(",")}
        entries = [e for e in entries if e.benchmark_set in letters]
    if names:
        wanted = [n.strip().upper() for n in names.split(",") if n.strip()]
        missing = [n for n in wanted if n not in bks]
        if missing:
            raise SystemExit(f"Unknown Mankowska instances: {', '.join(missing)}")
        entries = [bks[n] for n in wanted]
    return entries[:limit] if limit else entries


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one row per instance and mean gaps per set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    parser.add_argument("--instances", help="comma-separated labels, e.g. A1,B3")
    parser.add_argument("--sets", help="comma-separated set letters, e.g. A,B,C")
    parser.add_argument("--limit", type=int, help="first N instances only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="solver processes")
    parser.add_argument("--csv", type=Path, help="also write rows to this CSV file")
    args = parser.parse_args(argv)

    bks = read_mankowska_bks(MANKOWSKA_BKS_CSV)
    entries = _select(bks, args.instances, args.sets, args.limit)
    print(
        f"Mankowska HHCRSP, {len(entries)} instances, {args.time_limit:g} s each, seed "
        f"{args.seed}, {args.workers} worker(s); objective = (travel + tardiness + max) / 3, "
        "checked independently"
    )
    header = (
        f"{'inst':<5} {'n':>4} {'best-known':>10} {'ours':>10} {'gap %':>7} {'travel':>9} "
        f"{'tard':>8} {'tmax':>7} {'sync ok':>7} {'time s':>7}  notes"
    )
    print(header)
    print("-" * len(header))
    gaps: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    rows: list[dict[str, object]] = []
    for entry in entries:
        run = run_ours(MANKOWSKA_DIR / entry.file, args.time_limit, args.seed, args.workers)
        group = entry.benchmark_set
        ev = run.evaluation
        if ev is None:
            failures[group] = failures.get(group, 0) + 1
            print(
                f"{entry.instance:<5} {entry.num_patients:>4} {entry.best_known_ub:>10.2f}  n/a  {run.note}"
            )
            continue
        gap = 100.0 * (ev.objective - entry.best_known_ub) / entry.best_known_ub
        sync_ok = not any("synchronisation" in v or "both services" in v for v in ev.violations)
        notes = [run.note] if run.note else []
        if ev.violations:
            notes.append(f"{len(ev.violations)} violations: {ev.violations[0]}")
            failures[group] = failures.get(group, 0) + 1
        else:
            gaps.setdefault(group, []).append(gap)
        print(
            f"{entry.instance:<5} {entry.num_patients:>4} {entry.best_known_ub:>10.2f} "
            f"{ev.objective:>10.2f} {gap:>7.2f} {ev.travel:>9.2f} {ev.total_tardiness:>8.2f} "
            f"{ev.max_tardiness:>7.2f} {'yes' if sync_ok else 'NO':>7} {run.runtime_s:>7.1f}  "
            + "; ".join(notes),
            flush=True,
        )
        rows.append(
            {
                "instance": entry.instance,
                "best_known_ub": entry.best_known_ub,
                "objective": round(ev.objective, 4),
                "gap_pct": round(gap, 4),
                "travel": round(ev.travel, 4),
                "total_tardiness": round(ev.total_tardiness, 4),
                "max_tardiness": round(ev.max_tardiness, 4),
                "feasible": ev.is_feasible,
                "violations": "; ".join(ev.violations),
                "runtime_s": round(run.runtime_s, 2),
            }
        )

    print("-" * len(header))
    for group in sorted(set(gaps) | set(failures)):
        values = gaps.get(group, [])
        shown = f"{statistics.fmean(values):6.2f}%" if values else "   n/a"
        print(
            f"set {group}: mean gap {shown} over {len(values)} feasible, {failures.get(group, 0)} infeasible or failed"
        )
    for sets, target in TARGET_GAP_PCT.items():
        values = [g for s in sets for g in gaps.get(s, [])]
        failed = sum(failures.get(s, 0) for s in sets)
        if values or failed:
            overall = statistics.fmean(values) if values else float("nan")
            verdict = "meets" if values and not failed and overall <= target else "misses"
            print(
                f"sets {sets[0]}-{sets[-1]}: mean gap {overall:.2f}% over {len(values)} "
                f"(target <= {target:g}%, {verdict}; {failed} infeasible or failed)"
            )

    if args.csv and rows:
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
