"""Synthetic data generation: wall time and peak memory at the small, county and million scales.

Each scale runs in a fresh child process, so its peak memory (max RSS) is its own. For each
scale prints generation time, CSV writing time, peak memory, record counts, size on disk and
ground-truth flags per kind. Targets: county < 30 s, million < 90 s (generation, 2 cores).

    .venv/bin/python benchmarks/bench_synthetic.py [--scales small,county,million] [--seed 1]
        [--no-write]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _run(scale: str, seed: int, write: bool, queue: mp.Queue) -> None:
    from data.synthetic import SyntheticConfig, generate, write_dataset

    config = getattr(SyntheticConfig, scale)(seed=seed)
    t = time.perf_counter()
    dataset = generate(config)
    gen_s = time.perf_counter() - t
    write_s, size_mb = float("nan"), float("nan")
    if write:
        with tempfile.TemporaryDirectory() as folder:
            t = time.perf_counter()
            paths = write_dataset(dataset, folder)
            write_s = time.perf_counter() - t
            size_mb = sum(p.stat().st_size for p in paths.values()) / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth = dataset.ground_truth["flag_kind"].value_counts().sort_index().to_dict()
    queue.put((gen_s, write_s, peak_mb, size_mb, dataset.counts(), truth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="small,county,million")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="skip writing the CSV files")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    for scale in args.scales.split(","):
        queue: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(scale, args.seed, not args.no_write, queue))
        proc.start()
        gen_s, write_s, peak_mb, size_mb, counts, truth = queue.get()
        proc.join()
        print(f"== {scale} (seed {args.seed})")
        print(
            f"   generate {gen_s:6.1f} s   write CSV {write_s:6.1f} s   "
            f"peak memory {peak_mb:7.0f} MB   on disk {size_mb:7.1f} MB"
        )
        print("   records: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        print("   ground truth: " + ", ".join(f"{k} {v:,}" for k, v in truth.items()))


if __name__ == "__main__":
    main()
