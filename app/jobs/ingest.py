"""Load export files, in an order that satisfies references between record kinds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress

from app.settings import Settings
from data import create_engine_for, ingest_file, upgrade_schema
from data.records import LOAD_ORDER

SUFFIXES = (".csv", ".xlsx", ".json", ".jsonl")
# Files a generated data set carries that are not records.
NOT_RECORDS = {"ground_truth", "manifest"}


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    path: Path
    kind: str
    rows: int
    outcome: str  # "loaded" | "already imported"


def kind_from_file_name(path: Path) -> str | None:
    """``ecm_visits.csv`` -> ``ecm_visit``; None when the name names no record kind."""
    stem = path.name.split(".")[0].lower()
    for kind in LOAD_ORDER:
        if stem in (kind, f"{kind}s"):
            return kind
    return None


def ordered_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories and put files in load order (providers before carers before ...)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.iterdir())
                if p.suffix.lower() in SUFFIXES and p.name.split(".")[0] not in NOT_RECORDS
            )
        else:
            files.append(path)

    def rank(p: Path) -> int:
        kind = kind_from_file_name(p)
        return LOAD_ORDER.index(kind) if kind else len(LOAD_ORDER)

    return sorted(files, key=rank)


def ingest_paths(
    settings: Settings,
    paths: Iterable[Path],
    *,
    kind: str | None = None,
    mapping: Path | None = None,
    progress: Progress | None = None,
) -> list[IngestOutcome]:
    """Ingest every file under ``paths``; stops at the first file that fails (it loads nothing)."""
    upgrade_schema(settings.database_url)
    engine = create_engine_for(settings.database_url)
    outcomes = []
    try:
        for path in ordered_files(paths):
            task = progress.add_task(path.name, total=None) if progress else None

            def advance(rows_done: int, rows_total: int | None = None, task=task) -> None:
                if progress is not None and task is not None:
                    progress.update(task, completed=rows_done, total=rows_total)

            file_kind = kind or kind_from_file_name(path)
            result = ingest_file(engine, path, kind=file_kind, mapping=mapping, progress=advance)
            outcomes.append(
                IngestOutcome(
                    path=path,
                    kind=result.kind,
                    rows=result.rows,
                    outcome="already imported" if result.already_imported else "loaded",
                )
            )
    finally:
        engine.dispose()
    return outcomes
