"""generate(config) -> SyntheticDataset: every record kind plus the audit's ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from data.records import RECORD_KINDS
from data.synthetic._ground_truth import evaluate_rules
from data.synthetic._people import (
    SLOT_START_MIN,
    make_calls,
    make_packages,
    make_providers,
    make_service_users,
)
from data.synthetic._rounds import build_rounds, finish_carers
from data.synthetic._strings import arrow_ids, series, take
from data.synthetic._visits import simulate
from data.synthetic.config import SyntheticConfig

_NONE = np.array(None, dtype=object)
# Default time of calls that no round serves yet (waiting list): mid-slot.
_UNSERVED_MIN = SLOT_START_MIN + np.array([60, 60, 60, 60])


@dataclass(frozen=True)
class SyntheticDataset:
    """Generated records: ``frames[kind]`` has exactly the canonical columns of that kind.

    ``ground_truth`` lists (flag_kind, record_kind, record_id) for every record the audit
    must flag under ``config.tolerances``; ``planted`` counts the anomalies planted per kind.
    """

    config: SyntheticConfig
    frames: dict[str, pd.DataFrame]
    ground_truth: pd.DataFrame
    planted: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.frames[kind]

    def counts(self) -> dict[str, int]:
        """Rows per record kind, and ground-truth flags per flag kind."""
        out = {kind: len(frame) for kind, frame in self.frames.items()}
        out["ground_truth"] = len(self.ground_truth)
        return out


def _hhmm(minutes: np.ndarray) -> np.ndarray:
    m = np.clip(minutes, 0, 24 * 60 - 1).astype(np.int64)
    h = pd.Series(m // 60).astype(str).str.zfill(2)
    mm = pd.Series(m % 60).astype(str).str.zfill(2)
    return (h + ":" + mm).to_numpy(dtype=object)


def _canonical(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[:, list(RECORD_KINDS[kind].column_names)].reset_index(drop=True)


def generate(config: SyntheticConfig) -> SyntheticDataset:
    """Generate providers, carers, service users, packages, calls, ECM visits and care notes.

    Parameters
    ----------
    config
        Scale, period, mix and anomaly rates; the same config always gives the same records.

    Returns
    -------
    SyntheticDataset
        Frames per record kind (canonical columns, canonical order) and the ground truth.
    """
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(8)]
    users = make_service_users(config, streams[0])
    providers = make_providers(config, streams[1])
    packages = make_packages(config, users, providers, streams[2])
    calls = make_calls(config, users, streams[3])
    rounds = build_rounds(config, users, providers, packages, calls, streams[4])
    carers = finish_carers(config, rounds.carers, providers, users, rounds.visits, streams[5])
    sim = simulate(
        config, users, calls, rounds.visits, carers["travel_mode"].to_numpy(), streams[6]
    )

    # Calls: windows ±30 min around the round's time.
    rc = rounds.calls
    planned = rc["_planned_min"].to_numpy()
    slot = rc["_slot"].to_numpy()
    planned = np.where(np.isnan(planned), _UNSERVED_MIN[slot], planned)
    week = "mon;tue;wed;thu;fri;sat;sun"
    calls_out = pd.DataFrame(
        {
            "call_id": rc["call_id"].to_numpy(),
            "package_id": packages["package_id"].to_numpy()[rc["_user"].to_numpy()],
            "weekdays": np.where(rc["_weekdays_only"].to_numpy(), "mon;tue;wed;thu;fri", week),
            "window_start": _hhmm(planned - 30),
            "window_end": _hhmm(planned + 30),
            "duration_min": rc["duration_min"].to_numpy(),
            "carers_required": rc["carers_required"].to_numpy(),
            "is_time_critical": rc["is_time_critical"].to_numpy().astype(bool),
        }
    )

    # ECM visits: ids in planned order (gaps where a visit was never logged).
    v = sim.visits
    t0 = np.datetime64(config.start_date, "s")
    order = np.lexsort((v["carer"].to_numpy(), v["planned_s"].to_numpy()))
    rank = np.empty(len(v), dtype=np.int64)
    rank[order] = np.arange(1, len(v) + 1)
    visit_id = arrow_ids("V", rank, 8)
    has_ci = v["has_check_in"].to_numpy()
    nat = np.datetime64("NaT", "s")
    group_code = v["double_group"].to_numpy()
    carer_ids = pa.array(carers["carer_id"].to_numpy(dtype=object), type=pa.string())
    user_ids = pa.array(users["service_user_id"].to_numpy(dtype=object), type=pa.string())
    visits_all = pd.DataFrame(
        {
            "visit_id": series(visit_id),
            "provider_id": series(
                take(providers["provider_id"].to_numpy(dtype=object), v["provider"].to_numpy())
            ),
            "service_user_id": series(take(user_ids, v["user"].to_numpy())),
            "carer_id": series(take(carer_ids, v["carer"].to_numpy())),
            "call_id": series(take(rc["call_id"].to_numpy(dtype=object), v["call"].to_numpy())),
            "planned_start": t0 + v["planned_s"].to_numpy().astype("timedelta64[s]"),
            "planned_duration_min": v["planned_duration_min"].to_numpy(),
            "check_in": np.where(
                has_ci, t0 + v["check_in_s"].to_numpy().astype("timedelta64[s]"), nat
            ),
            "check_out": np.where(
                has_ci, t0 + v["check_out_s"].to_numpy().astype("timedelta64[s]"), nat
            ),
            "method": v["method"].to_numpy(),
            "check_in_lat": v["check_in_lat"].to_numpy(),
            "check_in_lon": v["check_in_lon"].to_numpy(),
            "double_up_group": series(
                take(
                    arrow_ids("DU", np.maximum(group_code, 0), 7),
                    np.arange(len(v)),
                    group_code >= 0,
                )
            ),
            "billed_min": v["billed_min"].to_numpy(),
            "status": v["status"].to_numpy(),
        }
    )
    kept = ~v["deleted"].to_numpy()
    visits_out = visits_all.iloc[order[kept[order]]]

    n = sim.notes.sort_values(["written_s", "carer"], kind="stable")
    note_visit = series(take(visit_id, n["visit"].to_numpy(), kept[n["visit"].to_numpy()]))
    notes_out = pd.DataFrame(
        {
            "note_id": series(arrow_ids("N", np.arange(1, len(n) + 1), 8)),
            "service_user_id": series(take(user_ids, n["user"].to_numpy())),
            "carer_id": series(take(carer_ids, n["carer"].to_numpy())),
            "written_at": t0 + n["written_s"].to_numpy().astype("timedelta64[s]"),
            "visit_start": t0 + n["start_s"].to_numpy().astype("timedelta64[s]"),
            "visit_end": t0 + n["end_s"].to_numpy().astype("timedelta64[s]"),
            "tasks": n["tasks"].to_numpy(),
            "text": n["text"].to_numpy(),
        }
    )
    planted = dict(sim.planted)
    del sim, v, n, visits_all, rounds  # free the simulation's working arrays before the rules
    frames = {
        "provider": _canonical("provider", providers),
        "carer": _canonical("carer", carers),
        "service_user": _canonical("service_user", users),
        "package": _canonical("package", packages),
        "call": _canonical("call", calls_out),
        "ecm_visit": _canonical("ecm_visit", visits_out),
        "care_note": _canonical("care_note", notes_out),
    }
    truth = evaluate_rules(
        frames["ecm_visit"],
        frames["care_note"],
        frames["service_user"],
        frames["call"],
        note_visit,
        tolerances=config.tolerances,
    )
    return SyntheticDataset(config=config, frames=frames, ground_truth=truth, planted=planted)
