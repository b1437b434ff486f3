"""The ``carerounds`` command line: generate, ingest, audit, and the demo that chains them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.settings import get_settings

cli = typer.Typer(
    name="carerounds",
    help="Review and optimise domiciliary care rounds.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)

SCALES = ("small", "county", "million")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


@cli.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory to write the CSV files into.")] = Path(
        "var/demo"
    ),
    scale: Annotated[str, typer.Option(help="small | county | million")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
) -> None:
    """Write a realistic synthetic data set (one CSV per record kind, plus ground truth)."""
    from app.jobs.demo import generate_dataset

    if scale not in SCALES:
        raise _fail(f"--scale must be one of {', '.join(SCALES)}, not {scale!r}.")
    paths = generate_dataset(out, scale=scale, seed=seed)
    table = Table("record kind", "file", "rows")
    for kind, (path, rows) in paths.items():
        table.add_row(kind, str(path), f"{rows:,}")
    Console().print(table)


@cli.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files, or directories of CSV/XLSX/JSON files.")
    ],
    kind: Annotated[str | None, typer.Option(help="Record kind, if not detectable.")] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Column-mapping file (JSON or TOML).")
    ] = None,
) -> None:
    """Load export files into the database; each file is all-or-nothing and loads once."""
    from app.jobs.ingest import ingest_paths
    from data.errors import DataError

    settings = get_settings()
    try:
        with _progress() as progress:
            results = ingest_paths(settings, paths, kind=kind, mapping=mapping, progress=progress)
    except DataError as exc:
        raise _fail(str(exc)) from exc
    table = Table("file", "record kind", "rows", "outcome")
    for r in results:
        table.add_row(str(r.path), r.kind, f"{r.rows:,}", r.outcome)
    Console().print(table)


@cli.command()
def audit(
    out: Annotated[Path | None, typer.Option(help="Directory for CSV and HTML reports.")] = None,
    provider: Annotated[str | None, typer.Option(help="Audit one provider only.")] = None,
    month: Annotated[str | None, typer.Option(help="Audit one month only, YYYY-MM.")] = None,
) -> None:
    """Reconcile ECM visits with care notes; store results; write CSV and an HTML report."""
    from app.jobs.audit import run_audit

    settings = get_settings()
    try:
        outcome = run_audit(settings, out_dir=out, provider_id=provider, month=month)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    _print_audit_summary(outcome)


def _print_audit_summary(outcome) -> None:  # type: ignore[no-untyped-def]
    table = Table("provider", "month", "visits", "flagged", "billed £", "verified £", "variance £")
    pm = outcome.result.provider_month.sort_values("variance_gbp", ascending=False).head(10)
    for row in pm.itertuples():
        table.add_row(
            row.provider_id,
            row.month,
            f"{row.visits:,}",
            f"{row.flagged_visits:,}",
            f"{row.billed_gbp:,.0f}",
            f"{row.verified_gbp:,.0f}",
            f"{row.variance_gbp:,.0f}",
        )
    out = Console()
    out.print(table)
    out.print(f"Audit run {outcome.run_id}: report at {outcome.report_path}")


@cli.command()
def demo(
    scale: Annotated[str, typer.Option(help="small | county")] = "county",
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """The main job on the embedded default: generate data, load it, audit it, report."""
    from app.jobs.audit import run_audit
    from app.jobs.demo import generate_dataset
    from app.jobs.ingest import ingest_paths

    settings = get_settings()
    data_dir = settings.work_dir / f"demo-{scale}-{seed}"
    console.print(f"Generating {scale} data (seed {seed}) into {data_dir}")
    generate_dataset(data_dir, scale=scale, seed=seed)
    with _progress() as progress:
        ingest_paths(settings, [data_dir], progress=progress)
    outcome = run_audit(settings)
    _print_audit_summary(outcome)


@cli.command()
def nightly(
    day: Annotated[
        str | None, typer.Option(help="Planning day, YYYY-MM-DD; default the latest.")
    ] = None,
    solution_limit: Annotated[int, typer.Option(help="Solver stop per area (reproducible).")] = 300,
) -> None:
    """Nightly batch: capacity released per area by re-allocation, and the month's audit."""
    from datetime import date

    from app.jobs.nightly import NightlyParams, run_nightly

    try:
        outcome = run_nightly(
            get_settings(),
            day=date.fromisoformat(day) if day else None,
            params=NightlyParams(solution_limit=solution_limit),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    table = Table("area", "visits", "travel h today", "proposed", "hours freed / week", "packages")
    for row in outcome.capacity.itertuples():
        table.add_row(
            str(row.area),
            f"{row.visits:,}",
            f"{row.travel_hours_today:,.1f}",
            f"{row.travel_hours_proposed:,.1f}",
            f"{row.hours_freed_per_week:,.0f}",
            f"{row.packages_absorbed:,}",
        )
    out = Console()
    out.print(table)
    out.print(f"Nightly report for {outcome.day}: {outcome.report_dir / 'nightly_report.html'}")


@cli.command("db-upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest revision."""
    from data import upgrade_schema

    upgrade_schema(get_settings().database_url)
    console.print("Database is at the latest schema.")


users_cli = typer.Typer(help="Users and their API tokens.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")


@users_cli.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name, e.g. a.broker@council.gov.uk")],
    role: Annotated[
        str, typer.Option(help="broker | contract_manager | analyst | admin | service_account")
    ],
    area: Annotated[str | None, typer.Option(help="A broker's area (default: all).")] = None,
    note_text: Annotated[
        bool, typer.Option(help="Grant a contract manager the flagged care-note excerpt.")
    ] = False,
    ttl_days: Annotated[int, typer.Option(help="Days until the token expires.")] = 90,
) -> None:
    """Create a user and print a bearer token for them (shown once; only its hash is kept)."""
    from app.api.users import create_user_with_token

    settings = get_settings()
    try:
        token = create_user_with_token(
            settings, username, role, area=area, may_read_note_text=note_text, ttl_days=ttl_days
        )
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"Created {role} {username!r}. Token (store it now; it is not shown again):")
    print(token)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Job workers to run beside the server (default: settings).")
    ] = None,
) -> None:
    """Serve the API and web page; also runs the job worker unless --workers 0."""
    from app.api.serve import serve as run_server

    run_server(get_settings(), host=host, port=port, workers=workers)


@cli.command()
def worker() -> None:
    """Run a job worker on its own (audits, re-allocations) until interrupted."""
    from app.api.serve import run_worker

    run_worker(get_settings())


def main() -> None:
    """Entry point of the ``carerounds`` script."""
    cli()


if __name__ == "__main__":
    main()
