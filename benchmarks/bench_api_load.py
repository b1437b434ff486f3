"""Load on loopback: requests/s and p50/p95/p99 for a read endpoint and for placement.

    .venv/bin/python -m benchmarks.bench_api_load                     # county data, 20 s each
    .venv/bin/python -m benchmarks.bench_api_load --scale small --duration 5
    .venv/bin/python -m benchmarks.bench_api_load --work-dir var/bench-api   # reuse data

The county data set (issue 2's preset) is generated, ingested and audited once into a
SQLite database under ``--work-dir`` (reused when present). The service runs as
``carerounds serve --workers 0`` in its own process on 127.0.0.1; a pool of keep-alive
client threads drives it for ``--duration`` seconds per scenario and never leaves loopback.
Targets (issue 5): read p95 <= 50 ms, placement p95 <= 150 ms, errors 0%.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Scenario:
    name: str
    request: Callable[[httpx.Client, random.Random], httpx.Response]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(work_dir: Path, scale: str, seed: int) -> tuple[str, dict[str, str], str]:
    """Data, audit and tokens in ``work_dir``; returns (database URL, tokens, planning day)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.api.users import create_user_with_token
    from app.jobs.audit import run_audit
    from app.jobs.demo import generate_dataset
    from app.jobs.ingest import ingest_paths
    from app.settings import Settings
    from data.storage import EcmVisit, create_engine_for
    from data.storage.access import UserRepository

    work_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work_dir / 'bench.sqlite'}"
    settings = Settings(database_url=url, work_dir=work_dir)
    marker = work_dir / f"ready-{scale}-{seed}"
    if not marker.exists():
        started = time.perf_counter()
        data_dir = work_dir / "data"
        generate_dataset(data_dir, scale=scale, seed=seed)
        print(f"generated {scale} data in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        ingest_paths(settings, [data_dir])
        print(f"ingested in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        run_audit(settings)
        print(f"audited in {time.perf_counter() - started:.1f} s", flush=True)
        marker.touch()
    engine = create_engine_for(url)
    with Session(engine) as session:
        first = session.scalar(select(func.min(EcmVisit.planned_start)))
        users = UserRepository(session)
        existing = {r: users.by_username(f"bench-{r}") for r in ("broker", "contract_manager")}
    engine.dispose()
    tokens = {}
    for role, user in existing.items():
        name = f"bench-{role}" if user is None else f"bench-{role}-{int(time.time())}"
        tokens[role] = create_user_with_token(settings, name, role)
    assert first is not None, "no ECM visits"
    # A weekday inside the data: the first Monday's visits are complete.
    return url, tokens, first.date().isoformat()


def serve(url: str, work_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CAREROUNDS_DATABASE_URL": url,
        "CAREROUNDS_WORK_DIR": str(work_dir),
        "CAREROUNDS_API__SERVE_WORKERS": "0",
    }
    log = (work_dir / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def drive(base: str, scenario: Scenario, *, duration_s: float, concurrency: int) -> None:
    """Run one scenario for ``duration_s`` with ``concurrency`` threads; print the figures."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + duration_s

    def client_loop(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    failed = scenario.request(client, rng).status_code >= 400
                except httpx.TransportError:
                    failed = True
                mine.append(time.perf_counter() - started)
                bad += failed
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
    print(
        f"{scenario.name:<34} {len(ms):>7} req {len(ms) / wall:>8.1f} req/s  "
        f"p50 {q[49]:>7.1f} ms  p95 {q[94]:>7.1f} ms  p99 {q[98]:>7.1f} ms  "
        f"errors {100 * errors / max(1, len(ms)):.2f}%",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county", choices=("small", "county"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench-api")
    args = parser.parse_args()

    url, tokens, day = prepare(args.work_dir / args.scale, args.scale, args.seed)
    port = _free_port()
    process = serve(url, args.work_dir / args.scale, port)
    base = f"http://127.0.0.1:{port}"
    try:
        cm = {"Authorization": f"Bearer {tokens['contract_manager']}"}
        broker = {"Authorization": f"Bearer {tokens['broker']}"}
        run_id = httpx.get(f"{base}/api/audit/runs", headers=cm).json()["items"][0]["id"]
        providers = [
            p["provider_id"]
            for p in httpx.get(f"{base}/api/geo/providers?limit=500", headers=cm).json()["items"]
        ]
        users = httpx.get(f"{base}/api/geo/service-users?limit=500", headers=broker).json()
        homes = [
            (f["properties"]["area"], *reversed(f["geometry"]["coordinates"]))
            for f in users["features"]
        ]
        areas = sorted({a for a, _, _ in homes})
        calls = [
            {"window_start": "07:00", "window_end": "09:30", "duration_min": 30},
            {"window_start": "12:00", "window_end": "13:30", "duration_min": 30},
            {"window_start": "16:30", "window_end": "18:00", "duration_min": 30},
            {"window_start": "20:00", "window_end": "22:00", "duration_min": 30},
        ]

        def placement_body(rng: random.Random) -> dict[str, object]:
            area, lat, lon = rng.choice(homes)
            return {
                "area": area,
                "day": day,
                "lat": lat + rng.uniform(-0.004, 0.004),
                "lon": lon + rng.uniform(-0.004, 0.004),
                "calls": calls,
            }

        # Build each area's planning day once (what a broker's first question of a day costs).
        for area in areas:
            started = time.perf_counter()
            body = placement_body(random.Random(0)) | {"area": area}
            area_home = next(h for h in homes if h[0] == area)
            body |= {"lat": area_home[1], "lon": area_home[2]}
            r = httpx.post(
                f"{base}/api/brokerage/placements", json=body, headers=broker, timeout=120
            )
            print(
                f"first placement in {area}: {1000 * (time.perf_counter() - started):.0f} ms "
                f"({r.status_code}, {len(r.json().get('proposals', []))} proposals)",
                flush=True,
            )

        scenarios = [
            Scenario(
                "GET provider-months (aggregate)",
                lambda c, rng: c.get(
                    f"/api/audit/runs/{run_id}/provider-months?limit=100", headers=cm
                ),
            ),
            Scenario(
                "GET flags by provider (logged)",
                lambda c, rng: c.get(
                    f"/api/audit/runs/{run_id}/flags?limit=100&provider_id={rng.choice(providers)}",
                    headers=cm,
                ),
            ),
            Scenario(
                "POST placement (4 calls/day)",
                lambda c, rng: c.post(
                    "/api/brokerage/placements", json=placement_body(rng), headers=broker
                ),
            ),
        ]
        print(
            f"{args.scale} data, {len(providers)} providers, {len(areas)} areas, day {day}; "
            f"{args.concurrency} client threads, {args.duration:.0f} s per scenario, 127.0.0.1",
            flush=True,
        )
        for scenario in scenarios:
            drive(base, scenario, duration_s=args.duration, concurrency=args.concurrency)
    finally:
        process.terminate()
        process.wait(15)


if __name__ == "__main__":
    main()
