"""The planning-day problem: visits, carers, travel matrices, policy and objective.

Every quantity is an integer with its unit in the name. Times are seconds from midnight of
the planning day (a shift may run past midnight up to ``HORIZON_S``). Indices refer to
positions in the tuples and matrices handed over; ``-1`` means "none".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

HORIZON_S = 2 * 24 * 3600
"""Latest time any window or shift may reach: midnight at the end of the next day."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Rounds = tuple[tuple[int, ...], ...]
"""One tuple of visit indices per carer, in the order the carer serves them."""


def _check_time(name: str, value: int) -> None:
    if not 0 <= value <= HORIZON_S:
        raise ValueError(f"Expected 0 <= {name} <= {HORIZON_S}, got {value}.")


@dataclass(frozen=True)
class Visit:
    """One call at one home, served by one carer.

    A double-up is two ``Visit`` entries sharing a ``sync_group`` id; each half may need its
    own skills and duration. The second half (the one with the larger index in
    ``Problem.visits``) must start between ``sync_min_gap_s`` and ``sync_max_gap_s`` after
    the first, on a different carer: ``(0, 0)`` is "arrive together", ``(-600, 600)`` is
    "together within ten minutes", ``(900, 1800)`` is "one after the other".

    Attributes
    ----------
    location
        Row/column of the travel matrices.
    window_start_s, window_end_s
        The whole visit happens inside this window: it starts at or after
        ``window_start_s`` and should finish by ``window_end_s``. Finishing later is
        lateness (forbidden when windows are hard). Use ``latest_start_s`` for the start bound.
    duration_s
        Time spent with the person.
    skills
        Skills the carer must hold (all of them).
    gender
        Carer gender the person asked for, or ``None`` for no preference.
    provider, carer
        Today's provider and carer indices, or -1 (a new or unallocated call).
    service_user
        Index of the person, for continuity counts; -1 if unknown.
    sync_group
        Double-up id shared by exactly two visits, or -1.
    sync_min_gap_s, sync_max_gap_s
        Start-gap band of a double-up (second half's start minus the first's).
    load_units
        Load the visit puts on a carer's capacity (vehicle-routing benchmarks; 0 in care).
    """

    location: int
    window_start_s: int
    window_end_s: int
    duration_s: int
    skills: frozenset[str] = frozenset()
    gender: str | None = None
    provider: int = -1
    carer: int = -1
    service_user: int = -1
    sync_group: int = -1
    sync_min_gap_s: int = 0
    sync_max_gap_s: int = 0
    load_units: int = 0

    def __post_init__(self) -> None:
        if self.location < 0:
            raise ValueError("Expected location >= 0.")
        _check_time("window_start_s", self.window_start_s)
        _check_time("window_end_s", self.window_end_s)
        if self.duration_s < 0:
            raise ValueError("Expected duration_s >= 0.")
        if self.load_units < 0:
            raise ValueError("Expected load_units >= 0.")
        if self.window_end_s < self.window_start_s:
            raise ValueError("Expected window_end_s >= window_start_s.")
        if self.sync_min_gap_s > self.sync_max_gap_s:
            raise ValueError("Expected sync_min_gap_s <= sync_max_gap_s.")
        for name in ("provider", "carer", "service_user", "sync_group"):
            if getattr(self, name) < -1:
                raise ValueError(f"Expected {name} >= -1.")
        object.__setattr__(self, "skills", frozenset(self.skills))

    @property
    def latest_start_s(self) -> int:
        """Latest start that still finishes inside the window (may precede the window start)."""
        return self.window_end_s - self.duration_s

    @property
    def is_double_up(self) -> bool:
        """Whether this visit is one half of a double-up."""
        return self.sync_group >= 0


