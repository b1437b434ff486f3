"""Reconcile 1,000,000 ECM visits against 1,000,000 care notes: wall time and peak memory.

    .venv/bin/python -m benchmarks.bench_reconcile                # 1M, synthetic million preset
    .venv/bin/python -m benchmarks.bench_reconcile --source maker # 1M, this file's own maker
    .venv/bin/python -m benchmarks.bench_reconcile --profile      # + pyinstrument of reconcile
    .venv/bin/python -m benchmarks.bench_reconcile --no-sqlite    # skip the stored-records run
    .venv/bin/python -m benchmarks.bench_reconcile --parquet DIR  # reuse <kind>.parquet files
    .venv/bin/python -m benchmarks.bench_reconcile --postgresql   # stored in PostgreSQL too

Records are built once and written to Parquet in a temporary directory. Each measured phase
runs in a fresh subprocess that loads the Parquet files, notes its resident memory, runs the
phase and reports wall time, CPU time and peak resident memory (VmHWM): the whole process's
peak and the peak above what the loaded records already held. Targets (issue 2): reconciling
<= 10 s and <= 2 GB on 2 cores.

When ``data.storage`` can bulk-load and read records, a second phase stores the records in a
SQLite database (timed separately) and measures ``read_records`` for every kind + reconcile;
``--postgresql`` does the same in a PostgreSQL database created for the run (env
CAREROUNDS_BENCH_PG_URL, as bench_ingest), reporting the server backends' CPU too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.records import RECORD_KINDS

KINDS = ("provider", "carer", "service_user", "package", "call", "ecm_visit", "care_note")
_MB = 1024.0  # ru_maxrss is in KiB on Linux


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return float(line.split()[1]) / _MB
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    """Peak resident memory of this process image (VmHWM).

    Not ``ru_maxrss``: Linux carries that over from the parent across fork and exec, so a
    phase started by a parent holding the generated records would report the parent's peak.
    """
    peak = _status_mb("VmHWM")
    if peak == peak:  # not NaN
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _MB


# --- a vectorised maker, for when data.synthetic's million preset is unavailable ---------


def _ids(prefix: str, numbers: np.ndarray) -> pd.Series:
    return prefix + pd.Series(numbers).astype("str")


def make_records(n_visits: int, *, seed: int = 7) -> dict[str, pd.DataFrame]:
    """About ``n_visits`` ECM visits (12 a carer-day over 4 weeks) and one note per visit.

    Not realistic like ``data.synthetic``; it only needs the same shape, volume and a sprinkle
    of every anomaly so each rule does real work.
    """
    rng = np.random.default_rng(seed)
    per_day, days = 12, 28
    n_carers = -(-n_visits // (per_day * days))
    n_users = 4 * n_carers
    n_providers = max(1, n_carers // 12)
    i = np.arange(n_visits)
    carer = (i // per_day) % n_carers
    day = (i // per_day) // n_carers
    slot = i % per_day
    user = carer * 4 + slot % 4
    provider = carer % n_providers

    centre_lat = rng.uniform(52.2, 52.7, n_carers)
    centre_lon = rng.uniform(-0.5, 0.3, n_carers)
    user_lat = np.repeat(centre_lat, 4) + rng.normal(0, 0.004, n_users)
    user_lon = np.repeat(centre_lon, 4) + rng.normal(0, 0.006, n_users)

    base = np.datetime64("2026-10-05T00:00:00", "s")
    planned_s = day * 86_400 + 7 * 3600 + slot * 3600 + rng.integers(-5, 6, n_visits) * 60
    planned_min = rng.choice([15, 30, 45], n_visits, p=[0.05, 0.8, 0.15])
    status = rng.choice(["completed", "missed", "cancelled"], n_visits, p=[0.98, 0.01, 0.01])
    done = status == "completed"
    in_s = planned_s + np.clip(rng.normal(120, 300, n_visits), -900, 1500).astype(np.int64)
    out_s = in_s + planned_min * 60 + rng.integers(-60, 600, n_visits)
    short = rng.random(n_visits) < 0.01
    out_s[short] = in_s[short] + planned_min[short] * 30
    method = rng.choice(["app", "nfc", "phone", "manual"], n_visits, p=[0.6, 0.3, 0.09, 0.01])
    far = rng.random(n_visits) < 0.005
    lat = user_lat[user] + rng.normal(0, 0.0003, n_visits) + far * 0.02
    lon = user_lon[user] + rng.normal(0, 0.0004, n_visits)
    billed = planned_min + (rng.random(n_visits) < 0.01) * 15
    billed = np.where(status == "cancelled", 0, billed)
    call = user * 3 + (slot // 4)
    group = np.where(rng.random(n_visits) < 0.01, _ids("G", i).to_numpy(), None)

    def when(seconds: np.ndarray, mask: np.ndarray) -> pd.Series:
        values = base + seconds.astype("timedelta64[s]")
        return pd.Series(np.where(mask, values, np.datetime64("NaT")), dtype="datetime64[s]")

    visits = pd.DataFrame(
        {
            "visit_id": _ids("V", i),
            "provider_id": _ids("P", provider),
            "service_user_id": _ids("SU", user),
            "carer_id": _ids("C", carer),
            "call_id": _ids("CALL", call),
            "planned_start": when(planned_s, np.ones(n_visits, dtype=bool)),
            "planned_duration_min": planned_min,
            "check_in": when(in_s, done),
            "check_out": when(out_s, done),
            "method": pd.Series(np.where(done, method, None), dtype="str"),
            "check_in_lat": np.where(done & (method != "phone"), lat, np.nan),
            "check_in_lon": np.where(done & (method != "phone"), lon, np.nan),
            "double_up_group": pd.Series(group, dtype="str"),
            "billed_min": billed,
            "status": pd.Series(status, dtype="str"),
        }
    )
    keep = done & (rng.random(n_visits) > 0.01)
    noted = np.flatnonzero(keep)
    ghost = rng.random(len(noted)) < 0.005
    start = in_s[noted] - rng.integers(0, 60, len(noted)) + ghost * 3 * 3600
    end = out_s[noted] + rng.integers(0, 120, len(noted)) + ghost * 3 * 3600
    everyone = np.ones(len(noted), dtype=bool)
    notes = pd.DataFrame(
        {
            "note_id": _ids("N", noted),
            "service_user_id": _ids("SU", user[noted]),
            "carer_id": _ids("C", carer[noted]),
            "written_at": when(end + 600, everyone),
            "visit_start": when(start, everyone),
            "visit_end": when(end, everyone),
            "tasks": "personal care;medication",
            "text": "Routine call, all tasks done.",
        }
    )
    users = np.arange(n_users)
    discharge = np.where(
        rng.random(n_users) < 0.15,
        base + rng.integers(-56, 28, n_users).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )
    calls_n = np.arange(n_users * 3)
    return {
        "provider": pd.DataFrame(
            {
                "provider_id": _ids("P", np.arange(n_providers)),
                "name": _ids("Provider ", np.arange(n_providers)),
                "contract_type": "framework",
                "rate_gbp_per_hour": rng.uniform(19, 32, n_providers).round(2),
            }
        ),
        "carer": pd.DataFrame(
            {
                "carer_id": _ids("C", np.arange(n_carers)),
                "provider_id": _ids("P", np.arange(n_carers) % n_providers),
                "start_lat": centre_lat,
                "start_lon": centre_lon,
                "working_weekdays": "mon;tue;wed;thu;fri",
                "shift_start": "07:00",
                "shift_end": "19:00",
                "contracted_hours_per_week": 37.5,
                "gender": "female",
                "travel_mode": "car",
            }
        ),
        "service_user": pd.DataFrame(
            {
                "service_user_id": _ids("SU", users),
                "lat": user_lat,
                "lon": user_lon,
                "area": "Peterborough",
                "status": "long_term",
                "hospital_discharge_date": pd.Series(discharge, dtype="datetime64[s]"),
            }
        ),
        "package": pd.DataFrame(
            {
                "package_id": _ids("PK", users),
                "service_user_id": _ids("SU", users),
                "provider_id": _ids("P", (users // 4) % n_providers),
                "start_date": pd.Timestamp("2026-01-01"),
                "rate_gbp_per_hour": rng.uniform(19, 32, n_users).round(2),
            }
        ),
        "call": pd.DataFrame(
            {
                "call_id": _ids("CALL", calls_n),
                "package_id": _ids("PK", calls_n // 3),
                "weekdays": "mon;tue;wed;thu;fri;sat;sun",
                "window_start": "07:00",
                "window_end": "08:00",
                "duration_min": 30,
                "carers_required": np.where(rng.random(len(calls_n)) < 0.03, 2, 1),
                "is_time_critical": rng.random(len(calls_n)) < 0.1,
            }
        ),
        "ecm_visit": visits,
        "care_note": notes,
    }


def _synthetic_million(seed: int) -> dict[str, pd.DataFrame] | None:
    try:
        from data.synthetic import SyntheticConfig, generate
    except ImportError:
        return None
    dataset = generate(SyntheticConfig.million(seed=seed))
    return {k: dataset.frames[k] for k in KINDS}


def _write(frames: dict[str, pd.DataFrame], directory: Path) -> None:
    for kind, frame in frames.items():
        frame.to_parquet(directory / f"{kind}.parquet", index=False)


def _read(directory: Path) -> dict[str, pd.DataFrame]:
    return {kind: pd.read_parquet(directory / f"{kind}.parquet") for kind in KINDS}


# --- phases, each in its own process ---------------------------------------------------------


def _phase_reconcile(directory: Path, profile: bool) -> dict[str, Any]:
    from data.reconciliation import reconcile

    records = _read(directory)
    before = _rss_mb()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started, cpu = time.perf_counter(), _cpu_s()
    result = reconcile(records)
    wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_mb": before,
        "peak_mb": _peak_mb(),
        "peak_above_records_mb": _peak_mb() - before,
        "visits": len(records["ecm_visit"]),
        "notes": len(records["care_note"]),
        "flags": len(result.audit_flag),
    }


def _write_csv(kind: str, frame: pd.DataFrame, path: Path) -> None:
    """The canonical CSV layout ingestion reads: ISO datetimes, dates, true/false."""
    out = frame.loc[:, [c for c in RECORD_KINDS[kind].column_names if c in frame.columns]].copy()
    for column in RECORD_KINDS[kind].columns:
        if column.name not in out.columns:
            continue
        values = out[column.name]
        if column.kind == "datetime":
            out[column.name] = pd.to_datetime(values).dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif column.kind == "date":
            out[column.name] = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif column.kind == "bool":
            out[column.name] = values.map({True: "true", False: "false"})
    out.to_csv(path, index=False)


def _phase_store(directory: Path, url: str) -> dict[str, Any]:
    from data.ingestion import ingest_file
    from data.storage import create_engine_for, upgrade_schema

    records = _read(directory)
    paths = {}
    for kind in KINDS:
        paths[kind] = directory / f"{kind}.csv"
        _write_csv(kind, records[kind], paths[kind])
    del records
    upgrade_schema(url)
    engine = create_engine_for(url)
    started, cpu = time.perf_counter(), _cpu_s()
    for kind in KINDS:
        ingest_file(engine, paths[kind], kind=kind)
    wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
    engine.dispose()
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": _peak_mb()}


def _phase_read_reconcile(url: str) -> dict[str, Any]:
    from sqlalchemy import event

    from benchmarks.bench_ingest import _server_cpu_s
    from data.reconciliation import reconcile
    from data.storage import create_engine_for, read_records

    before = _rss_mb()
    engine = create_engine_for(url)
    backends: list[int] = []
    if engine.dialect.name == "postgresql":

        def remember_backend(dbapi_connection: Any, _record: Any) -> None:
            backends.append(dbapi_connection.info.backend_pid)

        event.listen(engine, "connect", remember_backend)
    started, cpu = time.perf_counter(), _cpu_s()
    records = {kind: read_records(engine, kind) for kind in KINDS}
    read_wall = time.perf_counter() - started
    read_cpu = _cpu_s() - cpu
    server_cpu = _server_cpu_s(backends) if backends else 0.0
    read_peak = _peak_mb()
    result = reconcile(records)
    wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
    engine.dispose()
    return {
        "cpu_s": cpu,
        "read_cpu_s": read_cpu,
        "server_cpu_s": server_cpu,
        "read_s": read_wall,
        "read_peak_mb": read_peak,
        "read_and_reconcile_s": wall,
        "reconcile_s": wall - read_wall,
        "peak_mb": _peak_mb(),
        "peak_above_start_mb": _peak_mb() - before,
        "flags": len(result.audit_flag),
    }


def _run_phase(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_reconcile", "--phase", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"phase {args[0]} failed with exit code {done.returncode}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _storage_available() -> bool:
    try:
        from data.ingestion import ingest_file  # noqa: F401
        from data.storage import read_records  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--source", choices=("auto", "synthetic", "maker"), default="auto")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--postgresql", action="store_true", help="also store in PostgreSQL")
    parser.add_argument(
        "--parquet", type=Path, help="reuse records saved as <kind>.parquet in this directory"
    )
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        if name == "reconcile":
            out = _phase_reconcile(Path(rest[0]), rest[1] == "1")
        elif name == "store":
            out = _phase_store(Path(rest[0]), rest[1])
        else:
            out = _phase_read_reconcile(rest[0])
        print(json.dumps(out))
        return

    os.environ.setdefault("PYTHONHASHSEED", "0")
    with tempfile.TemporaryDirectory(prefix="bench_reconcile_") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        frames = None
        source = "maker"
        if args.parquet is not None:
            frames = _read(args.parquet)
            source = str(args.parquet)
        elif args.source in ("auto", "synthetic") and args.visits == 1_000_000:
            frames = _synthetic_million(args.seed)
            source = "data.synthetic million preset"
        if frames is None:
            if args.source == "synthetic":
                raise SystemExit("data.synthetic is not available.")
            frames = make_records(args.visits, seed=args.seed)
            source = "bench_reconcile.make_records"
        _write(frames, directory)
        print(
            f"records: {len(frames['ecm_visit']):,} ECM visits, {len(frames['care_note']):,} "
            f"care notes from {source} ({time.perf_counter() - started:.1f} s to build)"
        )
        del frames

        r = _run_phase("reconcile", str(directory), "1" if args.profile else "0")
        print(
            f"reconcile in memory: {r['wall_s']:.2f} s wall ({r['cpu_s']:.2f} s CPU), peak RSS {r['peak_mb']:.0f} MB "
            f"({r['peak_above_records_mb']:.0f} MB above the {r['rss_before_mb']:.0f} MB holding "
            f"the records); {r['flags']:,} flags"
        )
        if not _storage_available():
            print("stored records: skipped (data.storage has no bulk load/read_records yet)")
            return
        backends = [] if args.no_sqlite else ["sqlite"]
        if args.postgresql:
            backends.append("postgresql")
        for backend in backends:
            _stored_run(backend, directory)


def _stored_run(backend: str, directory: Path) -> None:
    pg_name = None
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'bench.sqlite'}"
        name = "SQLite"
    else:
        from benchmarks.bench_ingest import _pg_database

        url, pg_name = _pg_database()
        name = "PostgreSQL"
    try:
        s = _run_phase("store", str(directory), url)
        print(
            f"ingest CSVs into {name}: {s['wall_s']:.1f} s wall ({s['cpu_s']:.1f} s client CPU), "
            f"peak RSS {s['peak_mb']:.0f} MB"
        )
        q = _run_phase("read", url)
        server = f", server CPU {q['server_cpu_s']:.2f} s" if pg_name else ""
        print(
            f"read from {name} + reconcile: {q['read_and_reconcile_s']:.2f} s wall "
            f"({q['cpu_s']:.2f} s client CPU) "
            f"(read {q['read_s']:.2f} s wall, {q['read_cpu_s']:.2f} s client CPU{server}; "
            f"reconcile {q['reconcile_s']:.2f} s), "
            f"peak RSS {q['peak_mb']:.0f} MB (read alone {q['read_peak_mb']:.0f} MB), "
            f"load {os.getloadavg()[0]:.1f}"
        )
    finally:
        if pg_name:
            from benchmarks.bench_ingest import _drop_pg

            _drop_pg(pg_name)


if __name__ == "__main__":
    main()
