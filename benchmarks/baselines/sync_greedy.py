"""The synchronisation-aware greedy on its own, as a baseline column for days with double-ups.

The heuristic itself (ordered greedy append of calls, each double-up to the best pair of
carers meeting its start-gap band, then a search over the order) lives in the solver, which
uses it as the first solution for OR-Tools; the benchmark runs it alone to show what the
local search adds.
"""

from solver._construct import GreedyResult, sync_greedy

__all__ = ["GreedyResult", "sync_greedy"]
