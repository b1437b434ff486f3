"""The job worker: claims durable jobs from the database and runs each in a child process.

A child process gives every job a hard time limit and a cancellation that works even inside
a solver that never returns to Python: the worker terminates the child. The worker beats the
job's heartbeat while the child runs; if the worker itself dies, the heartbeat goes stale and
any worker (this one after a restart, or another) queues the job again while attempts remain,
or fails it with the reason. Jobs are resumable by rerunning from their params: audits and
re-allocations are deterministic for their inputs and seed.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings
from data.storage import create_engine_for
from data.storage.jobs import Job, JobRepository

log = logging.getLogger(__name__)

Progress = Callable[[float, str | None], None]
Handler = Callable[[Settings, dict[str, Any], Progress], dict[str, Any]]

# Job kind -> "module:function" run in the child process.
HANDLERS: dict[str, str] = {
    "audit": "app.jobs.runner:audit_job",
    "reallocation": "app.jobs.reallocation:reallocation_job",
    "sleep": "app.jobs.runner:sleep_job",  # diagnostics and tests
}


def enqueue(
    session: Session,
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    *,
    created_by: str | None,
    time_limit_s: int | None = None,
) -> Job:
    """Queue a job; the caller's transaction commits it."""
    if kind not in HANDLERS:
        raise ValueError(f"Unknown job kind {kind!r}.")
    api = settings.api
    limit = min(time_limit_s or api.job_default_time_limit_s, api.job_max_time_limit_s)
    return JobRepository(session).enqueue(
        kind,
        params,
        now=datetime.now(),
        time_limit_s=limit,
        created_by=created_by,
        max_attempts=api.job_max_attempts,
    )


# --- Handlers (run in the child) -----------------------------------------------------------


