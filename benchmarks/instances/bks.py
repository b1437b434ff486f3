"""Read the best-known VRPTW distances table (``vrptw/bks.csv``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .errors import InstanceFormatError


@dataclass(frozen=True)
class BestKnown:
    """Best-known DIMACS distance and route count of one VRPTW instance."""

    benchmark_set: str
    instance: str
    distance: float
    num_routes: int


def read_bks(path: Path | str) -> dict[str, BestKnown]:
    """Read ``set,instance,bks_distance,num_routes`` rows, keyed by instance name.

    Raises
    ------
    InstanceFormatError
        When a column is missing or a value does not parse.
    """
    path = Path(path)
    table: dict[str, BestKnown] = {}
    with path.open(newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            try:
                entry = BestKnown(
                    benchmark_set=row["set"],
                    instance=row["instance"],
                    distance=float(row["bks_distance"]),
                    num_routes=int(row["num_routes"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InstanceFormatError(f"{path.name} line {line_no}: {exc}") from exc
            table[entry.instance] = entry
    return table
