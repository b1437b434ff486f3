"""Straight-line fallback travel model (geo/fallback.py)."""

from __future__ import annotations

import numpy as np
import pytest

from geo import FallbackTravelModel, RoadNetwork, fallback_travel_matrix, fit_fallback_model
from geo._geometry import pairwise_haversine_m

LAT = np.array([52.6707, 52.5886, 52.6500, 52.6710])
LON = np.array([-0.7275, -0.7235, -0.5000, -0.7270])


@pytest.fixture(scope="module")
def rutland_fit(rutland_drive: RoadNetwork):
    """A fit on 400 Rutland nodes with a seed other than the one behind the defaults."""
    return fit_fallback_model(rutland_drive, n_points=400, seed=1)


def test_matrix_is_crow_times_circuity_over_speed() -> None:
    """Without area types every trip is straight line × circuity ÷ mixed speed."""
    model = FallbackTravelModel(circuity=1.4, mixed_speed_m_per_s=10.0)
    m = fallback_travel_matrix(LAT, LON, model=model)
    crow = pairwise_haversine_m(LAT, LON)
    assert np.abs(m.distance_m - crow * 1.4).max() <= 0.5
    assert np.abs(m.travel_s - crow * 1.4 / 10.0).max() <= 0.5
    assert (m.travel_s == m.travel_s.T).all() and (np.diag(m.travel_s) == 0).all()
    assert m.source == "fallback" and m.snapped is None


def test_urban_speed_only_within_a_town() -> None:
    """Urban speed applies to short trips between urban points; town to town is rural."""
    model = FallbackTravelModel(urban_speed_m_per_s=5.0, rural_speed_m_per_s=12.0)
    urban = np.array([True, True, False, True])
    m = fallback_travel_matrix(LAT, LON, model=model, is_urban=urban)
    crow = pairwise_haversine_m(LAT, LON) * model.circuity
    assert m.travel_s[0, 3] == round(crow[0, 3] / 5.0)  # both in Oakham
    assert m.travel_s[0, 1] == round(crow[0, 1] / 12.0)  # Oakham to Uppingham
    assert m.travel_s[0, 2] == round(crow[0, 2] / 12.0)  # to the countryside
    with pytest.raises(ValueError, match="is_urban of length 4"):
        fallback_travel_matrix(LAT, LON, is_urban=[True])


def test_elementwise_estimate_matches_matrix() -> None:
    """The element-wise travel_s (the audit's estimate shape) agrees with the matrix."""
    model = FallbackTravelModel()
    pairwise = model.travel_s(LAT[:, None], LON[:, None], LAT[None, :], LON[None, :])
    assert np.abs(np.rint(pairwise) - fallback_travel_matrix(LAT, LON).travel_s).max() == 0


def test_model_validates() -> None:
    """Circuity below 1 or a non-positive speed is refused."""
    with pytest.raises(ValueError, match="circuity"):
        FallbackTravelModel(circuity=0.9)
    with pytest.raises(ValueError, match="speed"):
        FallbackTravelModel(rural_speed_m_per_s=0)


def test_fit_on_rutland_is_plausible(rutland_fit) -> None:
    """Fitted circuity and speeds are in the ranges road studies report; error is bounded."""
    model = rutland_fit.model
    assert 1.15 <= model.circuity <= 1.6
    assert 3.0 <= model.urban_speed_m_per_s < model.rural_speed_m_per_s <= 20.0
    assert rutland_fit.median_rel_error < 0.25
    assert rutland_fit.p90_rel_error < 0.6
    assert rutland_fit.n_test_pairs > 100_000


def test_default_model_matches_a_fresh_fit(rutland_fit) -> None:
    """The shipped defaults agree with an independent Rutland fit (they are not stale)."""
    default, fresh = FallbackTravelModel(), rutland_fit.model
    assert default.circuity == pytest.approx(fresh.circuity, abs=0.05)
    assert default.rural_speed_m_per_s == pytest.approx(fresh.rural_speed_m_per_s, rel=0.1)
    assert default.mixed_speed_m_per_s == pytest.approx(fresh.mixed_speed_m_per_s, rel=0.1)
