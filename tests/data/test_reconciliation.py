"""Each reconciliation rule on tiny hand-built fixtures, just inside and just outside tolerance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from data.reconciliation import AuditResult, MissingRecordsError, reconcile
from data.records import AUDIT_OUTPUT_COLUMNS, ECM_VISIT, FlagKind
from data.tolerances import AuditTolerances
from data.travel_estimate import straight_line_travel

MONDAY_7AM = datetime(2026, 10, 5, 7, 0)
HOMES = {  # Peterborough streets; su3 is about 5.6 km east of su1
    "su1": (52.5700, -0.2400),
    "su2": (52.5705, -0.2400),
    "su3": (52.5700, -0.1570),
}
RATE_GBP_PER_HOUR = 24.0  # 40p a minute keeps the money arithmetic exact
PACKAGE_RATE_GBP_PER_HOUR = 30.0  # 50p a minute, for visits whose call names package pk1
NOTE_TEXT = "Mrs X was upset about her medication (SENSITIVE)"


def visit(
    visit_id: str,
    *,
    su: str = "su1",
    carer: str = "c1",
    start: datetime = MONDAY_7AM,
    planned_min: int = 30,
    late_min: float = 0.0,
    ecm_min: float | None = None,
    billed_min: int | None = None,
    status: str = "completed",
    method: str = "app",
    check_in_at: tuple[float, float] | None = None,
    group: str | None = None,
    call: str | None = None,
    provider: str = "p1",
) -> dict[str, object]:
    """One ECM visit row; checked in at the home, on time, for the planned minutes."""
    done = status == "completed"
    check_in = start + timedelta(minutes=late_min)
    minutes = planned_min if ecm_min is None else ecm_min
    lat, lon = check_in_at or HOMES.get(su, (np.nan, np.nan))
    return {
        "visit_id": visit_id,
        "provider_id": provider,
        "service_user_id": su,
        "carer_id": carer,
        "call_id": call,
        "planned_start": start,
        "planned_duration_min": planned_min,
        "check_in": check_in if done else None,
        "check_out": check_in + timedelta(minutes=minutes) if done else None,
        "method": method if done else None,
        "check_in_lat": lat if done else np.nan,
        "check_in_lon": lon if done else np.nan,
        "double_up_group": group,
        "billed_min": planned_min if billed_min is None else billed_min,
        "status": status,
    }


def note_for(
    row: dict[str, object], note_id: str, *, shift_min: float = 0, minutes: float | None = None
) -> dict[str, object]:
    """The care note a carer writes for ``row``: same start and length unless told otherwise."""
    check_in, check_out = row["check_in"], row["check_out"]
    assert isinstance(check_in, datetime) and isinstance(check_out, datetime)
    start = check_in + timedelta(minutes=shift_min)
    length = (check_out - check_in).total_seconds() / 60 if minutes is None else minutes
    return {
        "note_id": note_id,
        "service_user_id": row["service_user_id"],
        "carer_id": row["carer_id"],
        "written_at": start + timedelta(minutes=length + 5),
        "visit_start": start,
        "visit_end": start + timedelta(minutes=length),
        "tasks": "personal care",
        "text": NOTE_TEXT,
    }


NOTE_COLUMNS = [
    "note_id",
    "service_user_id",
    "carer_id",
    "written_at",
    "visit_start",
    "visit_end",
    "tasks",
    "text",
]
CALL_COLUMNS = [
    "call_id",
    "package_id",
    "weekdays",
    "window_start",
    "window_end",
    "duration_min",
    "carers_required",
    "is_time_critical",
]


def call(call_id: str, *, carers: int = 1, critical: bool = False) -> dict[str, object]:
    """A daily call of package pk1 (service user su1)."""
    return {
        "call_id": call_id,
        "package_id": "pk1",
        "weekdays": "mon;tue;wed;thu;fri;sat;sun",
        "window_start": "06:30",
        "window_end": "07:30",
        "duration_min": 30,
        "carers_required": carers,
        "is_time_critical": critical,
    }


def records(
    visits: Iterable[dict[str, object]],
    notes: Iterable[dict[str, object]] | None = None,
    *,
    calls: Iterable[dict[str, object]] = (),
) -> dict[str, pd.DataFrame]:
    """Canonical frames; unless ``notes`` is given every checked-in visit gets a faithful note."""
    visit_rows = list(visits)
    if notes is None:
        notes = [note_for(v, f"n-{v['visit_id']}") for v in visit_rows if v["check_in"]]
    visit_frame = pd.DataFrame(visit_rows, columns=list(ECM_VISIT.column_names))
    for column in ("planned_start", "check_in", "check_out"):
        visit_frame[column] = pd.to_datetime(visit_frame[column])
    note_frame = pd.DataFrame(list(notes), columns=NOTE_COLUMNS)
    for column in ("written_at", "visit_start", "visit_end"):
        note_frame[column] = pd.to_datetime(note_frame[column])
    return {
        "ecm_visit": visit_frame,
        "care_note": note_frame,
        "service_user": pd.DataFrame(
            {
                "service_user_id": list(HOMES),
                "lat": [h[0] for h in HOMES.values()],
                "lon": [h[1] for h in HOMES.values()],
                "area": "Peterborough",
                "status": "long_term",
                "hospital_discharge_date": pd.NaT,
            }
        ),
        "provider": pd.DataFrame(
            {
                "provider_id": ["p1"],
                "name": ["Acme Care"],
                "contract_type": ["framework"],
                "rate_gbp_per_hour": [RATE_GBP_PER_HOUR],
            }
        ),
        "package": pd.DataFrame(
            {
                "package_id": ["pk1"],
                "service_user_id": ["su1"],
                "provider_id": ["p1"],
                "start_date": [pd.Timestamp(MONDAY_7AM.date())],
                "rate_gbp_per_hour": [PACKAGE_RATE_GBP_PER_HOUR],
            }
        ),
        "call": pd.DataFrame(list(calls), columns=CALL_COLUMNS),
    }


def flagged(result: AuditResult, kind: FlagKind) -> set[str]:
    """Record ids carrying a flag of ``kind``."""
    table = result.audit_flag
    return set(table.loc[table["flag_kind"] == kind.value, "record_id"])


def all_flags(result: AuditResult) -> set[tuple[str, str]]:
    """Every (flag kind, record id) raised."""
    return set(zip(result.audit_flag["flag_kind"], result.audit_flag["record_id"], strict=True))


def later(minutes: float) -> datetime:
    """Monday 07:00 plus ``minutes``."""
    return MONDAY_7AM + timedelta(minutes=minutes)


def offset_point(lat: float, lon: float, *, north_m: float) -> tuple[float, float]:
    """A point ``north_m`` metres due north of (lat, lon)."""
    return lat + north_m / 111_195.0, lon


# --- outputs and the clean case ------------------------------------------------------------


def test_output_frames_have_exactly_the_contract_columns() -> None:
    """Every frame carries exactly the AUDIT_OUTPUT_COLUMNS, in order, even when empty."""
    for visits in ([visit("v1")], [visit("v1", ecm_min=5, method="manual")], []):
        result = reconcile(records(visits))
        for name, frame in result.frames().items():
            assert tuple(frame.columns) == AUDIT_OUTPUT_COLUMNS[name]


def test_faithful_visit_with_note_is_verified() -> None:
    """A visit on time, at home, with its note and honest billing raises no flag."""
    result = reconcile(records([visit("v1")]))
    row = result.visit_outcome.iloc[0]
    assert result.audit_flag.empty
    assert row["outcome"] == "verified"
    assert row["matched_note_id"] == "n-v1"
    assert row["flag_kinds"] == ""
    assert row["verified_min"] == 30


def test_missing_visits_or_notes_are_refused() -> None:
    """Visits and notes are required; a missing kind or column is a MissingRecordsError."""
    frames = records([visit("v1")])
    with pytest.raises(MissingRecordsError, match="care_note"):
        reconcile({"ecm_visit": frames["ecm_visit"]})
    with pytest.raises(MissingRecordsError, match="billed_min"):
        reconcile({**frames, "ecm_visit": frames["ecm_visit"].drop(columns="billed_min")})


def test_only_visits_and_notes_are_enough() -> None:
    """Without service users, calls, packages or providers the audit still runs."""
    frames = records([visit("v1", ecm_min=10)])
    result = reconcile({k: frames[k] for k in ("ecm_visit", "care_note")})
    assert flagged(result, FlagKind.SHORT_CALL) == {"v1"}
    assert np.isnan(result.visit_outcome["rate_gbp_per_hour"].iloc[0])


def test_evidence_never_quotes_care_note_text() -> None:
    """Evidence sentences carry figures, never the note's text."""
    rows = [visit("v1", ecm_min=10), visit("v2", start=later(240))]
    notes = [note_for(rows[0], "n1", minutes=30), note_for(rows[1], "n2", shift_min=200)]
    result = reconcile(records(rows, notes))
    assert len(result.audit_flag) >= 3
    assert not result.audit_flag["evidence"].str.contains("SENSITIVE").any()
    assert result.audit_flag["evidence"].str.contains(r"\d").all()


