"""The installed package serves, as the Dockerfile installs it: ``pip install .``, then
``carerounds serve`` from outside the source tree (templates, static assets and migrations
must be in the wheel). Built offline with the venv's own setuptools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.app.serving import serving

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # builds a wheel and starts a server (~20 s)


def _pip(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


def test_installed_wheel_serves_page_assets_and_migrated_database(tmp_path):
    """Health, the page, a vendored asset and a migrated database, all from the wheel."""
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "var"
    work.mkdir()
    build = tmp_path / "src"
    # Build from a copy of the tracked tree, so no build debris lands in the checkout.
    files = subprocess.run(
        ["git", "ls-files", "pyproject.toml", "README.md", "app", "data", "geo", "solver"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        target = build / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    _pip(
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        ".",
        "-w",
        str(wheels),
        cwd=build,
    )
    (wheel,) = wheels.glob("carerounds-*.whl")
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel), cwd=tmp_path)

    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "CAREROUNDS_WORK_DIR": str(work),
        "CAREROUNDS_DATABASE_URL": f"sqlite:///{work / 'carerounds.sqlite'}",
    }
    command = [sys.executable, "-c", "from app.cli import main; main()"]
    where = subprocess.run(
        [sys.executable, "-c", "import app, data; print(app.__file__); print(data.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where

    with serving(command, cwd=work, env=env) as base:
        assert "<title>carerounds" in httpx.get(base).text
        page = httpx.get(base).text
        assert "leaflet" in page.lower()
        asset = next(
            part.split('"')[0] for part in page.split('src="')[1:] if "leaflet" in part.lower()
        )
        assert (
            httpx.get(f"{base}{asset}" if asset.startswith("/") else f"{base}/{asset}").status_code
            == 200
        )
    tables = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
            "print(c.execute('select version_num from alembic_version').fetchone()[0])",
            str(work / "carerounds.sqlite"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    heads = sorted(p.name.split("_")[0] for p in (ROOT / "data/migrations/versions").glob("0*.py"))
    assert tables == heads[-1] or tables.startswith(heads[-1])
