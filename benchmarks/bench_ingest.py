"""Ingest speed: 1,000,000 ECM visits and 1,000,000 care notes into SQLite and PostgreSQL.

Generates the CSV exports in a temporary directory (a quick vectorised generator; the shape
of the data, not its realism, matters here), then for each database times, in a fresh child
process each so peak memory is that step's own:

  * ingesting the ECM visits file, then the care notes file (``ingest_file``), then a second
    ECM visits file whose ids overlap the stored ones by a tenth (the overlapping-file path);
  * reading all of them back (``read_records``), as the audit does.

Targets (issue 2): 1M rows into SQLite <= 30 s, into PostgreSQL <= 15 s.

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--only sqlite|postgresql]

PostgreSQL: env CAREROUNDS_BENCH_PG_URL (default the local server, user postgres); a
database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_SERVER = os.environ.get(
    "CAREROUNDS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PROVIDERS, CARERS, SERVICE_USERS = 60, 700, 2400


def _ids(prefix: str, n: int) -> pa.Array:
    return pa.array(np.char.add(prefix, np.arange(1, n + 1).astype(str)))


def _pick(prefix: str, values: np.ndarray) -> pa.Array:
    return pa.array(np.char.add(prefix, (values + 1).astype(str)))


def _write(path: Path, table: pa.Table) -> Path:
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def _stamp(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]").astype("datetime64[us]"), pa.timestamp("us"))


def generate(folder: Path, rows: int, seed: int = 7) -> dict[str, Path]:
    """Write providers, carers, service users, ECM visits and care notes CSVs."""
    rng = np.random.default_rng(seed)
    paths = {}
    paths["provider"] = _write(
        folder / "providers.csv",
        pa.table(
            {
                "provider_id": _ids("P", PROVIDERS),
                "name": _ids("Provider ", PROVIDERS),
                "contract_type": pa.array(
                    rng.choice(["framework", "dps", "block", "spot"], PROVIDERS)
                ),
                "rate_gbp_per_hour": pa.array(np.round(rng.uniform(20, 32, PROVIDERS), 2)),
            }
        ),
    )
    carer_provider = rng.integers(0, PROVIDERS, CARERS)
    paths["carer"] = _write(
        folder / "carers.csv",
        pa.table(
            {
                "carer_id": _ids("C", CARERS),
                "provider_id": _pick("P", carer_provider),
                "start_lat": pa.array(np.round(rng.uniform(52.2, 52.7, CARERS), 5)),
                "start_lon": pa.array(np.round(rng.uniform(-0.5, 0.3, CARERS), 5)),
                "working_weekdays": pa.array(["mon;tue;wed;thu;fri"] * CARERS),
                "shift_start": pa.array(["07:00"] * CARERS),
                "shift_end": pa.array(["15:00"] * CARERS),
                "contracted_hours_per_week": pa.array([37.5] * CARERS),
                "gender": pa.array(rng.choice(["female", "male"], CARERS)),
                "travel_mode": pa.array(["car"] * CARERS),
            }
        ),
    )
    paths["service_user"] = _write(
        folder / "service_users.csv",
        pa.table(
            {
                "service_user_id": _ids("S", SERVICE_USERS),
                "lat": pa.array(np.round(rng.uniform(52.2, 52.7, SERVICE_USERS), 5)),
                "lon": pa.array(np.round(rng.uniform(-0.5, 0.3, SERVICE_USERS), 5)),
                "area": pa.array(
                    rng.choice(["Peterborough", "Fenland", "Huntingdonshire"], SERVICE_USERS)
                ),
                "status": pa.array(["long_term"] * SERVICE_USERS),
            }
        ),
    )
    carer = rng.integers(0, CARERS, rows)
    user = rng.integers(0, SERVICE_USERS, rows)
    start = (
        np.datetime64("2026-10-01T06:00:00").astype(np.int64)
        + rng.integers(0, 28 * 86400 // 60, rows) * 60
    )
    planned = rng.choice([15, 30, 45, 60], rows, p=[0.02, 0.72, 0.18, 0.08])
    check_in = start + rng.integers(-300, 1800, rows)
    check_out = check_in + planned * 60 + rng.integers(-600, 300, rows)
    missed = rng.random(rows) < 0.02
    visits = pa.table(
        {
            "visit_id": _ids("V", rows),
            "provider_id": _pick("P", carer_provider[carer]),
            "service_user_id": _pick("S", user),
            "carer_id": _pick("C", carer),
            "call_id": pa.nulls(rows, pa.string()),
            "planned_start": _stamp(start),
            "planned_duration_min": pa.array(planned),
            "check_in": pa.array(_stamp(check_in).to_numpy(zero_copy_only=False), mask=missed),
            "check_out": pa.array(_stamp(check_out).to_numpy(zero_copy_only=False), mask=missed),
            "method": pa.array(rng.choice(["app", "phone", "nfc", "manual"], rows), mask=missed),
            "check_in_lat": pa.array(np.round(rng.uniform(52.2, 52.7, rows), 5), mask=missed),
            "check_in_lon": pa.array(np.round(rng.uniform(-0.5, 0.3, rows), 5), mask=missed),
            "double_up_group": pa.nulls(rows, pa.string()),
            "billed_min": pa.array(np.where(missed, 0, planned)),
            "status": pa.array(np.where(missed, "missed", "completed")),
        }
    )
    paths["ecm_visit"] = _write(folder / "ecm_visits.csv", visits)
    del visits
    note_start = check_in + rng.integers(0, 120, rows)
    notes = pa.table(
        {
            "note_id": _ids("N", rows),
            "service_user_id": _pick("S", user),
            "carer_id": _pick("C", carer),
            "written_at": _stamp(check_out + 300),
            "visit_start": _stamp(note_start),
            "visit_end": _stamp(np.maximum(check_out, note_start)),
            "tasks": pa.array(rng.choice(["meds;personal care", "meal", "meds"], rows)),
            "text": pa.array(
                rng.choice(
                    [
                        "Settled, ate lunch.",
                        "Assisted with shower; in good spirits.",
                        "Declined meal.",
                    ],
                    rows,
                )
            ),
        }
    )
    paths["care_note"] = _write(folder / "care_notes.csv", notes)
    del notes
    # The same visits again under ids shifted by 90%: a re-export that overlaps the stored
    # visits by a tenth (the stored ones must be skipped, the rest loaded).
    again = pacsv.read_csv(paths["ecm_visit"])
    shift = rows * 9 // 10
    again = again.set_column(0, "visit_id", _ids("V", rows + shift).slice(shift))
    paths["ecm_visit_overlap"] = _write(folder / "ecm_visits_overlap.csv", again)
    return paths


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL backends of these pids have used so far."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _child(step: str, url: str, argument: str, queue: mp.Queue) -> None:
    from sqlalchemy import event

    from data.ingestion import ingest_file
    from data.storage import create_engine_for, read_records

    engine = create_engine_for(url)
    backends: list[int] = []
    if engine.dialect.name == "postgresql":

        def remember_backend(dbapi_connection, _record) -> None:
            backends.append(dbapi_connection.info.backend_pid)

        event.listen(engine, "connect", remember_backend)
    started, cpu = time.perf_counter(), _cpu_s()
    if step == "ingest":
        result = ingest_file(engine, Path(argument))
        count = result.rows
        detail = f"{result.rows_inserted:,} rows inserted"
    else:
        frame = read_records(engine, argument)
        count = len(frame)
        detail = f"{len(frame):,} rows, {frame.memory_usage(deep=True).sum() / 2**20:,.0f} MB frame"
    elapsed = time.perf_counter() - started
    detail += f", client CPU {_cpu_s() - cpu:.1f} s"
    if backends:
        # The server runs on this machine (loopback): its backends' CPU, read from /proc.
        detail += f", server CPU {_server_cpu_s(backends):.1f} s"
    detail += f", load {os.getloadavg()[0]:.1f}"
    engine.dispose()
    queue.put((elapsed, _peak_mb(), count, detail))


def _measure(step: str, url: str, argument: str) -> tuple[float, float, int, str]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(step, url, argument, queue))
    process.start()
    outcome = queue.get()
    process.join()
    return outcome


def _pg_database() -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"carerounds_bench_{uuid.uuid4().hex[:8]}"
    server = make_url(PG_SERVER)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )
    with psycopg.connect(
        server.set(drivername="postgresql", database=name).render_as_string(hide_password=False),
        autocommit=True,
    ) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url, name


def _drop_pg(name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    libpq = make_url(PG_SERVER).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(backend: str, paths: dict[str, Path], folder: Path, rows: int) -> None:
    from data.ingestion import ingest_file
    from data.storage import create_engine_for, upgrade_schema

    pg_name = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.sqlite'}"
    else:
        url, pg_name = _pg_database()
    try:
        upgrade_schema(url)
        engine = create_engine_for(url)
        for kind in ("provider", "carer", "service_user"):
            ingest_file(engine, paths[kind])
        engine.dispose()
        for kind in ("ecm_visit", "care_note", "ecm_visit_overlap"):
            elapsed, peak, count, detail = _measure("ingest", url, str(paths[kind]))
            rate = count / elapsed
            label = "ecm_visit (10% already stored)" if kind == "ecm_visit_overlap" else kind
            print(
                f"{backend:10} ingest {label:30}  {elapsed:6.1f} s  {rate:9,.0f} rows/s  peak RSS {peak:6,.0f} MB  ({detail})",
                flush=True,
            )
        for kind in ("ecm_visit", "care_note"):
            # ECM visits: the first file's million plus the overlapping file's new ones.
            elapsed, peak, count, detail = _measure("read", url, kind)
            print(
                f"{backend:10} read   {kind:30}  {elapsed:6.1f} s  {count / elapsed:9,.0f} rows/s  peak RSS {peak:6,.0f} MB  ({detail})",
                flush=True,
            )
    finally:
        if pg_name:
            _drop_pg(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carerounds-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = generate(folder, args.rows)
        sizes = ", ".join(
            f"{p.name} {p.stat().st_size / 2**20:,.0f} MB"
            for k, p in paths.items()
            if k in ("ecm_visit", "care_note")
        )
        print(
            f"generated {args.rows:,} visits and notes in {time.perf_counter() - started:.1f} s ({sizes})",
            flush=True,
        )
        for backend in ("sqlite", "postgresql"):
            if args.only in (None, backend):
                run(backend, paths, folder, args.rows)


if __name__ == "__main__":
    main()
