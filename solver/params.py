"""Parameter objects for the solver's entry points (never read from the environment)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReallocationParams:
    """How hard and how wide ``reallocate`` searches.

    Attributes
    ----------
    time_limit_s
        Wall-clock budget for the whole call, seconds.
    seed
        Seeds the decomposition and tie-breaks; same seed, same inputs → same answer
        when ``solution_limit`` binds before the time limit (see ``reallocate``).
    solution_limit
        Stop each part's local search after this many solutions; makes runs reproducible
        independently of machine speed. ``None``: stop on time only.
    workers
        Processes solving parts in parallel (1 solves in this process).
    max_part_visits
        Largest part of a decomposed day; smaller days are solved whole.
    use_initial
        Start from today's rounds (the visits' ``carer`` fields) when no ``initial`` is given.
    engine
        ``ortools``, ``pyvrp`` or ``auto``. ``pyvrp`` sends every part PyVRP can model
        (hard windows, no provider-change cap or carer-change penalty) to PyVRP, which may
        leave out calls a part has no room for; a part with double-ups has them placed by
        OR-Tools first and pinned (carer and start), and PyVRP routes the rest around them.
        Other parts go to OR-Tools. ``auto``: ``pyvrp`` for decomposed days; for a day
        solved whole, PyVRP when it has no double-ups, else as below. Parts with
        double-ups or soft windows go to the LNS under any engine unless
        ``lns_iterations_per_solution`` is 0 (``auto`` sets it to 0 for decomposed days).
    first_solution
        OR-Tools first solution strategy name, e.g. ``local_cheapest_insertion``,
        ``parallel_cheapest_insertion``, ``path_cheapest_arc``, ``savings``.
    metaheuristic
        OR-Tools local search metaheuristic name: ``guided_local_search``,
        ``simulated_annealing``, ``tabu_search`` or ``greedy_descent``.
    lns_iterations_per_solution
        Parts with double-ups or soft windows (and no provider-change cap) are solved by
        ruin and recreate (``solver._lns``), which moves both halves of a double-up
        together; when ``solution_limit`` is set it stops after ``solution_limit`` times
        this many steps, so runs are reproducible. 0 sends those parts to OR-Tools instead.
    """

    time_limit_s: float = 30.0
    seed: int = 0
    solution_limit: int | None = None
    workers: int = 2
    max_part_visits: int = 200
    use_initial: bool = True
    metaheuristic: str = "guided_local_search"
    first_solution: str = "parallel_cheapest_insertion"
    engine: str = "auto"
    lns_iterations_per_solution: int = 10

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            raise ValueError("Expected time_limit_s > 0.")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValueError("Expected solution_limit >= 1.")
        if self.workers < 1:
            raise ValueError("Expected workers >= 1.")
        if self.max_part_visits < 2:
            raise ValueError("Expected max_part_visits >= 2.")
        if self.metaheuristic not in {
            "guided_local_search",
            "simulated_annealing",
            "tabu_search",
            "greedy_descent",
        }:
            raise ValueError(f"Unknown metaheuristic {self.metaheuristic!r}.")
        if self.lns_iterations_per_solution < 0:
            raise ValueError("Expected lns_iterations_per_solution >= 0.")
        if self.engine not in {"auto", "ortools", "pyvrp"}:
            raise ValueError(f"Unknown engine {self.engine!r}.")
        if self.first_solution not in {
            "local_cheapest_insertion",
            "local_cheapest_cost_insertion",
            "parallel_cheapest_insertion",
            "sequential_cheapest_insertion",
            "global_cheapest_arc",
            "path_cheapest_arc",
            "savings",
            "christofides",
            "automatic",
        }:
            raise ValueError(f"Unknown first_solution {self.first_solution!r}.")


@dataclass(frozen=True)
class PlacementParams:
    """How ``place_package`` ranks insertions.

    Attributes
    ----------
    top_k
        Number of proposals returned.
    max_lateness_s
        Lateness the package's own calls may have (existing calls are never made later
        than their windows or current starts). Restrict providers with ``place``'s
        ``providers`` argument.
    """

    top_k: int = 5
    max_lateness_s: int = 0

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError("Expected top_k >= 1.")
        if self.max_lateness_s < 0:
            raise ValueError("Expected max_lateness_s >= 0.")
