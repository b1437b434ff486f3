"""Speed and memory of the geo layer on the Rutland extract; prints figures.

Run: .venv/bin/python benchmarks/bench_geo.py [--points 2000 7000] [--fit]

Figures: network load time; matrix time for each point count; peak memory of the largest
(tracemalloc peak of Python/numpy allocations and the process's max RSS); cache-hit time.
Targets (issue 3): load <= 10 s; 7,000 x 7,000 matrix <= 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from geo import fit_fallback_model, load_network, travel_matrix  # noqa: E402

RUTLAND_PBF = REPO / ".." / "shared" / "data" / "osm" / "rutland-latest.osm.pbf"


def _points(network, n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """n service-user-like points: random road nodes moved up to ~50 m off the road."""
    rng = np.random.default_rng(seed)
    node = rng.choice(network.n_nodes, size=n, replace=n > network.n_nodes)
    return (
        network.lat[node] + rng.normal(0, 0.0003, n),
        network.lon[node] + rng.normal(0, 0.0005, n),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[2000, 7000])
    parser.add_argument("--fit", action="store_true", help="also fit the fallback model")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} load_avg={os.getloadavg()[0]:.1f} file={RUTLAND_PBF.resolve()}")

    loads, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        network = load_network(RUTLAND_PBF, mode="drive")
        loads.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(
        f"load drive network: {min(loads):.2f} s wall best of 3 (all: "
        f"{', '.join(f'{x:.2f}' for x in loads)}; CPU {min(cpus):.2f} s); "
        f"nodes={network.n_nodes} edges={network.n_edges}"
    )
    t0 = time.perf_counter()
    walk = load_network(RUTLAND_PBF, mode="walk")
    print(f"load walk network: {time.perf_counter() - t0:.2f} s; nodes={walk.n_nodes}")

    for n in args.points:
        lat, lon = _points(network, n)
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        m = travel_matrix(network, lat, lon)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        unique = np.unique(m.snapped.node).size if m.snapped is not None else n
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"matrix {n}x{n}: {elapsed:.2f} s wall, {cpu:.2f} s CPU ({unique} unique nodes); "
            f"tracemalloc peak "
            f"{peak / 2**20:.0f} MiB; process max RSS so far {rss_mb:.0f} MiB; output "
            f"{(m.travel_s.nbytes + m.distance_m.nbytes) / 2**20:.0f} MiB"
        )
        del m

    n = max(args.points)
    lat, lon = _points(network, n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        travel_matrix(network, lat, lon, cache_dir=tmp)
        miss = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        t0 = time.perf_counter()
        travel_matrix(network, lat, lon, cache_dir=tmp)
        hit = time.perf_counter() - t0
    print(
        f"cache {n}x{n}: miss (compute + write) {miss:.2f} s; hit {hit:.2f} s; "
        f"file {size / 2**20:.0f} MiB"
    )

    if args.fit:
        t0 = time.perf_counter()
        fit = fit_fallback_model(network, n_points=800, seed=0)
        print(f"fallback fit ({time.perf_counter() - t0:.1f} s): {fit.model}")
        print(f"  held-out pairs={fit.n_test_pairs} urban point share={fit.urban_share:.2f}")
        print(
            f"  with area types: median rel error {fit.median_rel_error:.1%}, "
            f"p90 {fit.p90_rel_error:.1%}; median abs {fit.median_abs_error_s:.0f} s, "
            f"p90 {fit.p90_abs_error_s:.0f} s"
        )
        print(
            f"  mixed speed only: median rel error {fit.median_rel_error_mixed:.1%}, "
            f"p90 {fit.p90_rel_error_mixed:.1%}"
        )


if __name__ == "__main__":
    main()
