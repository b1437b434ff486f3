"""Errors raised by the solver package.

Infeasible calls are not errors: they are reported per call in the ``Solution``. These
classes cover inputs the solver cannot work with at all.
"""

from __future__ import annotations


class SolverError(Exception):
    """Base class for every error the solver raises."""


class InvalidRoundsError(SolverError, ValueError):
    """A set of rounds handed to the solver does not fit the problem (unknown visit, repeats)."""


class EngineError(SolverError, RuntimeError):
    """The routing engine failed in a way the solver could not recover from."""
