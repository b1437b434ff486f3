"""What the solver hands back: rounds with start times, unserved calls with reasons, costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from solver.problem import IntArray


class UnservedReason(StrEnum):
    """Why a call is not in any round."""

    NO_ELIGIBLE_CARER = "no_eligible_carer"
    """No carer has the skills, gender and provider rights the call needs."""
    WINDOW_TOO_SHORT = "window_too_short"
    """The window is shorter than the visit (hard windows)."""
    NO_CARER_IN_SHIFT = "no_carer_in_shift"
    """No eligible carer can reach the call and get home inside their shift and hours."""
    DOUBLE_UP_ONE_CARER = "double_up_one_carer"
    """A double-up whose two halves cannot go to two different eligible carers."""
    SYNC_BAND_INFEASIBLE = "sync_band_infeasible"
    """The two halves' windows cannot meet the start-gap band."""
    PARTNER_UNSERVED = "partner_unserved"
    """The other half of the double-up cannot be served, so neither is."""
    PROVIDER_CHANGE_CAP = "provider_change_cap"
    """Serving it would move a person to another provider beyond the cap."""
    NOT_SCHEDULED = "not_scheduled"
    """Feasible on its own, but the solver found no room for it within the time limit."""


@dataclass(frozen=True)
class Unserved:
    """A call left out of every round, and why."""

    visit: int
    reason: UnservedReason
    detail: str = ""


@dataclass(frozen=True)
class Route:
    """One carer's round: visits in order with their start times.

    Attributes
    ----------
    carer
        Carer index.
    visits
        Visit indices in service order (empty for an idle carer).
    start_s
        Start of service at each visit, seconds from midnight.
    depart_s, return_s
        When the carer leaves the start location and gets back to the end location
        (both equal to the shift start for an idle carer).
    """

    carer: int
    visits: tuple[int, ...] = ()
    start_s: tuple[int, ...] = ()
    depart_s: int = 0
    return_s: int = 0

    def __post_init__(self) -> None:
        if len(self.visits) != len(self.start_s):
            raise ValueError("Expected one start_s per visit.")
        if self.return_s < self.depart_s:
            raise ValueError("Expected return_s >= depart_s.")


@dataclass(frozen=True)
class RoundCost:
    """Figures for one round, or summed over rounds (then ``carer`` is -1).

    ``span_s`` = travel + waiting + contact, from leaving to getting back.
    ``utilisation`` = contact / span (0 for an idle carer).
    """

    carer: int
    visits: int
    travel_s: int
    distance_m: int
    waiting_s: int
    contact_s: int
    lateness_s: int
    max_lateness_s: int
    span_s: int
    carer_changes: int
    load_units: int = 0

    @property
    def utilisation(self) -> float:
        """Share of the round spent with people."""
        return self.contact_s / self.span_s if self.span_s else 0.0


@dataclass(frozen=True)
class SolveStats:
    """How the answer was found (not part of the answer's identity)."""

    wall_s: float = 0.0
    parts: int = 1
    engine: str = "evaluate"
    status: str = ""


@dataclass(frozen=True)
class Solution:
    """Rounds for a planning day with every figure recomputed from them.

    Build one with ``solver.evaluate_rounds`` (today's rounds) or ``solver.reallocate``.

    Attributes
    ----------
    routes
        One route per carer, in carer order.
    unserved
        Calls in no round, each with a reason; with the routes they cover every call once.
    costs
        One ``RoundCost`` per carer.
    total
        Sum over carers (``max_lateness_s`` is the maximum).
    cost
        Objective value under the problem's ``Objective`` and ``Policy``.
    provider_changes
        Service users with at least one call served by another provider than today's.
    sync_violations
        Double-ups whose halves break the start-gap band or share a carer (0 for solver output).
    """

    routes: tuple[Route, ...]
    unserved: tuple[Unserved, ...]
    costs: tuple[RoundCost, ...]
    total: RoundCost
    cost: int
    provider_changes: int = 0
    sync_violations: int = 0
    stats: SolveStats = field(default_factory=SolveStats, compare=False)

    @property
    def is_complete(self) -> bool:
        """Whether every call is served."""
        return not self.unserved

    def carer_of(self, n_visits: int) -> IntArray:
        """Carer index serving each visit, -1 when unserved."""
        out = np.full(n_visits, -1, dtype=np.int64)
        for r in self.routes:
            out[list(r.visits)] = r.carer
        return out

    def start_of(self, n_visits: int) -> IntArray:
        """Start of service of each visit, -1 when unserved."""
        out = np.full(n_visits, -1, dtype=np.int64)
        for r in self.routes:
            out[list(r.visits)] = r.start_s
        return out

    @property
    def rounds(self) -> tuple[tuple[int, ...], ...]:
        """Visit order per carer, the form ``evaluate_rounds`` and warm starts take."""
        return tuple(r.visits for r in self.routes)