# --- matching ------------------------------------------------------------------------------


def test_visit_without_note_is_flagged() -> None:
    """A checked-in visit with no care note is flagged; its neighbour with a note is not."""
    rows = [visit("v1"), visit("v2", start=later(300))]
    result = reconcile(records(rows, [note_for(rows[1], "n2")]))
    assert flagged(result, FlagKind.VISIT_WITHOUT_NOTE) == {"v1"}
    assert flagged(result, FlagKind.NOTE_WITHOUT_VISIT) == set()


def test_note_without_visit_is_flagged_on_the_note() -> None:
    """A care note no ECM visit matches is flagged on the note, with the carer's provider."""
    ghost = visit("ghost", start=later(300))
    result = reconcile(records([visit("v1")], [note_for(visit("v1"), "n1"), note_for(ghost, "n9")]))
    flags = result.audit_flag
    assert flagged(result, FlagKind.NOTE_WITHOUT_VISIT) == {"n9"}
    row = flags.loc[flags["record_id"] == "n9"].iloc[0]
    assert row["record_kind"] == "care_note"
    assert row["provider_id"] == "p1"
    assert row["amount_gbp"] == 0


@pytest.mark.parametrize(("shift_min", "matched"), [(90, True), (-90, True), (91, False)])
def test_note_match_window_is_inclusive(shift_min: float, matched: bool) -> None:
    """A note starting within ±90 min of the check-in matches; 91 min away it does not."""
    row = visit("v1")
    result = reconcile(records([row], [note_for(row, "n1", shift_min=shift_min)]))
    assert (result.visit_outcome["matched_note_id"].iloc[0] == "n1") is matched
    assert (flagged(result, FlagKind.VISIT_WITHOUT_NOTE) == {"v1"}) is not matched
    assert (flagged(result, FlagKind.NOTE_WITHOUT_VISIT) == {"n1"}) is not matched


