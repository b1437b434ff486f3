"""What every VRPTW engine returns to the benchmark."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BaselineResult:
    """Routes found by one engine on one instance.

    Attributes
    ----------
    routes
        Customer indices (1..n-1) per used vehicle, depot omitted.
    distance_x10
        DIMACS distance in tenths, recomputed from ``routes`` by the benchmark's own matrix.
    is_feasible
        Whether the engine reports the routes as feasible (all customers, capacity, windows).
    runtime_s
        Wall-clock seconds spent in the engine.
    """

    routes: list[list[int]]
    distance_x10: int
    is_feasible: bool
    runtime_s: float

    @property
    def distance(self) -> float:
        """DIMACS distance in instance units."""
        return self.distance_x10 / 10
