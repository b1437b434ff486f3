"""Service users, providers and their packages and calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.synthetic._places import DISTRICTS, NEIGHBOURS, offset_m, towns
from data.synthetic.config import SyntheticConfig
from data.travel_estimate import haversine_m

SLOTS = ("morning", "lunch", "tea", "bed")
# Slot start (minutes from midnight) and the span in which a run's calls start: morning
# 07:00-10:00, lunch 11:30-14:00, tea 16:00-18:00, bed 19:00-22:00.
SLOT_START_MIN = np.array([7 * 60, 11 * 60 + 30, 16 * 60, 19 * 60])
SLOT_SPAN_MIN = np.array([180, 150, 120, 180])

SU_SKILLS = ("medication", "dementia", "hoist", "catheter", "peg")
_STATUSES = ("long_term", "waiting", "hospital", "interim", "bridging")
_STATUS_P = (0.89, 0.04, 0.03, 0.02, 0.02)
_CONTRACT_TYPES = ("framework", "dps", "block", "spot")
_CONTRACT_P = (0.5, 0.25, 0.1, 0.15)
_RATE_RANGE = {
    "framework": (21.0, 25.0),
    "dps": (22.0, 27.0),
    "block": (19.0, 23.0),
    "spot": (25.0, 32.0),
}
_NAME_A = (
    "Bluebell", "Oakwood", "Riverside", "Meadow", "Willow", "Heritage", "Beacon", "Harmony",
    "Kingfisher", "Fenland", "Cedar", "Abbey", "Orchard", "Lantern", "Evergreen", "Swan",
    "Hearth", "Maple", "Sunrise", "Primrose", "Ouse Valley", "Nene", "Cam Vale", "Isle",
)  # fmt: skip
_NAME_B = ("Home Care", "Care Services", "Homecare Ltd", "Community Care", "Care at Home")
_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
PROVIDER_REACH_M = 12_000.0  # a provider's share of packages halves every ~8 km from its base
COUNCIL_AVERAGE_RATE_GBP = 23.26  # DOMAIN.md: average council fee 2024-25


def make_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded ids such as "V00000042", vectorised (object array of str)."""
    nums = np.asarray(numbers, dtype=np.int64)
    if nums.size and (nums.min() < 0 or nums.max() >= 10**width):
        raise ValueError(f"Expected 0 <= number < 10**{width}.")
    # Build the fixed-width ASCII bytes arithmetically: far faster than str formatting.
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((nums[:, None] // powers[None, :]) % 10 + ord("0")).astype(np.uint8)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    raw = np.concatenate([np.broadcast_to(head, (nums.size, head.size)), digits], axis=1)
    fixed = np.ascontiguousarray(raw).view(f"S{head.size + width}").ravel()
    return fixed.astype(str).astype(object)


def join_flags(mask: np.ndarray, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Row-wise ";"-join of the names whose column is True (object array of str)."""
    out = np.full(mask.shape[0], "", dtype=object)
    for j, name in enumerate(names):
        col = mask[:, j]
        sep = np.where(out == "", "", ";").astype(object)
        out = np.where(col, out + sep + name, out)
    return out


def make_service_users(config: SyntheticConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Service users clustered on streets of real towns; internal columns start with "_"."""
    n = config.n_service_users
    t = towns(config.districts)
    town = rng.choice(len(t), size=n, p=t["weight"].to_numpy())
    # Streets: about three people per street on average, at least two streets per town.
    expected = n * t["weight"].to_numpy()
    n_streets = np.maximum(2, np.ceil(expected / 3.0)).astype(np.int64)
    first_street = np.concatenate([[0], np.cumsum(n_streets)[:-1]])
    street_town = np.repeat(np.arange(len(t)), n_streets)
    s = street_town.size
    r = t["radius_m"].to_numpy()[street_town] * np.sqrt(rng.random(s))
    ang = rng.random(s) * 2 * np.pi
    s_lat, s_lon = offset_m(
        t["lat"].to_numpy()[street_town], t["lon"].to_numpy()[street_town],
        r * np.cos(ang), r * np.sin(ang),
    )  # fmt: skip
    s_bearing = rng.random(s) * np.pi
    s_half_m = rng.uniform(75.0, 200.0, s)
    s_angle = np.arctan2(
        s_lat - t["lat"].to_numpy()[street_town], s_lon - t["lon"].to_numpy()[street_town]
    )
    s_inward = (
        rng.integers(1, 10, s).astype(str).astype(object)
        + rng.choice(_INWARD_LETTERS, s).astype(object)
        + rng.choice(_INWARD_LETTERS, s).astype(object)
    )
    # Popular streets (sheltered housing, estates) take more people: skewed local index.
    local = np.floor(n_streets[town] * rng.random(n) ** 1.3).astype(np.int64)
    street = first_street[town] + local
    along = rng.uniform(-1.0, 1.0, n) * s_half_m[street]
    across = rng.normal(0.0, 8.0, n)
    b = s_bearing[street]
    lat, lon = offset_m(
        s_lat[street], s_lon[street],
        along * np.cos(b) - across * np.sin(b), along * np.sin(b) + across * np.cos(b),
    )  # fmt: skip
    status = rng.choice(np.array(_STATUSES), size=n, p=_STATUS_P)
    hoist_share = min(0.3, config.double_up_share / 0.75)
    skill_p = np.array([0.45, 0.2, hoist_share, 0.05, 0.02])
    skills = rng.random((n, len(SU_SKILLS))) < skill_p
    receiving = np.isin(status, ["long_term", "interim", "bridging"])
    # A few double-ups even in tiny data sets (people needing a hoist need two carers).
    hoist_min = min(3, int(receiving.sum()))
    short_by = hoist_min - int((skills[:, 2] & receiving).sum())
    if short_by > 0:
        extra = rng.choice(np.flatnonzero(receiving & ~skills[:, 2]), size=short_by, replace=False)
        skills[extra, 2] = True
    pref = rng.choice(np.array(["none", "female", "male"]), size=n, p=(0.8, 0.18, 0.02))
    p_discharge = np.where(np.isin(status, ["interim", "bridging"]), 0.6, 0.15)
    discharged = receiving & (rng.random(n) < p_discharge)
    start = np.datetime64(config.start_date, "D")
    offset_days = rng.integers(-56, max(1, config.days - 6), n)
    discharge = np.where(discharged, start + offset_days, np.datetime64("NaT", "D"))
    frame = pd.DataFrame(
        {
            "service_user_id": make_ids("SU", np.arange(1, n + 1), 6),
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "postcode": t["outward"].to_numpy()[town].astype(object) + " " + s_inward[street],
            "area": t["district"].to_numpy()[town],
            "status": status,
            "hospital_discharge_date": discharge.astype("datetime64[s]"),
            "required_skills": join_flags(skills, SU_SKILLS),
            "carer_gender_preference": pref,
            "_town": town,
            "_street": street,
            "_is_city": t["is_city"].to_numpy()[town],
            "_receiving": receiving,
            # Spatial sort keys: street angle around the town centre, then along the street.
            "_street_angle": s_angle[street],
            "_along": along,
        }
    )
    for j, name in enumerate(SU_SKILLS):
        frame[f"_needs_{name}"] = skills[:, j]
    return frame


def make_providers(config: SyntheticConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Providers with a base town and 1-3 overlapping districts each."""
    n = config.n_providers
    t = towns(config.districts)
    district_pop = t.groupby("district")["population"].sum().reindex(DISTRICTS).fillna(0).to_numpy()
    allowed = district_pop > 0
    base_district = rng.choice(len(DISTRICTS), size=n, p=district_pop / district_pop.sum())
    served = np.flatnonzero(allowed)
    base_district[: min(n, served.size)] = served[: min(n, served.size)]
    covers = np.zeros((n, len(DISTRICTS)), dtype=bool)
    covers[np.arange(n), base_district] = True
    for i in range(n):  # one iteration per provider (tens to hundreds)
        for nb in NEIGHBOURS[DISTRICTS[base_district[i]]]:
            if allowed[DISTRICTS.index(nb)] and rng.random() < 0.35:
                covers[i, DISTRICTS.index(nb)] = True
    for d in np.flatnonzero(~covers.any(axis=0) & allowed):  # every district served by someone
        covers[rng.integers(n), d] = True
    base_town = np.empty(n, dtype=np.int64)
    for i in range(n):
        in_d = np.flatnonzero(t["district"].to_numpy() == DISTRICTS[base_district[i]])
        w = t["population"].to_numpy()[in_d].astype(float)
        base_town[i] = rng.choice(in_d, p=w / w.sum())
    base_lat, base_lon = offset_m(
        t["lat"].to_numpy()[base_town], t["lon"].to_numpy()[base_town],
        rng.normal(0, 400, n), rng.normal(0, 400, n),
    )  # fmt: skip
    contract = rng.choice(np.array(_CONTRACT_TYPES), size=n, p=_CONTRACT_P)
    lo = np.array([_RATE_RANGE[c][0] for c in contract])
    hi = np.array([_RATE_RANGE[c][1] for c in contract])
    combos = [f"{a} {b}" for a in _NAME_A for b in _NAME_B]
    order = rng.permutation(len(combos))
    names = [
        combos[order[i % len(combos)]] + ("" if i < len(combos) else f" {i // len(combos) + 1}")
        for i in range(n)
    ]
    frame = pd.DataFrame(
        {
            "provider_id": make_ids("P", np.arange(1, n + 1), 4),
            "name": names,
            "contract_type": contract,
            "rate_gbp_per_hour": np.round(rng.uniform(lo, hi), 2),
            "base_lat": np.round(base_lat, 6),
            "base_lon": np.round(base_lon, 6),
            "_size": rng.lognormal(0.0, 0.6, n),
        }
    )
    for j in range(len(DISTRICTS)):
        frame[f"_covers_{j}"] = covers[:, j]
    return frame


def make_packages(
    config: SyntheticConfig,
    users: pd.DataFrame,
    providers: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One package per service user; providers drawn among those covering the user's district."""
    n = len(users)
    district = pd.Categorical(users["area"], categories=DISTRICTS).codes
    provider = np.full(n, -1, dtype=np.int64)
    size = providers["_size"].to_numpy()
    for d in range(len(DISTRICTS)):
        rows = np.flatnonzero(district == d)
        if rows.size == 0:
            continue
        cands = np.flatnonzero(providers[f"_covers_{d}"].to_numpy())
        # Bigger providers and those based nearer win more packages, but several still
        # serve each street (brokered package by package as capacity allowed).
        dist_m = haversine_m(
            users["lat"].to_numpy()[rows, None],
            users["lon"].to_numpy()[rows, None],
            providers["base_lat"].to_numpy()[None, cands],
            providers["base_lon"].to_numpy()[None, cands],
        )
        w = size[cands][None, :] * np.exp(-dist_m / PROVIDER_REACH_M)
        cum = np.cumsum(w, axis=1)
        u = rng.random(rows.size)[:, None] * cum[:, -1:]
        provider[rows] = cands[np.minimum((cum < u).sum(axis=1), cands.size - 1)]
    receiving = users["_receiving"].to_numpy()
    provider = np.where(receiving, provider, -1)
    status = users["status"].to_numpy()
    start = np.datetime64(config.start_date, "D")
    discharge = users["hospital_discharge_date"].to_numpy().astype("datetime64[D]")
    pkg_start = np.where(
        ~np.isnat(discharge), discharge, start - rng.integers(14, 900, n).astype("timedelta64[D]")
    )
    pkg_start = np.where(
        receiving, pkg_start, start - rng.integers(1, 40, n).astype("timedelta64[D]")
    )
    ends = receiving & (rng.random(n) < 0.03)
    end_offset = rng.integers(2, max(3, config.days), n).astype("timedelta64[D]")
    pkg_end = np.where(
        ends, np.maximum(start + end_offset, pkg_start + 1), np.datetime64("NaT", "D")
    )
    prate = np.where(
        provider >= 0,
        providers["rate_gbp_per_hour"].to_numpy()[np.maximum(provider, 0)],
        COUNCIL_AVERAGE_RATE_GBP,
    )
    rate = np.where(status == "interim", prate + rng.uniform(2.0, 5.0, n), prate)
    rate = np.where(status == "bridging", rng.uniform(34.0, 37.0, n), rate)
    pids = providers["provider_id"].to_numpy().astype(object)
    return pd.DataFrame(
        {
            "package_id": make_ids("PK", np.arange(1, n + 1), 6),
            "service_user_id": users["service_user_id"].to_numpy(),
            "provider_id": np.where(provider >= 0, pids[np.maximum(provider, 0)], np.nan),
            "start_date": pkg_start.astype("datetime64[s]"),
            "end_date": pkg_end.astype("datetime64[s]"),
            "rate_gbp_per_hour": np.round(rate, 2),
            "_provider": provider,
            "_user": np.arange(n),
        }
    )


def make_calls(
    config: SyntheticConfig, users: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Calls per package (internal frame: window and weekdays are filled in by the rounds)."""
    n = len(users)
    n_calls = rng.choice(np.arange(1, 5), size=n, p=config.calls_per_day_mix)
    slots = np.zeros((n, 4), dtype=bool)
    slots[n_calls == 4] = True
    three = n_calls == 3
    alt = rng.random(n) < 0.6
    slots[three & alt] = [True, True, False, True]
    slots[three & ~alt] = [True, False, True, True]
    slots[n_calls == 2] = [True, False, False, True]
    slots[(n_calls == 1) & alt] = [True, False, False, False]
    slots[(n_calls == 1) & ~alt] = [False, True, False, False]
    user, slot = np.nonzero(slots)
    m = user.size
    durations = np.array(list(config.duration_mix.keys()))
    shares = np.array(list(config.duration_mix.values()))
    duration = rng.choice(durations, size=m, p=shares / shares.sum())
    hoist = users["_needs_hoist"].to_numpy()[user]
    first_call = np.concatenate([[True], user[1:] != user[:-1]])
    double = hoist & ((rng.random(m) < 0.75) | first_call)
    medication = users["_needs_medication"].to_numpy()[user]
    p_tc = np.where(
        np.isin(slot, [0, 3]), config.time_critical_share, config.time_critical_share / 2
    )
    time_critical = medication & (rng.random(m) < p_tc)
    weekdays_only = np.isin(slot, [1, 2]) & (rng.random(m) < 0.1)
    return pd.DataFrame(
        {
            "call_id": make_ids("CL", np.arange(1, m + 1), 7),
            "_user": user,
            "_slot": slot,
            "duration_min": duration.astype(np.int64),
            "carers_required": np.where(double, 2, 1).astype(np.int64),
            "is_time_critical": time_critical,
            "_weekdays_only": weekdays_only,
        }
    )
