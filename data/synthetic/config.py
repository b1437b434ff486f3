"""The generator's parameter object: scale, period, mix and anomaly rates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from data.records import FlagKind
from data.synthetic._places import DISTRICTS
from data.tolerances import AuditTolerances

# Defaults: a few percent of eligible records each (DOMAIN.md: 7-10% under-delivery overall,
# ~7% of visits under 15 min; only time-critical lateness is flagged).
DEFAULT_ANOMALY_RATES: MappingProxyType[FlagKind, float] = MappingProxyType(
    {
        FlagKind.VISIT_WITHOUT_NOTE: 0.02,
        FlagKind.NOTE_WITHOUT_VISIT: 0.01,
        FlagKind.DURATION_MISMATCH: 0.02,
        FlagKind.SHORT_CALL: 0.06,
        FlagKind.CARER_IN_TWO_PLACES: 0.004,
        FlagKind.TRAVEL_INFEASIBLE: 0.004,
        FlagKind.DOUBLE_UP_SINGLE_CARER: 0.05,
        FlagKind.MANUAL_CHECK_IN: 0.02,
        FlagKind.CHECK_IN_FAR_FROM_HOME: 0.01,
        FlagKind.BILLED_ABOVE_VERIFIED: 0.03,
        FlagKind.LATE_TIME_CRITICAL: 0.03,
    }
)

# Torbay fair cost of care 2022 (DOMAIN.md): call length mix.
DEFAULT_DURATION_MIX: MappingProxyType[int, float] = MappingProxyType(
    {15: 0.02, 30: 0.72, 45: 0.18, 60: 0.08}
)

# Share of people with 1, 2, 3, 4 calls a day (mean ~3.3 → ~13.5 h a week).
DEFAULT_CALLS_PER_DAY_MIX: tuple[float, float, float, float] = (0.05, 0.12, 0.28, 0.55)


@dataclass(frozen=True, slots=True)
class SyntheticConfig:
    """What to generate. Use the presets :meth:`small`, :meth:`county` and :meth:`million`.

    Attributes
    ----------
    seed
        Same seed and config → identical records.
    start_date
        First day of the period; must be a Monday.
    weeks
        Length of the period of ECM visits and care notes.
    n_service_users, n_providers, n_carers
        Target counts (carers: each provider gets at least what its rounds need).
    anomaly_rates
        Fraction of eligible records planted per FlagKind (see docs/synthetic-data.md).
    min_planted_per_kind
        At least this many plants of every kind (so small data sets exercise every rule).
    double_up_share
        Share of calls needing two carers.
    missed_share, cancelled_share
        Natural share of visits missed or cancelled (unbilled, so never flagged).
    tolerances
        The audit thresholds the ground truth is evaluated against.
    districts
        Only people in these districts (all six when empty); ``small`` keeps Cambridge and
        South Cambridgeshire so its few rounds stay compact.
    """

    seed: int = 0
    start_date: dt.date = dt.date(2025, 10, 6)
    weeks: int = 1
    n_service_users: int = 60
    n_providers: int = 4
    n_carers: int = 20
    anomaly_rates: Mapping[FlagKind, float] = field(default_factory=lambda: DEFAULT_ANOMALY_RATES)
    min_planted_per_kind: int = 3
    double_up_share: float = 0.03
    missed_share: float = 0.01
    cancelled_share: float = 0.01
    time_critical_share: float = 0.5
    duration_mix: Mapping[int, float] = field(default_factory=lambda: DEFAULT_DURATION_MIX)
    calls_per_day_mix: tuple[float, float, float, float] = DEFAULT_CALLS_PER_DAY_MIX
    tolerances: AuditTolerances = field(default_factory=AuditTolerances)
    districts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start_date.weekday() != 0:
            raise ValueError("Expected start_date to be a Monday.")
        if self.weeks < 1:
            raise ValueError("Expected weeks >= 1.")
        if self.n_service_users < 1 or self.n_providers < 1 or self.n_carers < 1:
            raise ValueError("Expected n_service_users, n_providers and n_carers >= 1.")
        if not isinstance(self.anomaly_rates, MappingProxyType):
            # Keep the dataclass hashable-in-spirit and immutable.
            object.__setattr__(self, "anomaly_rates", MappingProxyType(dict(self.anomaly_rates)))
        unknown = set(self.anomaly_rates) - set(FlagKind)
        if unknown:
            raise ValueError(f"Expected anomaly_rates keys to be FlagKind, got {sorted(unknown)}.")
        for kind, rate in self.anomaly_rates.items():
            if not 0 <= rate <= 0.2:
                raise ValueError(f"Expected 0 <= anomaly rate <= 0.2 for {kind}.")
        if self.min_planted_per_kind < 0:
            raise ValueError("Expected min_planted_per_kind >= 0.")
        for name in ("double_up_share", "missed_share", "cancelled_share", "time_critical_share"):
            if not 0 <= getattr(self, name) <= 0.5:
                raise ValueError(f"Expected 0 <= {name} <= 0.5.")
        if abs(sum(self.duration_mix.values()) - 1) > 1e-6:
            raise ValueError("Expected duration_mix shares to sum to 1.")
        if len(self.calls_per_day_mix) != 4 or abs(sum(self.calls_per_day_mix) - 1) > 1e-6:
            raise ValueError("Expected four calls_per_day_mix shares summing to 1.")
        if not set(self.districts) <= set(DISTRICTS):
            raise ValueError(f"Expected districts among {DISTRICTS}.")
        if not isinstance(self.duration_mix, MappingProxyType):
            object.__setattr__(self, "duration_mix", MappingProxyType(dict(self.duration_mix)))

    @property
    def days(self) -> int:
        return 7 * self.weeks

    @property
    def end_date(self) -> dt.date:
        """Last day of the period (inclusive)."""
        return self.start_date + dt.timedelta(days=self.days - 1)

    def rate(self, kind: FlagKind) -> float:
        return float(self.anomaly_rates.get(kind, 0.0))

    def with_(self, **changes: Any) -> SyntheticConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view, written to manifest.json."""
        return {
            "seed": self.seed,
            "start_date": self.start_date.isoformat(),
            "weeks": self.weeks,
            "n_service_users": self.n_service_users,
            "n_providers": self.n_providers,
            "n_carers": self.n_carers,
            "anomaly_rates": {str(k): v for k, v in self.anomaly_rates.items()},
            "min_planted_per_kind": self.min_planted_per_kind,
            "double_up_share": self.double_up_share,
            "missed_share": self.missed_share,
            "cancelled_share": self.cancelled_share,
            "time_critical_share": self.time_critical_share,
            "duration_mix": {str(k): v for k, v in self.duration_mix.items()},
            "calls_per_day_mix": list(self.calls_per_day_mix),
            "districts": list(self.districts),
            "tolerances": {
                name: getattr(self.tolerances, name)
                for name in AuditTolerances.__dataclass_fields__
            },
        }

    @classmethod
    def small(cls, seed: int = 0) -> SyntheticConfig:
        """~60 people, 4 providers, ~20 carers, one week: fast, every anomaly kind present."""
        return cls(
            seed=seed,
            weeks=1,
            n_service_users=60,
            n_providers=4,
            n_carers=20,
            districts=("Cambridge", "South Cambridgeshire"),
        )

    @classmethod
    def county(cls, seed: int = 0) -> SyntheticConfig:
        """Cambridgeshire-like: ~2,400 people, ~60 providers, ~700 carers, four weeks."""
        return cls(seed=seed, weeks=4, n_service_users=2400, n_providers=60, n_carers=700)

    @classmethod
    def million(cls, seed: int = 0) -> SyntheticConfig:
        """~1,000,000 ECM visits and ~1,000,000 care notes over four weeks (benchmarks)."""
        return cls(seed=seed, weeks=4, n_service_users=12400, n_providers=250, n_carers=3500)
