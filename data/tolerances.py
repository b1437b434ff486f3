"""Audit tolerances: configuration with cited defaults, never constants buried in rules.

The synthetic generator plants anomalies clear of these thresholds and the reconciliation
applies them, so both read the same object.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuditTolerances:
    """Thresholds for each reconciliation rule.

    Attributes
    ----------
    short_call_ratio
        A call is short when verified minutes < ratio × planned minutes (DOMAIN.md: < 85%).
    short_call_min
        ... or when it is more than this many minutes short (DOMAIN.md: > 15 min short).
    duration_mismatch_min
        ECM and care-note durations disagree by more than this.
    note_match_window_min
        A care note matches an ECM visit of the same person and carer when their starts are
        within this many minutes.
    overlap_min
        Two visits of one carer overlapping by more than this put the carer in two places.
    travel_slack_min
        Consecutive visits must leave at least the estimated travel time minus this slack.
    far_check_in_m
        A check-in further than this from the home is flagged.
    billed_above_verified_min
        Billing more than verified minutes by more than this is flagged.
    late_time_critical_min
        A time-critical call starting more than this late (or early) is flagged (±30 min).
    """

    short_call_ratio: float = 0.85
    short_call_min: float = 15.0
    duration_mismatch_min: float = 10.0
    note_match_window_min: float = 90.0
    overlap_min: float = 5.0
    travel_slack_min: float = 2.0
    far_check_in_m: float = 500.0
    billed_above_verified_min: float = 5.0
    late_time_critical_min: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.short_call_ratio <= 1:
            raise ValueError("Expected 0 < short_call_ratio <= 1.")
        for name in (
            "short_call_min",
            "duration_mismatch_min",
            "note_match_window_min",
            "overlap_min",
            "travel_slack_min",
            "far_check_in_m",
            "billed_above_verified_min",
            "late_time_critical_min",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Expected {name} >= 0.")