def test_note_of_another_carer_does_not_match() -> None:
    """The note must be by the visit's carer and for the visit's service user."""
    row = visit("v1")
    other = visit("v1", carer="c2")
    result = reconcile(records([row], [note_for(other, "n1")]))
    assert flagged(result, FlagKind.VISIT_WITHOUT_NOTE) == {"v1"}
    assert flagged(result, FlagKind.NOTE_WITHOUT_VISIT) == {"n1"}


def test_two_visits_one_note_uses_the_note_once() -> None:
    """Matching is one-to-one: the nearer visit keeps the note, the other has none."""
    rows = [visit("v1"), visit("v2", start=later(60))]
    result = reconcile(records(rows, [note_for(rows[1], "n1", shift_min=-20)]))
    outcome = result.visit_outcome.set_index("visit_id")
    assert outcome.loc["v2", "matched_note_id"] == "n1"
    assert pd.isna(outcome.loc["v1", "matched_note_id"])
    assert flagged(result, FlagKind.VISIT_WITHOUT_NOTE) == {"v1"}


def test_contested_note_goes_nearest_and_loser_takes_the_next() -> None:
    """When two visits want one note the nearer wins and the other matches the note left."""
    rows = [visit("v1"), visit("v2", start=later(40))]
    notes = [note_for(rows[0], "n1", shift_min=25), note_for(rows[0], "n2", shift_min=-30)]
    result = reconcile(records(rows, notes))
    outcome = result.visit_outcome.set_index("visit_id")["matched_note_id"]
    assert outcome.to_dict() == {"v1": "n2", "v2": "n1"}


