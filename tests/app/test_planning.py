"""Records to a solver planning day: today's rounds, windows, double-ups, moves."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

import solver
from app.planning import PlanningError, build_planning_day, moves
from data.travel_estimate import haversine_m


def straight_line(lat, lon):
    """Car matrix at 30 mph over great-circle metres (test stand-in for geo)."""
    d = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    return (np.rint(d / 13.4).astype(np.int64),), (np.rint(d).astype(np.int64),)


@pytest.fixture
def two_carers_one_double_up() -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp
    users = pd.DataFrame(
        {
            "service_user_id": ["SU1", "SU2", "SU3"],
            "lat": [52.57, 52.58, 52.59],
            "lon": [-0.24, -0.25, -0.26],
            "area": ["Peterborough"] * 3,
            "required_skills": ["hoist", None, None],
            "carer_gender_preference": ["none", "female", None],
        }
    )
    carers = pd.DataFrame(
        {
            "carer_id": ["C1", "C2"],
            "provider_id": ["P1", "P2"],
            "start_lat": [52.56, 52.60],
            "start_lon": [-0.23, -0.27],
            "shift_start": ["07:00", "07:00"],
            "shift_end": ["14:00", "14:00"],
            "skills": ["hoist", "hoist;medication"],
            "gender": ["female", "male"],
            "travel_mode": ["car", "car"],
        }
    )
    calls = pd.DataFrame(
        {
            "call_id": ["K1", "K2", "K3"],
            "window_start": ["07:00", "08:00", "09:00"],
            "window_end": ["09:00", "10:00", "11:00"],
        }
    )
    visits = pd.DataFrame(
        {
            "visit_id": ["V1", "V2", "V3", "V4", "V5"],
            "provider_id": ["P1", "P2", "P1", "P2", "P1"],
            "service_user_id": ["SU1", "SU1", "SU2", "SU3", "SU3"],
            "carer_id": ["C1", "C2", "C1", "C2", "C1"],
            "call_id": ["K1", "K1", "K2", "K3", None],
            "planned_start": [
                ts("2026-10-05 08:00"),
                ts("2026-10-05 08:00"),
                ts("2026-10-05 09:00"),
                ts("2026-10-05 09:30"),
                ts("2026-10-06 09:30"),
            ],
            "planned_duration_min": [30, 30, 45, 30, 30],
            "check_in": [
                ts("2026-10-05 08:05"),
                ts("2026-10-05 08:04"),
                ts("2026-10-05 08:50"),
                pd.NaT,
                pd.NaT,
            ],
            "double_up_group": ["D1", "D1", None, None, None],
            "status": ["completed", "completed", "completed", "missed", "completed"],
        }
    )
    return {"service_user": users, "carer": carers, "call": calls, "ecm_visit": visits}


def test_day_has_todays_rounds_windows_and_double_up(two_carers_one_double_up):
    """Visits of the day keep their call window, double-ups share a sync group, rounds follow ECM."""
    day = build_planning_day(two_carers_one_double_up, date(2026, 10, 5), matrices=straight_line)
    p = day.problem
    assert day.visit_ids == ("V1", "V2", "V3", "V4")  # V5 is on another day
    assert p.visits[2].window_start_s == 8 * 3600 and p.visits[2].window_end_s == 10 * 3600
    assert p.visits[0].sync_group == p.visits[1].sync_group >= 0
    assert p.visits[0].skills == frozenset({"hoist"})
    assert p.visits[2].gender == "female" and p.visits[0].gender is None
    assert day.today == ((0, 2), (1, 3))
    baseline = solver.evaluate_rounds(p, day.today)
    assert baseline.is_complete


def test_no_visits_on_the_day_is_a_clear_error(two_carers_one_double_up):
    """A day with no ECM visits names the day rather than building an empty problem."""
    with pytest.raises(PlanningError, match="2026-10-04"):
        build_planning_day(two_carers_one_double_up, date(2026, 10, 4), matrices=straight_line)


def test_moves_lists_only_changed_visits(two_carers_one_double_up):
    """Moves name the visits whose carer changes, with from/to carer and provider."""
    day = build_planning_day(two_carers_one_double_up, date(2026, 10, 5), matrices=straight_line)
    swapped = solver.evaluate_rounds(day.problem, ((0, 2, 3), (1,)))
    table = moves(day, swapped)
    assert table.to_dict("records") == [
        {
            "visit_id": "V4",
            "service_user_id": "SU3",
            "from_carer_id": "C2",
            "to_carer_id": "C1",
            "from_provider_id": "P2",
            "to_provider_id": "P1",
        }
    ]
