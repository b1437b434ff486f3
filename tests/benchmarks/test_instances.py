"""Readers for the shared benchmark files: VRPLIB, .sol, bks.csv, Mankowska, and the checker."""

import numpy as np
import pytest

from benchmarks.instances import (
    MANKOWSKA_BKS_CSV,
    MANKOWSKA_DIR,
    SOLOMON_DIR,
    VRPTW_BKS_CSV,
    InstanceFormatError,
    ServiceVisit,
    earliest_schedule,
    evaluate_schedule,
    read_bks,
    read_mankowska,
    read_mankowska_bks,
    read_vrptw,
    read_vrptw_solution,
)

# Routes of a published BRKGA solution of A1 (Kummer et al. 2020): cost 226.978, no tardiness.
A1_SEQUENCES = [
    [(10, 2), (3, 1), (5, 2), (9, 0), (7, 2)],
    [(8, 4), (2, 4)],
    [(8, 5), (10, 5), (6, 4), (1, 3), (9, 3), (4, 3)],
]


@pytest.fixture(scope="module")
def c101():
    return read_vrptw(SOLOMON_DIR / "C101.vrp")


@pytest.fixture(scope="module")
def a1():
    return read_mankowska(MANKOWSKA_DIR / "InstanzCPLEX_HCSRP_10_1.txt")


def test_solomon_c101_has_100_customers(c101):
    """C101 reads as a depot plus 100 customers with its capacity, fleet and service time."""
    assert c101.num_customers == 100
    assert (c101.capacity, c101.num_vehicles) == (200, 25)
    assert c101.service_time[0] == 0 and set(c101.service_time[1:]) == {90}
    assert c101.tw_early[0] == 0 and c101.tw_late[0] == 1236


def test_bks_csv_parses_solomon_and_gh():
    """bks.csv gives C101 = 827.3 over 10 routes and holds 56 Solomon and 60 GH rows."""
    bks = read_bks(VRPTW_BKS_CSV)
    assert bks["C101"].distance == 827.3 and bks["C101"].num_routes == 10
    sets = [entry.benchmark_set for entry in bks.values()]
    assert sets.count("Solomon") == 56 and sets.count("GH200") == 60


def test_best_known_sol_reproduces_bks_under_dimacs(c101):
    """Routes of C101.sol cost exactly the BKS distance with distances truncated to 0.1."""
    solution = read_vrptw_solution(SOLOMON_DIR / "C101.sol")
    assert len(solution.routes) == 10
    assert sorted(c for route in solution.routes for c in route) == list(range(1, 101))
    assert c101.route_distance(solution.routes) == pytest.approx(827.3, abs=1e-9)
    assert solution.stated_cost == 827.3


def test_dimacs_truncates_rather_than_rounds(c101):
    """Distance depot→customer 1 is floor(10·√(25+324)) = 186 tenths, not 187."""
    assert c101.distance_matrix_x10()[0, 1] == 186


def test_malformed_vrp_is_rejected(tmp_path):
    """A VRPLIB file without a TIME_WINDOW section raises InstanceFormatError."""
    path = tmp_path / "bad.vrp"
    path.write_text(
        "NAME : bad\nDIMENSION : 1\nCAPACITY : 1\nVEHICLES : 1\nNODE_COORD_SECTION\n1 0 0\n"
    )
    with pytest.raises(InstanceFormatError):
        read_vrptw(path)


def test_mankowska_a1_dimensions(a1):
    """A1 has 12 nodes (10 patients), 3 carers, 6 services and double services at 8, 9, 10."""
    assert (a1.num_nodes, a1.num_carers, a1.num_services) == (12, 3, 6)
    assert a1.double_service_nodes == (8, 9, 10)
    assert a1.processing.shape == (12, 3, 6)
    assert a1.is_simultaneous(8) and not a1.is_simultaneous(9)
    assert (a1.min_gap[9], a1.max_gap[9]) == (51, 102)
    assert np.allclose(a1.travel, a1.travel.T)


def test_mankowska_bks_table():
    """The Mankowska table has 70 rows; A1 is a proven optimum of 218.1986."""
    bks = read_mankowska_bks(MANKOWSKA_BKS_CSV)
    assert len(bks) == 70
    assert bks["A1"].best_known_ub == pytest.approx(218.1986)
    assert bks["A1"].is_proven_optimal and bks["A1"].benchmark_set == "A"


def test_published_a1_schedule_scores_as_published(a1):
    """The published A1 routes, timed earliest, are feasible and score 226.978."""
    evaluation = evaluate_schedule(a1, earliest_schedule(a1, A1_SEQUENCES))
    assert evaluation.is_feasible, evaluation.violations
    assert evaluation.objective == pytest.approx(226.978, abs=1e-3)
    assert evaluation.max_tardiness == 0.0


def test_checker_flags_broken_synchronisation(a1):
    """Moving one carer of a simultaneous double-up by a minute is reported as a gap violation."""
    schedule = earliest_schedule(a1, A1_SEQUENCES)
    first = schedule[1][0]
    schedule[1][0] = ServiceVisit(first.node, first.service, first.start + 1.0)
    evaluation = evaluate_schedule(a1, schedule)
    assert any("synchronisation gap" in v for v in evaluation.violations)


def test_checker_flags_unqualified_and_missing_services(a1):
    """A carer without the skill, and a service nobody performs, are both reported."""
    sequences = [list(route) for route in A1_SEQUENCES]
    moved = sequences[0].pop(0)
    sequences[1].append(moved)  # carer 1 lacks service 2
    evaluation = evaluate_schedule(a1, earliest_schedule(a1, sequences))
    assert any("not qualified" in v for v in evaluation.violations)
    del sequences[2][0]
    evaluation = evaluate_schedule(a1, earliest_schedule(a1, sequences))
    assert any("done 0 times" in v for v in evaluation.violations)