# --- durations and money -------------------------------------------------------------------


@pytest.mark.parametrize(("note_min", "is_flagged"), [(40, False), (40.5, True), (19.5, True)])
def test_duration_mismatch_beyond_ten_minutes(note_min: float, is_flagged: bool) -> None:
    """ECM 30 min against a note of 40 is within tolerance; 40.5 or 19.5 is not."""
    row = visit("v1")
    result = reconcile(records([row], [note_for(row, "n1", minutes=note_min)]))
    assert (flagged(result, FlagKind.DURATION_MISMATCH) == {"v1"}) is is_flagged


@pytest.mark.parametrize(
    ("planned", "ecm", "is_short"),
    [
        (60, 51.5, False),  # 85.8% and 8.5 min short
        (60, 50.9, True),  # 84.8%
        (120, 105.5, False),  # 14.5 min short, 87.9%
        (120, 104.5, True),  # 15.5 min short
    ],
)
def test_short_call_by_ratio_or_minutes(planned: int, ecm: float, is_short: bool) -> None:
    """Short when verified < 85% of planned or more than 15 min short."""
    result = reconcile(records([visit("v1", planned_min=planned, ecm_min=ecm)]))
    assert (flagged(result, FlagKind.SHORT_CALL) == {"v1"}) is is_short


def test_note_shorter_than_ecm_lowers_verified_minutes() -> None:
    """Verified = the shorter of ECM and note: a short note makes the call short and over-billed."""
    row = visit("v1", planned_min=60)
    result = reconcile(records([row], [note_for(row, "n1", minutes=30)]))
    assert result.visit_outcome["verified_min"].iloc[0] == 30
    assert {k for k, _ in all_flags(result)} == {
        "duration_mismatch",
        "short_call",
        "billed_above_verified",
    }


@pytest.mark.parametrize(("billed", "is_flagged"), [(35, False), (36, True)])
def test_billed_above_verified_beyond_five_minutes(billed: int, is_flagged: bool) -> None:
    """Billing 36 min for 30 verified is flagged; 35 is within tolerance."""
    result = reconcile(records([visit("v1", billed_min=billed)]))
    assert (flagged(result, FlagKind.BILLED_ABOVE_VERIFIED) == {"v1"}) is is_flagged


def test_missed_visit_billed_carries_only_billed_above_verified() -> None:
    """A missed visit that was billed is over-billed and nothing else; outcome stays missed."""
    rows = [
        visit("missed", su="su2", status="missed"),
        visit("cancelled", status="cancelled", billed_min=0, start=later(240)),
    ]
    result = reconcile(records(rows))
    assert all_flags(result) == {("billed_above_verified", "missed")}
    outcome = result.visit_outcome.set_index("visit_id")
    assert outcome.loc["missed", "outcome"] == "missed"
    assert outcome.loc["cancelled", "outcome"] == "cancelled"
    assert outcome.loc["missed", "verified_min"] == 0
    assert outcome.loc["missed", "variance_gbp"] == pytest.approx(12.0)


