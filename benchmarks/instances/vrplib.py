"""Read VRPLIB VRPTW instances (Solomon, Gehring & Homberger) and their ``.sol`` files.

Conventions (``shared/data/README.md``): node 1 of the file is the depot (row 0 here),
``SERVICE_TIME`` applies to every customer, and every distance and travel time is truncated to
one decimal (DIMACS). Integer engines work in tenths: ``distance_x10 = floor(10 * euclid)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .errors import InstanceFormatError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_SECTIONS = ("NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION", "DEPOT_SECTION")


@dataclass(frozen=True)
class VrptwInstance:
    """One capacitated VRP with time windows, as read from a VRPLIB file.

    Attributes
    ----------
    name
        Instance name (``NAME`` line), e.g. ``"C101"``.
    coords
        ``(n, 2)`` coordinates; row 0 is the depot, rows 1..n-1 the customers.
    demand
        ``(n,)`` integer demand; 0 at the depot.
    tw_early, tw_late
        ``(n,)`` integer time window bounds, in the file's time units.
    service_time
        ``(n,)`` integer service duration; 0 at the depot.
    capacity
        Vehicle capacity, in demand units.
    num_vehicles
        Vehicles available (``VEHICLES``).
    """

    name: str
    coords: FloatArray
    demand: IntArray
    tw_early: IntArray
    tw_late: IntArray
    service_time: IntArray
    capacity: int
    num_vehicles: int

    def __post_init__(self) -> None:
        n = len(self.coords)
        if self.coords.shape != (n, 2):
            raise ValueError("Expected coords of shape (n, 2).")
        for field in ("demand", "tw_early", "tw_late", "service_time"):
            if getattr(self, field).shape != (n,):
                raise ValueError(f"Expected {field} of shape ({n},).")
        if np.any(self.tw_early > self.tw_late):
            raise ValueError("Expected tw_early <= tw_late.")
        if self.capacity <= 0 or self.num_vehicles <= 0:
            raise ValueError("Expected capacity > 0 and num_vehicles > 0.")

    @property
    def num_customers(self) -> int:
        """Number of customers (nodes other than the depot)."""
        return len(self.coords) - 1

    def distance_matrix_x10(self) -> IntArray:
        """Return DIMACS distances in tenths: ``floor(10 * euclidean)``, an ``(n, n)`` int array.

        Travel time equals distance in these instances, so the same matrix serves both.
        """
        diff = self.coords[:, None, :] - self.coords[None, :, :]
        squared = np.einsum("ijk,ijk->ij", diff, diff)
        # sqrt(100 * sq) is exact for perfect squares, so flooring never loses a tenth.
        return np.floor(np.sqrt(100.0 * squared) + 1e-9).astype(np.int64)

    def route_distance(self, routes: list[list[int]]) -> float:
        """Return the DIMACS distance of ``routes`` (customer indices 1..n-1, depot omitted)."""
        return routes_distance_x10(self.distance_matrix_x10(), routes) / 10


def routes_distance_x10(distance_x10: IntArray, routes: list[list[int]]) -> int:
    """Return the total distance, in tenths, of depot-to-depot ``routes`` over ``distance_x10``."""
    total_x10 = 0
    for route in routes:
        path = np.array([0, *route, 0], dtype=np.int64)
        total_x10 += int(distance_x10[path[:-1], path[1:]].sum())
    return total_x10


def read_vrptw(path: Path | str) -> VrptwInstance:
    """Read a VRPLIB CVRPTW file (``.vrp``).

    Parameters
    ----------
    path
        File with ``NAME``, ``CAPACITY``, ``VEHICLES``, ``SERVICE_TIME`` headers and
        ``NODE_COORD``, ``DEMAND``, ``TIME_WINDOW`` sections; node 1 is the depot.

    Returns
    -------
    VrptwInstance
        The instance, depot in row 0.

    Raises
    ------
    InstanceFormatError
        When a required header or section is missing or malformed.
    """
    path = Path(path)
    headers: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line in _SECTIONS:
            current = line
            sections[current] = []
        elif ":" in line and current is None:
            key, value = line.split(":", 1)
            headers[key.strip().upper()] = value.strip()
        elif current is not None:
            sections[current].append(line.split())
        else:
            raise InstanceFormatError(f"{path.name}: unexpected line {line!r}.")
    try:
        n = int(headers["DIMENSION"])
        capacity = int(headers["CAPACITY"])
        num_vehicles = int(headers["VEHICLES"])
        service = int(float(headers.get("SERVICE_TIME", "0")))
        coords = _section(sections, "NODE_COORD_SECTION", n, 2)
        demand = _section(sections, "DEMAND_SECTION", n, 1)[:, 0]
        windows = _section(sections, "TIME_WINDOW_SECTION", n, 2)
    except KeyError as exc:
        raise InstanceFormatError(f"{path.name}: missing {exc.args[0]}.") from exc
    except ValueError as exc:
        raise InstanceFormatError(f"{path.name}: {exc}") from exc
    service_time = np.full(n, service, dtype=np.int64)
    service_time[0] = 0
    return VrptwInstance(
        name=headers.get("NAME", path.stem),
        coords=coords.astype(np.float64),
        demand=demand.astype(np.int64),
        tw_early=windows[:, 0].astype(np.int64),
        tw_late=windows[:, 1].astype(np.int64),
        service_time=service_time,
        capacity=capacity,
        num_vehicles=num_vehicles,
    )


def _section(sections: dict[str, list[list[str]]], name: str, n: int, width: int) -> FloatArray:
    rows = sections[name]
    if len(rows) != n or any(len(row) != width + 1 for row in rows):
        raise ValueError(f"expected {n} rows of {width + 1} fields in {name}")
    table = np.array([[float(v) for v in row] for row in rows])
    if not np.array_equal(table[:, 0], np.arange(1, n + 1)):
        raise ValueError(f"expected nodes numbered 1..{n} in {name}")
    return table[:, 1:]


@dataclass(frozen=True)
class VrptwSolution:
    """Routes from a VRPLIB ``.sol`` file and the cost it states."""

    routes: list[list[int]]
    stated_cost: float | None


def read_vrptw_solution(path: Path | str) -> VrptwSolution:
    """Read a VRPLIB ``.sol`` file (``Route #k: c1 c2 ...`` lines and ``Cost x``).

    Customer numbers in ``.sol`` files count from 1 with the depot as 0, which matches the
    row numbering of :class:`VrptwInstance`.

    Raises
    ------
    InstanceFormatError
        When a line is neither a route nor a cost.
    """
    path = Path(path)
    routes: list[list[int]] = []
    cost: float | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("Route"):
            _, _, visits = line.partition(":")
            routes.append([int(v) for v in visits.split()])
        elif line.lower().startswith("cost"):
            cost = float(line.split()[1])
        else:
            raise InstanceFormatError(f"{path.name}: unexpected line {line!r}.")
    return VrptwSolution(routes=routes, stated_cost=cost)