@dataclass(frozen=True)
class Carer:
    """One carer's day: where and when they work, what they can do.

    Attributes
    ----------
    provider
        Index of the provider employing the carer.
    start_location, end_location
        Rows of the travel matrices where the round starts and ends (usually home).
    shift_start_s, shift_end_s
        The carer leaves ``start_location`` no earlier than ``shift_start_s`` and is back
        at ``end_location`` no later than ``shift_end_s``.
    max_work_s
        Cap on the round's span (leaving to returning) from contracted hours; ``None`` for
        the shift length.
    skills
        Skills held.
    gender
        Carer's gender, matched against ``Visit.gender``.
    travel_mode
        Index into ``Problem.travel_s`` (car, walk, bike ...).
    capacity_units
        Most load the round may carry (sum of its visits' ``load_units``); ``None``: no limit.
    """

    provider: int
    start_location: int
    end_location: int
    shift_start_s: int
    shift_end_s: int
    max_work_s: int | None = None
    skills: frozenset[str] = frozenset()
    gender: str | None = None
    travel_mode: int = 0
    capacity_units: int | None = None

    def __post_init__(self) -> None:
        if self.provider < 0:
            raise ValueError("Expected provider >= 0.")
        if self.start_location < 0 or self.end_location < 0:
            raise ValueError("Expected start_location >= 0 and end_location >= 0.")
        _check_time("shift_start_s", self.shift_start_s)
        _check_time("shift_end_s", self.shift_end_s)
        if self.shift_end_s < self.shift_start_s:
            raise ValueError("Expected shift_end_s >= shift_start_s.")
        if self.max_work_s is not None and self.max_work_s < 0:
            raise ValueError("Expected max_work_s >= 0.")
        if self.travel_mode < 0:
            raise ValueError("Expected travel_mode >= 0.")
        if self.capacity_units is not None and self.capacity_units < 0:
            raise ValueError("Expected capacity_units >= 0.")
        object.__setattr__(self, "skills", frozenset(self.skills))

    @property
    def work_cap_s(self) -> int:
        """Longest round allowed: the contracted cap or the shift length, whichever is less."""
        shift = self.shift_end_s - self.shift_start_s
        return shift if self.max_work_s is None else min(shift, self.max_work_s)


@dataclass(frozen=True)
class Policy:
    """Commissioning rules the re-allocation must respect.

    Attributes
    ----------
    eligible
        Boolean array (n_providers, n_visits): may provider p take visit v (contract and
        framework boundaries). ``None`` lets every provider take every call.
    max_provider_changes
        Hard cap on the number of service users whose provider changes (any of their calls
        served by another provider than today's). ``None`` for no cap.
    carer_change_penalty
        Objective cost for each visit served by a carer other than today's (continuity).
    """

    eligible: BoolArray | None = None
    max_provider_changes: int | None = None
    carer_change_penalty: int = 0

    def __post_init__(self) -> None:
        if self.eligible is not None:
            arr = np.array(self.eligible, dtype=bool)
            if arr.ndim != 2:
                raise ValueError("Expected eligible to be a 2-D (provider, visit) array.")
            arr.setflags(write=False)
            object.__setattr__(self, "eligible", arr)
        if self.max_provider_changes is not None and self.max_provider_changes < 0:
            raise ValueError("Expected max_provider_changes >= 0.")
        if self.carer_change_penalty < 0:
            raise ValueError("Expected carer_change_penalty >= 0.")


@dataclass(frozen=True)
class Objective:
    """Weights of the objective terms (cost units per second) and the window regime.

    Travel is weighted above waiting ("least travel, then least waiting"); the engine
    needs ``travel_weight >= waiting_weight``.

    Attributes
    ----------
    travel_weight, waiting_weight
        Cost per second of travel and of idle time inside a round.
    lateness_weight, max_lateness_weight
        Cost per second of total lateness and of the largest single lateness (soft windows).
    unserved_penalty
        Cost per call left unserved; large, so calls are dropped only when they cannot fit.
    hard_windows
        True: every call finishes inside its window. False: lateness is allowed and costed.
    max_lateness_s
        With soft windows, a hard cap on any call's lateness; ``None`` for no cap.
    """

    travel_weight: int = 10
    waiting_weight: int = 1
    lateness_weight: int = 100
    max_lateness_weight: int = 0
    unserved_penalty: int = 10_000_000
    hard_windows: bool = True
    max_lateness_s: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "travel_weight",
            "waiting_weight",
            "lateness_weight",
            "max_lateness_weight",
            "unserved_penalty",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Expected {name} >= 0.")
        if self.travel_weight < self.waiting_weight:
            raise ValueError("Expected travel_weight >= waiting_weight.")
        if self.max_lateness_s is not None and self.max_lateness_s < 0:
            raise ValueError("Expected max_lateness_s >= 0.")