def test_money_uses_package_rate_via_call_else_provider_rate() -> None:
    """£ = minutes × rate / 60, the package's rate when the call names one, else the provider's."""
    rows = [
        visit("via_call", call="call1", billed_min=45, ecm_min=30),
        visit("provider_rate", su="su2", start=later(300), billed_min=45, ecm_min=30),
    ]
    result = reconcile(records(rows, calls=[call("call1")]))
    outcome = result.visit_outcome.set_index("visit_id")
    assert outcome.loc["via_call", "rate_gbp_per_hour"] == PACKAGE_RATE_GBP_PER_HOUR
    assert outcome.loc["via_call", ["billed_gbp", "verified_gbp", "variance_gbp"]].tolist() == [
        22.5,
        15.0,
        7.5,
    ]
    assert outcome.loc[
        "provider_rate", ["billed_gbp", "verified_gbp", "variance_gbp"]
    ].tolist() == [
        18.0,
        12.0,
        6.0,
    ]
    flags = result.audit_flag.set_index(["flag_kind", "record_id"])
    assert flags.loc[("billed_above_verified", "via_call"), "minutes_at_stake"] == 15
    assert flags.loc[("billed_above_verified", "via_call"), "amount_gbp"] == 7.5


def test_visit_without_call_takes_the_package_in_force() -> None:
    """Without a call id the rate is the person's package with that provider, if in force."""
    rows = [
        visit("in_force", su="su1"),
        visit("before_package", su="su1", start=later(-24 * 60)),
        visit("no_package", su="su2", start=later(300)),
    ]
    rate = reconcile(records(rows)).visit_outcome.set_index("visit_id")["rate_gbp_per_hour"]
    assert rate.to_dict() == {
        "in_force": PACKAGE_RATE_GBP_PER_HOUR,
        "before_package": RATE_GBP_PER_HOUR,
        "no_package": RATE_GBP_PER_HOUR,
    }


def test_provider_month_totals_variance_and_paying_on_actuals() -> None:
    """Per provider per month: sums of minutes and £, variance % of billed, pay on actuals."""
    rows = [
        visit("v1", su="su2", billed_min=30),  # su2 has no package: the provider's rate
        visit("v2", su="su2", start=later(300), ecm_min=20, billed_min=30),
        visit("v3", su="su2", start=later(60 * 24 * 30), status="missed", billed_min=30),
    ]
    table = reconcile(records(rows)).provider_month.set_index("month")
    october, november = table.loc["2026-10"], table.loc["2026-11"]
    assert october["visits"] == 2 and october["flagged_visits"] == 1
    assert october[["planned_min", "billed_min", "verified_min"]].tolist() == [60, 60, 50]
    assert october[["billed_gbp", "verified_gbp", "variance_gbp"]].tolist() == [24.0, 20.0, 4.0]
    assert october["variance_pct"] == pytest.approx(16.67)
    assert october["paying_on_actuals_gbp"] == 20.0
    assert november[["billed_gbp", "verified_gbp", "variance_pct"]].tolist() == [12.0, 0.0, 100.0]


def test_overrun_is_not_paid_beyond_planned() -> None:
    """A carer staying 40 min on a 30-min call verifies 30 min: nothing is owed beyond billing."""
    result = reconcile(records([visit("v1", ecm_min=40)]))
    row = result.visit_outcome.iloc[0]
    assert row["ecm_min"] == 40 and row["verified_min"] == 30 and row["variance_gbp"] == 0
    assert result.audit_flag.empty


# --- where the carer was -------------------------------------------------------------------


