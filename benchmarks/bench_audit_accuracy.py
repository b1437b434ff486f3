"""Precision and recall of every audit flag kind against the synthetic ground truth.

    .venv/bin/python -m benchmarks.bench_audit_accuracy                  # county, seed 7
    .venv/bin/python -m benchmarks.bench_audit_accuracy --scale small --seed 1

Generates the dataset with ``data.synthetic`` (deterministic by seed), reconciles it with the
default tolerances and straight-line travel, and prints per flag kind: planted-truth count,
flags raised, true positives, precision and recall. Target (issue 2): >= 0.95 for each kind.
Exits 1 when any kind misses the target.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from data.reconciliation import reconcile
from data.records import FlagKind

TARGET = 0.95


def _keys(frame: pd.DataFrame, kind: FlagKind) -> set[tuple[str, str]]:
    rows = frame.loc[frame["flag_kind"] == kind.value, ["record_kind", "record_id"]]
    return set(zip(rows["record_kind"].astype(str), rows["record_id"].astype(str), strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("small", "county", "million"), default="county")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from data.synthetic import SyntheticConfig, generate

    started = time.perf_counter()
    dataset = generate(getattr(SyntheticConfig, args.scale)(seed=args.seed))
    generated = time.perf_counter() - started
    started = time.perf_counter()
    result = reconcile(dataset.frames)
    reconciled = time.perf_counter() - started
    visits, notes = len(dataset.frames["ecm_visit"]), len(dataset.frames["care_note"])
    print(
        f"{args.scale} seed {args.seed}: {visits:,} ECM visits, {notes:,} care notes "
        f"(generated in {generated:.1f} s, reconciled in {reconciled:.2f} s)"
    )
    print(f"{'flag kind':<24} {'truth':>7} {'found':>7} {'tp':>7} {'precision':>9} {'recall':>7}")
    ok = True
    for kind in FlagKind:
        truth, found = _keys(dataset.ground_truth, kind), _keys(result.audit_flag, kind)
        tp = len(truth & found)
        precision = tp / len(found) if found else (1.0 if not truth else 0.0)
        recall = tp / len(truth) if truth else 1.0
        ok &= precision >= TARGET and recall >= TARGET
        print(
            f"{kind.value:<24} {len(truth):>7,} {len(found):>7,} {tp:>7,} "
            f"{precision:>9.3f} {recall:>7.3f}"
        )
    print("all kinds >= 0.95" if ok else "SOME KIND BELOW 0.95")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
