"""Readers for the shared benchmark instances and an independent Mankowska schedule checker."""

from ._paths import (
    GH200_DIR,
    MANKOWSKA_BKS_CSV,
    MANKOWSKA_DIR,
    SHARED_DATA_DIR,
    SOLOMON_DIR,
    VRPTW_BKS_CSV,
)
from .bks import BestKnown, read_bks
from .errors import InstanceFormatError
from .mankowska import (
    MankowskaBestKnown,
    MankowskaEvaluation,
    MankowskaInstance,
    ServiceVisit,
    earliest_schedule,
    evaluate_schedule,
    read_mankowska,
    read_mankowska_bks,
)
from .problems import (
    MANKOWSKA_SCALE,
    MankowskaProblem,
    VrptwProblem,
    mankowska_problem,
    mankowska_schedule,
    vrptw_problem,
    vrptw_routes,
)
from .vrplib import (
    VrptwInstance,
    VrptwSolution,
    read_vrptw,
    read_vrptw_solution,
    routes_distance_x10,
)

__all__ = [
    "GH200_DIR",
    "MANKOWSKA_BKS_CSV",
    "MANKOWSKA_DIR",
    "MANKOWSKA_SCALE",
    "SHARED_DATA_DIR",
    "SOLOMON_DIR",
    "VRPTW_BKS_CSV",
    "BestKnown",
    "InstanceFormatError",
    "MankowskaBestKnown",
    "MankowskaEvaluation",
    "MankowskaInstance",
    "MankowskaProblem",
    "ServiceVisit",
    "VrptwInstance",
    "VrptwProblem",
    "VrptwSolution",
    "earliest_schedule",
    "evaluate_schedule",
    "mankowska_problem",
    "mankowska_schedule",
    "read_bks",
    "read_mankowska",
    "read_mankowska_bks",
    "read_vrptw",
    "read_vrptw_solution",
    "routes_distance_x10",
    "vrptw_problem",
    "vrptw_routes",
]