def test_carer_in_two_places_same_morning() -> None:
    """Two overlapping visits of one carer at different homes: both flagged, each naming the other."""
    rows = [visit("v1", su="su1"), visit("v2", su="su2", start=later(20))]  # 10 min overlap
    result = reconcile(records(rows))
    flags = result.audit_flag.loc[result.audit_flag["flag_kind"] == "carer_in_two_places"]
    assert dict(zip(flags["record_id"], flags["related_record_id"], strict=True)) == {
        "v1": "v2",
        "v2": "v1",
    }
    assert flags["minutes_at_stake"].tolist() == [10, 10]
    assert flagged(result, FlagKind.TRAVEL_INFEASIBLE) == set()


def test_overlap_within_five_minutes_is_not_two_places() -> None:
    """A 5-min overlap is not two places (but leaves no time to travel, so the later is flagged)."""
    rows = [visit("v1", su="su1"), visit("v2", su="su2", start=later(25))]
    result = reconcile(records(rows))
    assert flagged(result, FlagKind.CARER_IN_TWO_PLACES) == set()
    assert flagged(result, FlagKind.TRAVEL_INFEASIBLE) == {"v2"}


def test_long_visit_overlapping_a_later_one_is_found() -> None:
    """A long visit that contains two later ones overlaps both, not only its next neighbour."""
    rows = [
        visit("long", su="su1", planned_min=120),
        visit("a", su="su2", start=later(10)),
        visit("b", su="su3", start=later(60)),
    ]
    result = reconcile(records(rows))
    assert flagged(result, FlagKind.CARER_IN_TWO_PLACES) == {"long", "a", "b"}


def test_different_carers_at_once_are_fine() -> None:
    """Two carers at two homes at the same time are not flagged."""
    rows = [visit("v1", su="su1"), visit("v2", su="su3", carer="c2")]
    assert reconcile(records(rows)).audit_flag.empty


def travel_min_su1_to_su3() -> float:
    """Straight-line travel minutes from su1 to su3 with the default estimate."""
    (lat1, lon1), (lat3, lon3) = HOMES["su1"], HOMES["su3"]
    travel = straight_line_travel()
    return float(travel(*(np.array([x]) for x in (lat1, lon1, lat3, lon3)))[0]) / 60


@pytest.mark.parametrize(("slack_off_min", "is_flagged"), [(-0.5, True), (0.5, False)])
def test_consecutive_visits_closer_than_travel(slack_off_min: float, is_flagged: bool) -> None:
    """The later visit is flagged when the gap is under travel minus 2 min of slack."""
    gap = travel_min_su1_to_su3() - 2 + slack_off_min
    rows = [visit("v1", su="su1"), visit("v2", su="su3", start=later(30 + gap))]
    result = reconcile(records(rows))
    assert (flagged(result, FlagKind.TRAVEL_INFEASIBLE) == {"v2"}) is is_flagged
    if is_flagged:
        row = result.audit_flag.iloc[0]
        assert row["related_record_id"] == "v1"
        assert row["minutes_at_stake"] == pytest.approx(2.5, abs=0.05)


def test_travel_estimate_is_swappable() -> None:
    """A slower travel function (e.g. road times) turns a feasible gap into a flag."""
    rows = [visit("v1", su="su1"), visit("v2", su="su3", start=later(45))]
    assert reconcile(records(rows)).audit_flag.empty

    def by_bus(lat1, lon1, lat2, lon2):  # type: ignore[no-untyped-def]
        return np.full(np.shape(lat1), 3600.0)

    result = reconcile(records(rows), travel=by_bus)
    assert flagged(result, FlagKind.TRAVEL_INFEASIBLE) == {"v2"}


@pytest.mark.parametrize(("metres", "is_flagged"), [(490, False), (510, True)])
def test_check_in_far_from_home(metres: float, is_flagged: bool) -> None:
    """A check-in 510 m from the home is flagged; 490 m is within tolerance."""
    where = offset_point(*HOMES["su1"], north_m=metres)
    result = reconcile(records([visit("v1", check_in_at=where)]))
    assert (flagged(result, FlagKind.CHECK_IN_FAR_FROM_HOME) == {"v1"}) is is_flagged


