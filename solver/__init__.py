"""Pure optimisation: arrays and frozen dataclasses in, a ``Solution`` out."""

from solver.baseline import evaluate_rounds, today_rounds
from solver.errors import EngineError, InvalidRoundsError, SolverError
from solver.impact import Impact, ProviderImpact, SavingsRates, impact
from solver.insertion import CallInsertion, Placement, PlacementIndex, place_package
from solver.params import PlacementParams, ReallocationParams
from solver.problem import HORIZON_S, Carer, Objective, Policy, Problem, Rounds, Visit
from solver.reallocation import reallocate
from solver.solution import RoundCost, Route, Solution, SolveStats, Unserved, UnservedReason

__all__ = [
    "HORIZON_S",
    "CallInsertion",
    "Carer",
    "EngineError",
    "Impact",
    "InvalidRoundsError",
    "Objective",
    "Placement",
    "PlacementIndex",
    "PlacementParams",
    "Policy",
    "Problem",
    "ProviderImpact",
    "ReallocationParams",
    "RoundCost",
    "Rounds",
    "Route",
    "SavingsRates",
    "Solution",
    "SolveStats",
    "SolverError",
    "Unserved",
    "UnservedReason",
    "Visit",
    "evaluate_rounds",
    "impact",
    "place_package",
    "reallocate",
    "today_rounds",
]
