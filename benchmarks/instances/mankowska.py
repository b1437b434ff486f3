"""Read Mankowska et al. (2014) home health care instances and score schedules for them.

The problem (HHCRSP with double services): carers start at node 0 and end at node ``n - 1``
(the same place); each patient 1..n-2 needs one or two services; a service may only be done by
a qualified carer; the two services of a double-service patient are done by two different
carers, the second (higher service index) starting within ``[min_gap, max_gap]`` after the
first (``min_gap == max_gap == 0``: together). A service may not start before ``e``; starting
after ``l`` is tardiness. Objective: (total travel + total tardiness + max tardiness) / 3.
Travel and time share one unit (the distance matrix is the travel-time matrix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .bks import read_keyed_table
from .errors import InstanceFormatError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_KEYWORDS = (
    "nbNodes",
    "nbVehi",
    "nbServi",
    "r",
    "DS",
    "a",
    "x",
    "y",
    "d",
    "p",
    "mind",
    "maxd",
    "e",
    "l",
)

#: Absolute tolerance on times when checking a schedule (the data carry 6 decimals).
TIME_TOLERANCE = 1e-4


@dataclass(frozen=True)
class MankowskaInstance:
    """One Mankowska (2014) instance, 0-based throughout.

    Attributes
    ----------
    name
        File stem, e.g. ``"InstanzCPLEX_HCSRP_10_1"``.
    requires
        ``(num_nodes, num_services)``: patient ``i`` needs service ``s``.
    qualified
        ``(num_carers, num_services)``: carer ``k`` may perform service ``s``.
    x, y
        ``(num_nodes,)`` coordinates.
    travel
        ``(num_nodes, num_nodes)`` travel time (equal to distance).
    processing
        ``(num_nodes, num_carers, num_services)`` service duration.
    min_gap, max_gap
        ``(num_nodes,)`` bounds on start(second service) - start(first service).
    tw_early, tw_late
        ``(num_nodes,)``: no start before ``tw_early``; lateness is start - ``tw_late``.
    double_service_nodes
        Patients needing two services (sorted).
    """

    name: str
    requires: BoolArray
    qualified: BoolArray
    x: FloatArray
    y: FloatArray
    travel: FloatArray
    processing: FloatArray
    min_gap: FloatArray
    max_gap: FloatArray
    tw_early: FloatArray
    tw_late: FloatArray
    double_service_nodes: tuple[int, ...]

    def __post_init__(self) -> None:
        n, s = self.requires.shape
        k = self.qualified.shape[0]
        if self.qualified.shape != (k, s):
            raise ValueError("Expected qualified of shape (num_carers, num_services).")
        if self.travel.shape != (n, n):
            raise ValueError("Expected travel of shape (num_nodes, num_nodes).")
        if self.processing.shape != (n, k, s):
            raise ValueError("Expected processing of shape (num_nodes, num_carers, num_services).")
        for name in ("x", "y", "min_gap", "max_gap", "tw_early", "tw_late"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"Expected {name} of shape ({n},).")
        counts = self.requires[1:-1].sum(axis=1)
        if np.any((counts < 1) | (counts > 2)):
            raise ValueError("Expected every patient to need one or two services.")
        doubles = tuple(int(i) + 1 for i in np.flatnonzero(counts == 2))
        if doubles != self.double_service_nodes:
            raise ValueError("Expected DS to list exactly the patients needing two services.")
        if np.any(self.min_gap > self.max_gap):
            raise ValueError("Expected min_gap <= max_gap.")

    @property
    def num_nodes(self) -> int:
        """Nodes including both depots."""
        return int(self.requires.shape[0])

    @property
    def num_carers(self) -> int:
        """Carers (vehicles)."""
        return int(self.qualified.shape[0])

    @property
    def num_services(self) -> int:
        """Service types (skills)."""
        return int(self.requires.shape[1])

    @property
    def patients(self) -> range:
        """Patient nodes: 1..num_nodes-2."""
        return range(1, self.num_nodes - 1)

    @property
    def end_depot(self) -> int:
        """The node carers return to (last node; same place as node 0)."""
        return self.num_nodes - 1

    def services_of(self, node: int) -> tuple[int, ...]:
        """Services patient ``node`` needs, ascending (the first is the earlier one)."""
        return tuple(int(s) for s in np.flatnonzero(self.requires[node]))

    def is_simultaneous(self, node: int) -> bool:
        """Whether the two services of ``node`` must start together."""
        return len(self.services_of(node)) == 2 and self.max_gap[node] == 0


def read_mankowska(path: Path | str) -> MankowskaInstance:
    """Read a Mankowska (2014) ``.txt`` instance (keyword line, then its data).

    Raises
    ------
    InstanceFormatError
        When a keyword is missing or a block has the wrong size.
    """
    path = Path(path)
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line in _KEYWORDS:
            current = line
            blocks[current] = []
        elif line:
            if current is None:
                raise InstanceFormatError(f"{path.name}: data before the first keyword.")
            blocks[current].extend(line.split())
    try:
        n = int(blocks["nbNodes"][0])
        k = int(blocks["nbVehi"][0])
        s = int(blocks["nbServi"][0])

        def table(key: str, shape: tuple[int, ...]) -> FloatArray:
            values = np.array([float(v) for v in blocks[key]], dtype=np.float64)
            if values.size != int(np.prod(shape)):
                raise InstanceFormatError(
                    f"{path.name}: {key} has {values.size} values, expected shape {shape}."
                )
            return values.reshape(shape)

        return MankowskaInstance(
            name=path.stem,
            requires=table("r", (n, s)).astype(bool),
            qualified=table("a", (k, s)).astype(bool),
            x=table("x", (n,)),
            y=table("y", (n,)),
            travel=table("d", (n, n)),
            processing=table("p", (n, k, s)),
            min_gap=table("mind", (n,)),
            max_gap=table("maxd", (n,)),
            tw_early=table("e", (n,)),
            tw_late=table("l", (n,)),
            double_service_nodes=tuple(sorted(int(v) - 1 for v in blocks.get("DS", []))),
        )
    except KeyError as exc:
        raise InstanceFormatError(f"{path.name}: missing keyword {exc.args[0]}.") from exc
    except ValueError as exc:
        raise InstanceFormatError(f"{path.name}: {exc}") from exc


@dataclass(frozen=True)
class MankowskaBestKnown:
    """Published reference values for one instance (``mankowska2014_bks.csv``)."""

    instance: str
    file: str
    num_patients: int
    best_known_ub: float
    best_known_source: str
    is_proven_optimal: bool

    @property
    def benchmark_set(self) -> str:
        """Set letter A-G."""
        return self.instance[0]


def read_mankowska_bks(path: Path | str) -> dict[str, MankowskaBestKnown]:
    """Read the Mankowska best-known table, keyed by instance label (``"A1"``...``"G10"``).

    Raises
    ------
    InstanceFormatError
        When a column is missing or a value does not parse.
    """
    return read_keyed_table(
        path,
        lambda row: MankowskaBestKnown(
            instance=row["instance"],
            file=row["file"],
            num_patients=int(row["n_patients"]),
            best_known_ub=float(row["best_known_ub"]),
            best_known_source=row["best_known_source"],
            is_proven_optimal=row["cplex_proven_optimal"] == "yes",
        ),
    )


@dataclass(frozen=True)
class ServiceVisit:
    """One service performed by a carer: patient node, service index, start time."""

    node: int
    service: int
    start: float


@dataclass(frozen=True)
class MankowskaEvaluation:
    """Score of a schedule and every rule it breaks (empty ``violations``: feasible)."""

    travel: float
    total_tardiness: float
    max_tardiness: float
    violations: tuple[str, ...] = field(default=())

    @property
    def objective(self) -> float:
        """(total travel + total tardiness + max tardiness) / 3."""
        return (self.travel + self.total_tardiness + self.max_tardiness) / 3

    @property
    def is_feasible(self) -> bool:
        """Whether the schedule breaks no rule."""
        return not self.violations


def evaluate_schedule(
    instance: MankowskaInstance,
    routes: Sequence[Sequence[ServiceVisit]],
    *,
    tolerance: float = TIME_TOLERANCE,
) -> MankowskaEvaluation:
    """Score a schedule and check it independently of whoever produced it.

    Parameters
    ----------
    instance
        The instance.
    routes
        One sequence per carer (index = carer), visits in the order driven, with start times.
        Each route starts at node 0 at time 0 and ends at the end depot.
    tolerance
        Slack allowed on every time comparison.

    Returns
    -------
    MankowskaEvaluation
        Travel, total and maximum tardiness, and a description of every violation: a service
        missing, duplicated or not required; an unqualified carer; a start before ``e``; a start
        before the carer can arrive; both services by one carer; a synchronisation gap outside
        ``[min_gap, max_gap]``.
    """
    violations: list[str] = []
    if len(routes) > instance.num_carers:
        violations.append(f"{len(routes)} routes for {instance.num_carers} carers")
    done: dict[tuple[int, int], list[tuple[int, float]]] = {}
    travel = 0.0
    for carer, route in enumerate(routes[: instance.num_carers]):
        position, ready = 0, 0.0
        for visit in route:
            node, service = visit.node, visit.service
            if node not in instance.patients or not 0 <= service < instance.num_services:
                violations.append(f"carer {carer}: unknown visit ({node}, {service})")
                continue
            leg = float(instance.travel[position, node])
            travel += leg
            if not instance.requires[node, service]:
                violations.append(f"carer {carer}: node {node} does not need service {service}")
            if not instance.qualified[carer, service]:
                violations.append(f"carer {carer}: not qualified for service {service}")
            if visit.start < instance.tw_early[node] - tolerance:
                violations.append(
                    f"node {node} service {service}: starts {visit.start:.3f} "
                    f"before e={instance.tw_early[node]:g}"
                )
            if visit.start < ready + leg - tolerance:
                violations.append(
                    f"carer {carer}: node {node} starts {visit.start:.3f} "
                    f"before arrival {ready + leg:.3f}"
                )
            done.setdefault((node, service), []).append((carer, visit.start))
            position = node
            ready = visit.start + float(instance.processing[node, carer, service])
        travel += float(instance.travel[position, instance.end_depot])

    tardiness: list[float] = []
    for node in instance.patients:
        services = instance.services_of(node)
        starts: list[float] = []
        carers: list[int] = []
        for service in services:
            performed = done.get((node, service), [])
            if len(performed) != 1:
                violations.append(f"node {node} service {service}: done {len(performed)} times")
                continue
            carers.append(performed[0][0])
            starts.append(performed[0][1])
            tardiness.append(max(0.0, performed[0][1] - float(instance.tw_late[node])))
        if len(services) == 2 and len(starts) == 2:
            if carers[0] == carers[1]:
                violations.append(f"node {node}: both services by carer {carers[0]}")
            gap = starts[1] - starts[0]
            low, high = float(instance.min_gap[node]), float(instance.max_gap[node])
            if not low - tolerance <= gap <= high + tolerance:
                violations.append(
                    f"node {node}: synchronisation gap {gap:.3f} outside [{low:g}, {high:g}]"
                )
    return MankowskaEvaluation(
        travel=travel,
        total_tardiness=float(sum(tardiness)),
        max_tardiness=max(tardiness, default=0.0),
        violations=tuple(violations),
    )


def earliest_schedule(
    instance: MankowskaInstance,
    sequences: Sequence[Sequence[tuple[int, int]]],
    *,
    max_rounds: int = 1000,
) -> list[list[ServiceVisit]]:
    """Time carers' visit sequences as early as allowed, honouring synchronisation.

    Parameters
    ----------
    instance
        The instance.
    sequences
        Per carer, the ``(node, service)`` pairs in visiting order.
    max_rounds
        Give up after this many relaxation rounds.

    Returns
    -------
    list of list of ServiceVisit
        The earliest start times satisfying travel, ``e`` and both gap bounds.

    Raises
    ------
    ValueError
        When no timing honours the gaps (the sequences deadlock).
    """
    starts = [[0.0] * len(seq) for seq in sequences]
    where: dict[tuple[int, int], tuple[int, int]] = {}
    for carer, seq in enumerate(sequences):
        for pos, key in enumerate(seq):
            where[key] = (carer, pos)
    for _ in range(max_rounds):
        changed = False
        for carer, seq in enumerate(sequences):
            position, ready = 0, 0.0
            for pos, (node, service) in enumerate(seq):
                earliest = max(
                    ready + float(instance.travel[position, node]), float(instance.tw_early[node])
                )
                services = instance.services_of(node)
                if len(services) == 2:
                    other = services[1] if service == services[0] else services[0]
                    if (node, other) in where:
                        oc, op = where[(node, other)]
                        other_start = starts[oc][op]
                        if service == services[1]:
                            earliest = max(earliest, other_start + float(instance.min_gap[node]))
                        else:
                            earliest = max(earliest, other_start - float(instance.max_gap[node]))
                if earliest > starts[carer][pos] + 1e-9:
                    starts[carer][pos] = earliest
                    changed = True
                position = node
                ready = starts[carer][pos] + float(instance.processing[node, carer, service])
        if not changed:
            return [
                [ServiceVisit(n, s, t) for (n, s), t in zip(seq, ts, strict=True)]
                for seq, ts in zip(sequences, starts, strict=True)
            ]
    raise ValueError("Expected sequences whose synchronisation gaps can all be met.")