def test_manual_check_in() -> None:
    """A manual check-in is flagged; app, phone and tag check-ins are not."""
    rows = [
        visit(f"v{i}", method=m, start=later(240 * i))
        for i, m in enumerate(("manual", "app", "phone", "nfc"))
    ]
    assert flagged(reconcile(records(rows)), FlagKind.MANUAL_CHECK_IN) == {"v0"}


# --- double-ups and time-critical calls ----------------------------------------------------


def test_double_up_with_one_carer_logged() -> None:
    """A double-up group with one completed visit flags it; a full pair is fine."""
    rows = [
        visit("pair_a", group="g1"),
        visit("pair_b", carer="c2", group="g1"),
        visit("alone", start=later(300), group="g2"),
        visit("partner_missed", carer="c2", start=later(300), group="g2", status="missed"),
    ]
    result = reconcile(records(rows))
    assert flagged(result, FlagKind.DOUBLE_UP_SINGLE_CARER) == {"alone"}


def test_call_needing_two_carers_with_one_visit() -> None:
    """A two-carer call logged by one carer without a group is flagged for that day only."""
    rows = [
        visit("mon", call="call1"),
        visit("tue_a", call="call1", start=later(24 * 60)),
        visit("tue_b", call="call1", carer="c2", start=later(24 * 60)),
    ]
    result = reconcile(records(rows, calls=[call("call1", carers=2)]))
    assert flagged(result, FlagKind.DOUBLE_UP_SINGLE_CARER) == {"mon"}


@pytest.mark.parametrize(
    ("late_min", "critical", "is_flagged"),
    [(29, True, False), (31, True, True), (-31, True, True), (45, False, False)],
)
def test_late_or_early_time_critical_call(
    late_min: float, critical: bool, is_flagged: bool
) -> None:
    """Time-critical calls starting over 30 min late or early are flagged; others never."""
    rows = [visit("v1", call="call1", late_min=late_min)]
    result = reconcile(records(rows, calls=[call("call1", critical=critical)]))
    assert (flagged(result, FlagKind.LATE_TIME_CRITICAL) == {"v1"}) is is_flagged
    assert (result.visit_outcome["outcome"].iloc[0] == "flagged") is is_flagged


# --- configuration and period --------------------------------------------------------------


def test_tolerances_change_the_flags() -> None:
    """Tightening or loosening each tolerance moves the same records in or out."""
    where = offset_point(*HOMES["su1"], north_m=450)
    rows = [
        visit("far", check_in_at=where),
        visit("short", start=later(240), ecm_min=27),
        visit("late", start=later(480), call="call1", late_min=20),
        visit("billed", start=later(720), billed_min=33),
    ]
    frames = records(rows, calls=[call("call1", critical=True)])
    default = AuditTolerances()
    assert reconcile(frames, tolerances=default).audit_flag.empty
    strict = replace(
        default,
        far_check_in_m=400,
        short_call_ratio=0.95,
        late_time_critical_min=15,
        billed_above_verified_min=2,
    )
    assert {r for _, r in all_flags(reconcile(frames, tolerances=strict))} == {
        "far",
        "short",
        "late",
        "billed",
    }


def test_period_audits_only_its_visits_but_judges_pairs_across_the_edge() -> None:
    """Visits outside the period are left out; a note just outside still matches a visit inside."""
    rows = [
        visit("sept", start=datetime(2026, 9, 30, 23, 50)),
        visit("oct", start=datetime(2026, 10, 1, 0, 10), su="su2"),
    ]
    notes = [note_for(rows[0], "n-sept"), note_for(rows[1], "n-oct", shift_min=-15)]
    result = reconcile(records(rows, notes), period=("2026-10-01", "2026-11-01"))
    assert result.visit_outcome["visit_id"].tolist() == ["oct"]
    assert result.visit_outcome["matched_note_id"].tolist() == ["n-oct"]
    assert set(result.audit_flag["record_id"]) <= {"oct"}
    assert flagged(result, FlagKind.CARER_IN_TWO_PLACES) == {"oct"}


