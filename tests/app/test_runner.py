"""The job worker: success, failure, time limit, cancellation, and recovery from a dead worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.jobs.runner import Worker, enqueue
from app.settings import Settings
from data.storage.jobs import Job, JobRepository

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_settings(database_url: str, tmp_path) -> Settings:
    """Settings with a quick heartbeat and a short staleness threshold."""
    return Settings(
        environment="test",
        database_url=database_url,
        work_dir=tmp_path,
        api={  # type: ignore[arg-type]
            "job_heartbeat_s": 0.1,
            "job_stale_after_s": 1.5,
            "job_poll_s": 0.1,
            "job_max_attempts": 2,
        },
    )


def _enqueue(engine, settings, params, *, time_limit_s=60) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session, session.begin():
        job = enqueue(session, settings, "sleep", params, created_by="t", time_limit_s=time_limit_s)
        return job.id


def _job(engine, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _wait_for(engine, job_id: int, status: str, timeout_s: float = 20) -> Job:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job(engine, job_id)
        if job.status == status:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} is {job.status}, never {status}")


def test_job_succeeds_with_progress_and_result(engine, fast_settings):
    """A job runs in a child process; its result and full progress are stored."""
    job_id = _enqueue(engine, fast_settings, {"seconds": 0.3})
    assert Worker(fast_settings, engine=engine).run_once() == job_id
    job = _job(engine, job_id)
    assert job.status == "succeeded"
    assert job.result == {"slept_s": 0.3}
    assert job.progress == 1.0
    assert job.attempts == 1


def test_failing_job_keeps_its_reason(engine, fast_settings):
    """An exception in the job fails it with the exception's message."""
    job_id = _enqueue(engine, fast_settings, {"seconds": 0.1, "fail": "no visits on that day"})
    Worker(fast_settings, engine=engine).run_once()
    job = _job(engine, job_id)
    assert job.status == "failed"
    assert "no visits on that day" in (job.error or "")


def test_time_limit_stops_the_job(engine, fast_settings):
    """A job over its time limit is stopped and failed, in bounded time."""
    job_id = _enqueue(engine, fast_settings, {"seconds": 60}, time_limit_s=1)
    started = time.monotonic()
    Worker(fast_settings, engine=engine).run_once()
    # The job would sleep 60 s; a generous bound keeps a loaded machine from failing it.
    assert time.monotonic() - started < 45
    job = _job(engine, job_id)
    assert job.status == "failed"
    assert "Time limit of 1 s" in (job.error or "")


def test_cancelling_a_running_job(engine, fast_settings):
    """Cancellation stops a running job promptly and marks it cancelled."""
    job_id = _enqueue(engine, fast_settings, {"seconds": 60})
    worker = Worker(fast_settings, engine=engine)
    thread = worker.start_thread()
    try:
        _wait_for(engine, job_id, "running")
        with Session(engine) as session, session.begin():
            JobRepository(session).request_cancel(job_id, now=datetime.now())
        job = _wait_for(engine, job_id, "cancelled", timeout_s=15)
        assert "Cancelled" in (job.error or "")
    finally:
        worker.stop_event.set()
        thread.join(10)


def _orphan(engine, *, attempts: int) -> int:  # type: ignore[no-untyped-def]
    """A job left 'running' by a worker that died ten minutes ago."""
    with Session(engine) as session, session.begin():
        job = JobRepository(session).enqueue(
            "sleep", {"seconds": 0.1}, now=datetime.now(), time_limit_s=60, max_attempts=2
        )
        job.status = "running"
        job.worker_id = "dead-worker"
        job.attempts = attempts
        job.heartbeat_at = datetime.now() - timedelta(minutes=10)
        session.flush()
        return job.id


def test_stale_job_is_resumed(engine, fast_settings):
    """A dead worker's job with attempts left is queued again and then completes."""
    job_id = _orphan(engine, attempts=1)
    Worker(fast_settings, engine=engine).run_once()
    job = _job(engine, job_id)
    assert job.status == "succeeded"
    assert job.attempts == 2


def test_stale_job_out_of_attempts_fails_with_reason(engine, fast_settings):
    """A dead worker's job with no attempts left fails, saying which worker stopped and when."""
    job_id = _orphan(engine, attempts=2)
    assert Worker(fast_settings, engine=engine).recover_stale() == [(job_id, "failed")]
    job = _job(engine, job_id)
    assert job.status == "failed"
    assert "dead-worker stopped" in (job.error or "")
    assert "gave up after 2 attempt(s)" in (job.error or "")


def test_worker_killed_mid_job_leaves_it_resumable(engine, fast_settings):
    """kill -9 of a worker process mid-job: the job is recovered and completed, never stuck."""
    job_id = _enqueue(engine, fast_settings, {"seconds": 3})
    env = {
        **os.environ,
        "CAREROUNDS_DATABASE_URL": fast_settings.database_url,
        "CAREROUNDS_WORK_DIR": str(fast_settings.work_dir),
        "CAREROUNDS_API__JOB_HEARTBEAT_S": "0.1",
        "CAREROUNDS_API__JOB_POLL_S": "0.1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(engine, job_id, "running", timeout_s=60)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    assert _job(engine, job_id).status == "running"  # left behind by the dead worker
    time.sleep(fast_settings.api.job_stale_after_s + 0.2)
    Worker(fast_settings, engine=engine).run_once()
    job = _job(engine, job_id)
    assert job.status == "succeeded"
    assert job.attempts == 2