def audit_job(settings: Settings, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Reconcile stored records and store the audit run."""
    from app.jobs.audit import run_audit

    progress(0.05, "reconciling")
    outcome = run_audit(settings, provider_id=params.get("provider_id"), month=params.get("month"))
    return {"audit_run_id": outcome.run_id, "report_path": str(outcome.report_path)}


def sleep_job(settings: Settings, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Sleep ``seconds`` in steps, reporting progress; fails when ``fail`` is set."""
    seconds = float(params.get("seconds", 1.0))
    steps = max(1, int(seconds / 0.1))
    for i in range(steps):
        time.sleep(seconds / steps)
        progress((i + 1) / steps, f"slept {(i + 1) * seconds / steps:.1f} s")
    if params.get("fail"):
        raise RuntimeError(str(params["fail"]))
    return {"slept_s": seconds}


def _load(path: str) -> Handler:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _exit_with_worker(worker_pid: int) -> None:
    """End this child if its worker dies (kill -9), so no orphan keeps solving."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(worker_pid, 0)
            except ProcessLookupError:
                os._exit(3)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _child(
    handler_path: str,
    settings_json: dict[str, Any],
    params: dict[str, Any],
    conn: Connection,
    worker_pid: int,
) -> None:
    """Child process entry: run one handler and send back its result or error."""
    _exit_with_worker(worker_pid)
    try:
        settings = Settings(**settings_json)

        def progress(fraction: float, message: str | None = None) -> None:
            conn.send(("progress", float(fraction), message))

        result = _load(handler_path)(settings, params, progress)
        conn.send(("result", result))
    except BaseException as exc:  # report every failure, including KeyboardInterrupt
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        conn.send(("error", detail[:4000]))
    finally:
        conn.close()


# --- The worker ----------------------------------------------------------------------------


class Worker:
    """Claims and runs jobs until stopped. One job at a time per worker."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        worker_id: str | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> None:
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine or create_engine_for(settings.database_url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.kinds = kinds or tuple(HANDLERS)
        self.stop_event = threading.Event()
        # A fork server forks each job from a clean process that has the job modules loaded:
        # fast to start, and safe beside the web server's threads (no fork of this process).
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(["app.jobs.runner"])

    def _tx(self, fn: Callable[[JobRepository], Any]) -> Any:
        with self.sessions() as session:
            try:
                value = fn(JobRepository(session))
                session.commit()
                return value
            except BaseException:
                session.rollback()
                raise

    def recover_stale(self) -> list[tuple[int, str]]:
        """Requeue or fail jobs whose worker stopped beating their heartbeat."""
        now = datetime.now()
        stale_before = now - timedelta(seconds=self.settings.api.job_stale_after_s)
        recovered = self._tx(lambda r: r.recover_stale(now=now, stale_before=stale_before))
        for job_id, status in recovered:
            log.warning("job %s had a stale heartbeat: now %s", job_id, status)
        return recovered  # type: ignore[no-any-return]

    def run_once(self) -> int | None:
        """Recover stale jobs, then claim and run one job; returns its id, or None if idle."""
        self.recover_stale()
        job = self._tx(lambda r: r.claim_next(self.worker_id, now=datetime.now(), kinds=self.kinds))
        if job is None:
            return None
        self._run(job)
        return job.id  # type: ignore[no-any-return]

    def run_forever(self) -> None:
        """Poll for jobs until ``stop_event`` is set."""
        log.info("job worker %s started", self.worker_id)
        while not self.stop_event.is_set():
            try:
                if self.run_once() is None:
                    self.stop_event.wait(self.settings.api.job_poll_s)
            except Exception:
                log.exception("job worker %s: unexpected error; continuing", self.worker_id)
                self.stop_event.wait(self.settings.api.job_poll_s)
        if self._own_engine:
            self.engine.dispose()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="carerounds-worker", daemon=True)
        thread.start()
        return thread

    def _beat(self, job_id: int, progress: float | None, message: str | None) -> bool:
        return self._tx(  # type: ignore[no-any-return]
            lambda r: r.heartbeat(
                job_id, self.worker_id, now=datetime.now(), progress=progress, message=message
            )
        )

    def _finish(self, job_id: int, status: str, **kw: Any) -> None:
        self._tx(
            lambda r: r.finish(job_id, self.worker_id, now=datetime.now(), status=status, **kw)
        )

    def _run(self, job: Job) -> None:
        parent, child = self._mp.Pipe(duplex=False)
        process = self._mp.Process(
            target=_child,
            args=(
                HANDLERS[job.kind],
                self.settings.model_dump(mode="json"),
                job.params,
                child,
                os.getpid(),
            ),
            name=f"carerounds-job-{job.id}",
            daemon=True,
        )
        process.start()
        child.close()
        deadline = time.monotonic() + job.time_limit_s
        beat_every = self.settings.api.job_heartbeat_s
        progress: float | None = None
        message: str | None = None
        outcome: tuple[Any, ...] | None = None
        try:
            while outcome is None:
                if parent.poll(beat_every):
                    try:
                        event = parent.recv()
                    except EOFError:
                        outcome = ("error", f"Job process exited with code {process.exitcode}.")
                        break
                    if event[0] == "progress":
                        progress, message = event[1], event[2]
                        continue
                    outcome = event
                    break
                if not process.is_alive() and not parent.poll():
                    outcome = ("error", f"Job process exited with code {process.exitcode}.")
                    break
                try:
                    cancel = self._beat(job.id, progress, message)
                except LookupError:
                    outcome = ("lost", "Job was taken over by another worker.")
                    break
                if cancel:
                    outcome = ("cancelled", "Cancelled at the user's request.")
                elif time.monotonic() > deadline:
                    outcome = ("error", f"Time limit of {job.time_limit_s} s reached; stopped.")
                elif self.stop_event.is_set():
                    outcome = ("released", "Worker shut down; queued again.")
        finally:
            if process.is_alive():
                process.terminate()
                process.join(5)
                if process.is_alive():
                    process.kill()
            process.join()
            parent.close()
        kind, value = outcome[0], outcome[1]
        if kind == "result":
            self._finish(job.id, "succeeded", result=value)
        elif kind == "cancelled":
            self._finish(job.id, "cancelled", error=value)
        elif kind == "released":
            self._tx(lambda r: r.release(job.id, self.worker_id, reason=value))
        elif kind == "error":
            self._finish(job.id, "failed", error=value)
        log.info("job %s (%s): %s", job.id, job.kind, kind)