def _frozen_matrix(name: str, matrix: npt.ArrayLike) -> IntArray:
    arr = np.array(matrix)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"Expected {name} to be square, got shape {arr.shape}.")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"Expected {name} to be finite.")
    out = np.asarray(np.rint(arr), dtype=np.int64)
    if out.size and out.min() < 0:
        raise ValueError(f"Expected {name} >= 0.")
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Problem:
    """One planning day: the calls to serve, the carers who may serve them, and how.

    Attributes
    ----------
    visits, carers
        The calls and the carers' days.
    travel_s
        One square travel-time matrix (seconds, integers) per travel mode, indexed by
        location. A single matrix may be passed instead of a sequence.
    distance_m
        Optional distance matrices (metres) matching ``travel_s``, for mileage.
    policy, objective
        Commissioning rules and objective weights.
    n_providers
        Number of providers; inferred from the largest index seen when ``None``.

    Raises
    ------
    ValueError
        When an index is out of range or a double-up is malformed; the message names the
        visit or carer.
    """

    visits: tuple[Visit, ...]
    carers: tuple[Carer, ...]
    travel_s: tuple[IntArray, ...]
    distance_m: tuple[IntArray, ...] | None = None
    policy: Policy = field(default_factory=Policy)
    objective: Objective = field(default_factory=Objective)
    n_providers: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "visits", tuple(self.visits))
        object.__setattr__(self, "carers", tuple(self.carers))
        travel = self.travel_s
        if isinstance(travel, np.ndarray) and travel.ndim == 2:
            travel = (travel,)
        mats = tuple(_frozen_matrix(f"travel_s[{m}]", t) for m, t in enumerate(travel))
        if not mats:
            raise ValueError("Expected at least one travel_s matrix.")
        n_loc = mats[0].shape[0]
        if any(m.shape[0] != n_loc for m in mats):
            raise ValueError("Expected every travel_s matrix to have the same shape.")
        object.__setattr__(self, "travel_s", mats)
        if self.distance_m is not None:
            dist = self.distance_m
            if isinstance(dist, np.ndarray) and dist.ndim == 2:
                dist = (dist,)
            dmats = tuple(_frozen_matrix(f"distance_m[{m}]", d) for m, d in enumerate(dist))
            if len(dmats) != len(mats) or any(d.shape[0] != n_loc for d in dmats):
                raise ValueError("Expected one distance_m matrix per travel_s matrix, same shape.")
            object.__setattr__(self, "distance_m", dmats)

        max_provider = max(
            [c.provider for c in self.carers] + [v.provider for v in self.visits] + [-1]
        )
        if self.n_providers is None:
            object.__setattr__(self, "n_providers", max_provider + 1)
        elif self.n_providers <= max_provider:
            raise ValueError(f"Expected n_providers > {max_provider}, got {self.n_providers}.")

        n_carers = len(self.carers)
        for i, v in enumerate(self.visits):
            if v.location >= n_loc:
                raise ValueError(
                    f"Visit {i}: location {v.location} is outside the matrix ({n_loc})."
                )
            if v.carer >= n_carers:
                raise ValueError(f"Visit {i}: today's carer {v.carer} does not exist.")
        for k, c in enumerate(self.carers):
            if max(c.start_location, c.end_location) >= n_loc:
                raise ValueError(f"Carer {k}: start or end location is outside the matrix.")
            if c.travel_mode >= len(mats):
                raise ValueError(f"Carer {k}: travel_mode {c.travel_mode} has no matrix.")

        groups: dict[int, list[int]] = {}
        for i, v in enumerate(self.visits):
            if v.sync_group >= 0:
                groups.setdefault(v.sync_group, []).append(i)
        for g, members in groups.items():
            if len(members) != 2:
                raise ValueError(
                    f"Double-up {g}: expected exactly two visits, got {len(members)} ({members})."
                )
            a, b = (self.visits[m] for m in members)
            if (a.sync_min_gap_s, a.sync_max_gap_s) != (b.sync_min_gap_s, b.sync_max_gap_s):
                raise ValueError(f"Double-up {g}: visits {members} disagree on the start-gap band.")

        if self.policy.eligible is not None:
            shape = (self.n_providers, len(self.visits))
            if self.policy.eligible.shape != shape:
                raise ValueError(
                    f"Expected policy.eligible of shape {shape}, got {self.policy.eligible.shape}."
                )

    @property
    def num_visits(self) -> int:
        """Number of visits (calls) to serve."""
        return len(self.visits)

    @property
    def num_providers(self) -> int:
        """Number of providers (given or inferred)."""
        return int(self.n_providers or 0)

    @property
    def num_carers(self) -> int:
        """Number of carers available."""
        return len(self.carers)

    @property
    def has_capacity(self) -> bool:
        """Whether any carer has a capacity limit."""
        return any(c.capacity_units is not None for c in self.carers)

    @cached_property
    def sync_pairs(self) -> IntArray:
        """Array (n_pairs, 2) of visit indices of each double-up, first half first."""
        groups: dict[int, list[int]] = {}
        for i, v in enumerate(self.visits):
            if v.sync_group >= 0:
                groups.setdefault(v.sync_group, []).append(i)
        pairs = sorted(tuple(sorted(m)) for m in groups.values())
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    @cached_property
    def partner(self) -> IntArray:
        """For each visit, the other half of its double-up, or -1."""
        out = np.full(len(self.visits), -1, dtype=np.int64)
        for a, b in self.sync_pairs:
            out[a], out[b] = b, a
        return out

    @cached_property
    def compatible(self) -> BoolArray:
        """Boolean (n_visits, n_carers): skills, gender, provider rights and load all fit."""
        index = {s: i for i, s in enumerate(sorted({s for v in self.visits for s in v.skills}))}
        n_words = max(1, (len(index) + 63) // 64)
        need = np.zeros((len(self.visits), n_words), dtype=np.uint64)
        have = np.zeros((len(self.carers), n_words), dtype=np.uint64)
        skill_sets = (
            (need, [v.skills for v in self.visits]),
            (have, [c.skills for c in self.carers]),
        )
        for rows, sets in skill_sets:
            for r, skills in enumerate(sets):
                for s in skills:
                    if s in index:
                        rows[r, index[s] // 64] |= np.uint64(1) << np.uint64(index[s] % 64)
        ok = np.all((need[:, None, :] & ~have[None, :, :]) == 0, axis=2)
        want = np.array([v.gender or "" for v in self.visits], dtype=object)
        carer_gender = np.array([c.gender or "" for c in self.carers], dtype=object)
        ok &= (want[:, None] == "") | (want[:, None] == carer_gender[None, :])
        if any(c.capacity_units is not None for c in self.carers):
            load = np.array([v.load_units for v in self.visits], dtype=np.int64)
            cap = np.array(
                [
                    np.iinfo(np.int64).max if c.capacity_units is None else c.capacity_units
                    for c in self.carers
                ],
                dtype=np.int64,
            )
            ok &= load[:, None] <= cap[None, :]
        if self.policy.eligible is not None:
            providers = np.array([c.provider for c in self.carers], dtype=np.int64)
            ok &= self.policy.eligible[:, :].T[:, providers]
        ok.setflags(write=False)
        return ok

    def with_visits(self, visits: Sequence[Visit]) -> Problem:
        """A copy of this problem with other visits (eligibility must still match)."""
        return Problem(
            visits=tuple(visits),
            carers=self.carers,
            travel_s=self.travel_s,
            distance_m=self.distance_m,
            policy=self.policy,
            objective=self.objective,
            n_providers=self.n_providers,
        )
