"""Re-allocate a day's calls across carers and providers to shorten rounds."""

from __future__ import annotations

from collections.abc import Sequence

from solver.params import ReallocationParams
from solver.problem import Problem
from solver.solution import Solution


def reallocate(
    problem: Problem,
    params: ReallocationParams | None = None,
    *,
    initial: Sequence[Sequence[int]] | None = None,
) -> Solution:
    """Find rounds serving every call feasibly with least travel, then least waiting.

    Parameters
    ----------
    problem
        The planning day.
    params
        Search budget, seed and decomposition; defaults to ``ReallocationParams()``.
    initial
        Rounds to start from (one sequence per carer); defaults to today's rounds when
        ``params.use_initial`` and the visits carry today's carers.

    Returns
    -------
    Solution
        Rounds with start times; every call is in exactly one round or in ``unserved``
        with a reason.
    """
    raise NotImplementedError
