"""`carerounds serve`: migrates, serves the API and page on loopback, and runs the worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.app.serving import serving

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow  # starts real processes (~20 s)


def test_serve_answers_and_runs_jobs(tmp_path):
    """A fresh install: serve on an empty database; health, page and a queued job all work."""
    env = {
        **os.environ,
        "CAREROUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "CAREROUNDS_WORK_DIR": str(tmp_path),
        "CAREROUNDS_API__JOB_POLL_S": "0.2",
    }
    command = [sys.executable, "-c", "from app.cli import main; main()"]
    token = (
        subprocess.run(
            [*command, "users", "create", "svc", "--role", "service_account"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with serving(command, cwd=ROOT, env=env) as base:
        assert "<title>carerounds" in httpx.get(base).text
        headers = {"Authorization": f"Bearer {token}"}
        job = httpx.post(f"{base}/api/audit/runs", json={}, headers=headers).json()
        deadline = time.monotonic() + 60
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the worker never finished the job"
            time.sleep(0.3)
            job = httpx.get(f"{base}/api/jobs/{job['id']}", headers=headers).json()
        # Nothing was ingested, so the audit fails, with its reason, rather than hanging.
        assert job["status"] == "failed"
        assert "No ECM visits" in job["error"]
