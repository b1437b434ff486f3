"""Reference engines for the VRPTW benchmark: PyVRP and plain OR-Tools at a fixed time budget."""

from .ortools_vrptw import solve_vrptw_ortools
from .pyvrp_vrptw import solve_vrptw_pyvrp
from .result import BaselineResult

__all__ = ["BaselineResult", "solve_vrptw_ortools", "solve_vrptw_pyvrp"]
