"""Pure optimisation: arrays and frozen dataclasses in, a ``Solution`` out."""

from solver.baseline import evaluate_rounds, today_rounds
from solver.errors import EngineError, InvalidRoundsError, SolverError
from solver.params import PlacementParams, ReallocationParams
from solver.problem import HORIZON_S, Carer, Objective, Policy, Problem, Rounds, Visit
from solver.reallocation import reallocate
from solver.solution import RoundCost, Route, Solution, SolveStats, Unserved, UnservedReason

__all__ = [
    "HORIZON_S",
    "Carer",
    "EngineError",
    "InvalidRoundsError",
    "Objective",
    "PlacementParams",
    "Policy",
    "Problem",
    "ReallocationParams",
    "RoundCost",
    "Rounds",
    "Route",
    "Solution",
    "SolveStats",
    "SolverError",
    "Unserved",
    "UnservedReason",
    "Visit",
    "evaluate_rounds",
    "reallocate",
    "today_rounds",
]
