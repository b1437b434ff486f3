"""The command line end to end: generate, ingest, audit, on SQLite and PostgreSQL."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from data import create_engine_for, database_digest, read_audit_table


@pytest.fixture
def cli_env(monkeypatch, tmp_path, engine, database_url):
    """The CLI pointed at the test database and a scratch work directory."""
    monkeypatch.setenv("CAREROUNDS_DATABASE_URL", database_url)
    monkeypatch.setenv("CAREROUNDS_WORK_DIR", str(tmp_path / "work"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_generate_ingest_audit_end_to_end(cli_env, database_url):
    """Generated small data loads, audits, and writes tables, CSVs and an HTML report."""
    out = cli_env / "small"
    invoke("generate", "--scale", "small", "--seed", "3", "--out", str(out))
    invoke("ingest", str(out))
    result = invoke("audit", "--out", str(cli_env / "report"))
    assert "Audit run" in result.output
    html = (cli_env / "report" / "audit_report.html").read_text(encoding="utf-8")
    assert "Largest flags" in html
    csv = pd.read_csv(cli_env / "report" / "provider_month.csv")
    engine = create_engine_for(database_url)
    try:
        stored = read_audit_table(engine, "provider_month")
    finally:
        engine.dispose()
    assert len(stored) == len(csv) > 0
    assert stored["billed_gbp"].sum() == pytest.approx(csv["billed_gbp"].sum())


def test_ingesting_the_same_directory_twice_changes_nothing(cli_env, database_url):
    """A second ingest of the same files reports them as already imported and adds no rows."""
    out = cli_env / "small"
    invoke("generate", "--scale", "small", "--seed", "4", "--out", str(out))
    invoke("ingest", str(out))
    engine = create_engine_for(database_url)
    try:
        before = database_digest(engine)
        result = invoke("ingest", str(out))
        assert database_digest(engine) == before
    finally:
        engine.dispose()
    assert "already imported" in result.output


def test_bad_file_fails_with_where_and_loads_nothing(cli_env, database_url):
    """A malformed file exits non-zero naming file, row and field, and leaves tables as they were."""
    out = cli_env / "small"
    invoke("generate", "--scale", "small", "--seed", "5", "--out", str(out))
    invoke("ingest", str(out / "providers.csv"))
    bad = cli_env / "providers.csv"
    providers = pd.read_csv(out / "providers.csv", dtype=str)
    providers.loc[1, "rate_gbp_per_hour"] = "cheap"  # data row 2 = spreadsheet row 3
    providers.to_csv(bad, index=False)
    engine = create_engine_for(database_url)
    try:
        before = database_digest(engine)
        result = CliRunner().invoke(cli, ["ingest", str(bad)])
        assert database_digest(engine) == before
    finally:
        engine.dispose()
    assert result.exit_code == 2
    assert "row 3" in result.output and "rate_gbp_per_hour" in result.output
