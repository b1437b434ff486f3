"""A generated county day for benchmarks: towns, providers, carers, calls, today's rounds.

Calibrated on DOMAIN.md: visit lengths 15/30/45/60 min at 2/72/18/8 %, up to four calls a
day (morning, lunch, tea, bed), double-ups a few percent of calls, carers seeing 15-20
people a day. Travel is straight-line distance × 1.3 circuity at 30 mph (car) or 3 mph
(walk). Today's rounds are brokered package by package: each person's provider is picked
among the providers working in their town (a tenth picked county-wide), and each call goes
to a random carer of that provider who can still reach it in time.
"""

from __future__ import annotations

import numpy as np

from solver import Carer, Objective, Problem, Visit

CALL_SLOTS_S = (  # (window start, window end) for morning, lunch, tea, bed
    (7 * 3600, 10 * 3600),
    (11 * 3600 + 1800, 14 * 3600),
    (15 * 3600 + 1800, 19 * 3600),
    (19 * 3600, 22 * 3600),
)
DURATIONS_S = np.array([900, 1800, 2700, 3600])
DURATION_SHARE = np.array([0.02, 0.72, 0.18, 0.08])
CIRCUITY = 1.3
CAR_M_PER_S = 13.4
WALK_M_PER_S = 1.34


def make_county_day(
    seed: int = 0,
    *,
    n_visits: int = 6000,
    n_carers: int = 700,
    n_providers: int = 60,
    n_towns: int = 25,
    size_m: tuple[float, float] = (60_000.0, 50_000.0),
    n_waiting: int = 0,
) -> tuple[Problem, np.ndarray]:
    """A county day and the (x, y) metres of every location, reproducible from ``seed``.

    ``n_waiting`` extra homes (people on the waiting list, no calls yet) are appended as
    the last locations of the matrices, for placement queries.
    """
    rng = np.random.default_rng(seed)
    towns = rng.uniform((0, 0), size_m, (n_towns, 2))
    town_weight = 1.0 / np.arange(1, n_towns + 1) ** 0.8
    town_weight /= town_weight.sum()
    town_sigma = rng.uniform(800, 2500, n_towns)

    # People: about 3.3 calls each until the visit target is met.
    calls_per_person = rng.choice([1, 2, 3, 4], p=[0.1, 0.2, 0.2, 0.5], size=n_visits)
    people_calls = []
    total = 0
    for c in calls_per_person:
        if total >= n_visits:
            break
        people_calls.append(int(min(c, n_visits - total)))
        total += people_calls[-1]
    n_people = len(people_calls)
    person_town = rng.choice(n_towns, p=town_weight, size=n_people)
    rural = rng.random(n_people) < 0.12
    person_xy = towns[person_town] + rng.normal(0, 1, (n_people, 2)) * town_sigma[person_town, None]
    person_xy[rural] = rng.uniform((0, 0), size_m, (int(rural.sum()), 2))
    person_xy = np.clip(person_xy, 0, size_m)

    # Providers work in one or two neighbouring towns; carers live near one of them.
    town_gap = np.hypot(*(towns[:, None, :] - towns[None, :, :]).transpose(2, 0, 1))
    home_town = rng.choice(n_towns, p=town_weight, size=n_providers)
    provider_towns = [np.argsort(town_gap[t])[: int(rng.integers(1, 3))] for t in home_town]
    carer_provider = np.sort(rng.integers(0, n_providers, n_carers))
    carer_provider[:n_providers] = np.arange(n_providers)
    carer_town = np.array([rng.choice(provider_towns[p]) for p in carer_provider])
    carer_xy = towns[carer_town] + rng.normal(0, 1, (n_carers, 2)) * town_sigma[carer_town, None]
    carer_xy = np.clip(carer_xy, 0, size_m)

    wait_town = rng.choice(n_towns, p=town_weight, size=n_waiting)
    wait_xy = towns[wait_town] + rng.normal(0, 1, (n_waiting, 2)) * town_sigma[wait_town, None]
    xy = np.vstack([person_xy, carer_xy, np.clip(wait_xy, 0, size_m)])
    dist_m = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * CIRCUITY
    car_s = np.rint(dist_m / CAR_M_PER_S).astype(np.int64)
    walk_s = np.rint(dist_m / WALK_M_PER_S).astype(np.int64)
    distance_m = np.rint(dist_m).astype(np.int64)

    carers = []
    for k in range(n_carers):
        shift = rng.choice(3, p=[0.35, 0.25, 0.40])
        start, end, cap = [
            (7 * 3600, 14 * 3600, None),
            (15 * 3600 + 1800, 22 * 3600 + 1800, None),
            (7 * 3600, 22 * 3600 + 1800, 10 * 3600),
        ][shift]
        held_skills = {"medication"} if rng.random() < 0.7 else set()
        if rng.random() < 0.3:
            held_skills.add("hoist")
        walk = rng.random() < 0.05 and town_sigma[carer_town[k]] < 1500
        carers.append(
            Carer(
                provider=int(carer_provider[k]),
                start_location=n_people + k,
                end_location=n_people + k,
                shift_start_s=start,
                shift_end_s=end,
                max_work_s=cap,
                skills=frozenset(held_skills),
                gender="f" if rng.random() < 0.8 else "m",
                travel_mode=1 if walk else 0,
            )
        )

    # Each person's provider: one working in their town, or (brokered in a hurry) any.
    town_providers = [
        [p for p in range(n_providers) if t in provider_towns[p]] or list(range(n_providers))
        for t in range(n_towns)
    ]
    person_provider = np.array(
        [
            int(rng.integers(n_providers))
            if rng.random() < 0.1
            else int(rng.choice(town_providers[person_town[u]]))
            for u in range(n_people)
        ]
    )

    raw: list[dict] = []
    sync = 0
    for u, n_calls in enumerate(people_calls):
        slots = sorted(rng.choice(4, size=n_calls, replace=False))
        needs_med = rng.random() < 0.2
        wants_f = rng.random() < 0.1
        double = rng.random() < 0.015
        for slot in slots:
            lo, hi = CALL_SLOTS_S[slot]
            width = int(rng.choice([5400, 7200, 10800]))
            start = int(rng.integers(lo, max(lo + 1, hi - width + 1)) // 300 * 300)
            duration = int(rng.choice(DURATIONS_S, p=DURATION_SHARE))
            skills = frozenset({"medication"} if needs_med else set())
            common = dict(
                location=u,
                window_start_s=start,
                window_end_s=start + width,
                duration_s=duration,
                gender="f" if wants_f else None,
                provider=int(person_provider[u]),
                service_user=u,
            )
            if double:
                for _ in range(2):
                    raw.append(
                        dict(
                            common,
                            skills=skills | {"hoist"},
                            sync_group=sync,
                            sync_min_gap_s=-300,
                            sync_max_gap_s=300,
                        )
                    )
                sync += 1
            else:
                raw.append(dict(common, skills=skills))
    raw = raw[:n_visits]
    if (
        raw
        and raw[-1].get("sync_group", -1) >= 0
        and sum(1 for r in raw if r.get("sync_group") == raw[-1]["sync_group"]) == 1
    ):
        raw.pop()

    # Today's rounds: calls in time order, each to a random provider carer who can make it.
    free_at = np.array([c.shift_start_s for c in carers], dtype=np.int64)
    here = np.array([c.start_location for c in carers], dtype=np.int64)
    mode = np.array([c.travel_mode for c in carers])
    by_provider = [np.flatnonzero(carer_provider == p) for p in range(n_providers)]
    carer_skills = [c.skills for c in carers]
    carer_gender = np.array([c.gender for c in carers])
    shift_end = np.array([c.shift_end_s for c in carers])
    order = sorted(range(len(raw)), key=lambda i: (raw[i]["window_start_s"], i))
    assigned = np.full(len(raw), -1)
    for i in order:
        r = raw[i]
        pool = by_provider[r["provider"]]
        travel = np.where(
            mode[pool] == 1, walk_s[here[pool], r["location"]], car_s[here[pool], r["location"]]
        )
        start = np.maximum(free_at[pool] + travel, r["window_start_s"])
        ok = start + r["duration_s"] <= r["window_end_s"]
        ok &= start + r["duration_s"] + 1800 <= shift_end[pool]
        ok &= np.array([r["skills"] <= carer_skills[k] for k in pool], dtype=bool)
        if r["gender"]:
            ok &= carer_gender[pool] == r["gender"]
        if r.get("sync_group", -1) >= 0:
            partner = [
                j
                for j in range(max(0, i - 1), min(len(raw), i + 2))
                if j != i and raw[j].get("sync_group") == r["sync_group"]
            ]
            for j in partner:
                if assigned[j] >= 0:
                    ok &= pool != assigned[j]
        if not ok.any():
            continue
        # Round planners take one of the three nearest carers who can make it.
        cands = np.flatnonzero(ok)
        j = int(rng.choice(cands[np.argsort(travel[cands], kind="stable")[:3]]))
        k = int(pool[j])
        assigned[i] = k
        free_at[k] = start[j] + r["duration_s"]
        here[k] = r["location"]

    visits = tuple(Visit(**r, carer=int(assigned[i])) for i, r in enumerate(raw))
    problem = Problem(
        visits=visits,
        carers=tuple(carers),
        travel_s=(car_s, walk_s),
        distance_m=(distance_m, distance_m),
        objective=Objective(),
        n_providers=n_providers,
    )
    return problem, xy