def one_visit_with_note(**visit_args: object) -> dict[str, pd.DataFrame]:
    """A single visit of su1 with its faithful note."""
    return records([visit("v1", **visit_args)])  # type: ignore[arg-type]


def note_shifted(shift_min: float = 0, minutes: float | None = None) -> dict[str, pd.DataFrame]:
    """A single visit whose note starts ``shift_min`` later or lasts ``minutes``."""
    row = visit("v1")
    return records([row], [note_for(row, "n1", shift_min=shift_min, minutes=minutes)])


def pair_apart(su: str, gap_min: float) -> dict[str, pd.DataFrame]:
    """Two visits of carer c1: su1 07:00-07:30, then ``su`` starting ``gap_min`` after."""
    return records([visit("v0", su="su1"), visit("v1", su=su, start=later(30 + gap_min))])


TOLERANCE_CASES = {
    "short_call_ratio": (lambda: one_visit_with_note(ecm_min=27), 0.95, FlagKind.SHORT_CALL),
    "short_call_min": (
        lambda: one_visit_with_note(planned_min=120, ecm_min=106),
        10.0,
        FlagKind.SHORT_CALL,
    ),
    "duration_mismatch_min": (lambda: note_shifted(minutes=38), 5.0, FlagKind.DURATION_MISMATCH),
    "note_match_window_min": (
        lambda: note_shifted(shift_min=80),
        60.0,
        FlagKind.VISIT_WITHOUT_NOTE,
    ),
    "overlap_min": (lambda: pair_apart("su2", -4), 3.0, FlagKind.CARER_IN_TWO_PLACES),
    "travel_slack_min": (
        lambda: pair_apart("su3", travel_min_su1_to_su3() - 1),
        0.5,
        FlagKind.TRAVEL_INFEASIBLE,
    ),
    "far_check_in_m": (
        lambda: one_visit_with_note(check_in_at=offset_point(*HOMES["su1"], north_m=450)),
        400.0,
        FlagKind.CHECK_IN_FAR_FROM_HOME,
    ),
    "billed_above_verified_min": (
        lambda: one_visit_with_note(billed_min=33),
        2.0,
        FlagKind.BILLED_ABOVE_VERIFIED,
    ),
    "late_time_critical_min": (
        lambda: records(
            [visit("v1", call="call1", late_min=20)], calls=[call("call1", critical=True)]
        ),
        15.0,
        FlagKind.LATE_TIME_CRITICAL,
    ),
}


@pytest.mark.parametrize("name", list(TOLERANCE_CASES))
def test_each_tolerance_moves_its_rule(name: str) -> None:
    """Each AuditTolerances field is honoured: tightening it raises the flag it governs."""
    make, tightened, kind = TOLERANCE_CASES[name]
    frames = make()
    assert flagged(reconcile(frames), kind) == set()
    strict = replace(AuditTolerances(), **{name: tightened})
    assert "v1" in flagged(reconcile(frames, tolerances=strict), kind)


def test_same_home_overlap_does_not_hide_an_overlap_elsewhere() -> None:
    """Every overlapping pair at different homes is found, even behind a same-home duplicate."""
    rows = [
        visit("dup_long", su="su1", start=later(-10), ecm_min=35),  # 06:50-07:25
        visit("dup_short", su="su1", ecm_min=20),  # 07:00-07:20, same home
        visit("elsewhere", su="su2", start=later(10)),  # 07:10-07:40
    ]
    result = reconcile(records(rows))
    assert flagged(result, FlagKind.CARER_IN_TWO_PLACES) == {"dup_long", "dup_short", "elsewhere"}
