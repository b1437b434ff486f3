"""Read the best-known VRPTW distances table (``vrptw/bks.csv``)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .errors import InstanceFormatError

T = TypeVar("T")


@dataclass(frozen=True)
class BestKnown:
    """Best-known DIMACS distance and route count of one VRPTW instance."""

    benchmark_set: str
    instance: str
    distance: float
    num_routes: int


def read_keyed_table(path: Path | str, parse_row: Callable[[dict[str, str]], T]) -> dict[str, T]:
    """Read a CSV table with a header into ``{entry.instance: entry}``, one entry per row.

    Raises
    ------
    InstanceFormatError
        When ``parse_row`` finds a column missing or a value that does not parse; names the line.
    """
    path = Path(path)
    table: dict[str, T] = {}
    with path.open(newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            try:
                entry = parse_row(row)
            except (KeyError, TypeError, ValueError) as exc:
                raise InstanceFormatError(f"{path.name} line {line_no}: {exc}") from exc
            table[entry.instance] = entry  # type: ignore[attr-defined]
    return table


def read_bks(path: Path | str) -> dict[str, BestKnown]:
    """Read ``set,instance,bks_distance,num_routes`` rows, keyed by instance name.

    Raises
    ------
    InstanceFormatError
        When a column is missing or a value does not parse.
    """
    return read_keyed_table(
        path,
        lambda row: BestKnown(
            benchmark_set=row["set"],
            instance=row["instance"],
            distance=float(row["bks_distance"]),
            num_routes=int(row["num_routes"]),
        ),
    )
