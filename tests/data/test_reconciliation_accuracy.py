"""The audit against the synthetic generator's ground truth: every flag kind, small scale."""

from __future__ import annotations

import pandas as pd
import pytest

from data.reconciliation import reconcile
from data.records import AUDIT_OUTPUT_COLUMNS, FlagKind

synthetic = pytest.importorskip("data.synthetic")

MIN_PRECISION = MIN_RECALL = 0.95


def flag_keys(frame: pd.DataFrame, kind: FlagKind) -> set[tuple[str, str]]:
    """(record_kind, record_id) of the flags of ``kind`` in a flag or ground-truth frame."""
    rows = frame.loc[frame["flag_kind"] == kind.value, ["record_kind", "record_id"]]
    return set(zip(rows["record_kind"].astype(str), rows["record_id"].astype(str), strict=True))


@pytest.fixture(scope="module", params=[1, 2])
def small_county_week(request: pytest.FixtureRequest) -> tuple[object, object]:
    """A small synthetic dataset (60 people, one week) and its audit."""
    dataset = synthetic.generate(synthetic.SyntheticConfig.small(seed=request.param))
    return dataset, reconcile(dataset.frames)


@pytest.mark.parametrize("kind", list(FlagKind), ids=lambda k: k.value)
def test_precision_and_recall_per_flag_kind(small_county_week, kind: FlagKind) -> None:  # type: ignore[no-untyped-def]
    """Each flag kind is found with precision and recall >= 0.95 against the ground truth."""
    dataset, result = small_county_week
    truth = flag_keys(dataset.ground_truth, kind)
    found = flag_keys(result.audit_flag, kind)
    if not truth:  # a seed may offer nothing eligible (e.g. no double-ups): then no false alarm
        assert not found, sorted(found)[:5]
        return
    true_positives = len(truth & found)
    assert true_positives / max(len(found), 1) >= MIN_PRECISION, sorted(found - truth)[:5]
    assert true_positives / len(truth) >= MIN_RECALL, sorted(truth - found)[:5]


def test_synthetic_audit_outputs_follow_the_contract(small_county_week) -> None:  # type: ignore[no-untyped-def]
    """On generated data every frame has the contract's columns and one outcome per visit."""
    dataset, result = small_county_week
    for name, frame in result.frames().items():
        assert tuple(frame.columns) == AUDIT_OUTPUT_COLUMNS[name]
    outcome = result.visit_outcome
    assert len(outcome) == len(dataset.frames["ecm_visit"])
    assert outcome["visit_id"].is_unique
    assert set(outcome["outcome"]) <= {"verified", "flagged", "missed", "cancelled"}
    assert not result.review_priority.empty
    assert result.review_priority["rank"].tolist() == list(
        range(1, len(result.review_priority) + 1)
    )


def test_note_text_never_reaches_the_audit(small_county_week) -> None:  # type: ignore[no-untyped-def]
    """No care-note text appears in any evidence sentence."""
    dataset, result = small_county_week
    texts = set(dataset.frames["care_note"]["text"].dropna().astype(str))
    evidence = set(result.audit_flag["evidence"])
    assert not any(t and t in e for t in texts for e in evidence)


def test_frames_agree_with_each_other(small_county_week) -> None:  # type: ignore[no-untyped-def]
    """Visit flag kinds match the flag rows; provider months sum the visits; £ adds up."""
    _, result = small_county_week
    outcome, flags = result.visit_outcome, result.audit_flag
    on_visits = flags.loc[flags["record_kind"] == "ecm_visit"]
    by_visit = on_visits.groupby("record_id")["flag_kind"].agg(lambda k: set(k))
    listed = outcome.set_index("visit_id")["flag_kinds"].map(lambda s: set(s.split(";")) - {""})
    assert listed[listed.map(bool)].to_dict() == by_visit.to_dict()
    assert ((outcome["outcome"] == "flagged") <= outcome["flag_kinds"].ne("")).all()
    assert (
        outcome["variance_gbp"] - (outcome["billed_gbp"] - outcome["verified_gbp"])
    ).abs().max() < 0.006
    months = result.provider_month
    assert months["visits"].sum() == len(outcome)
    assert months["billed_gbp"].sum() == pytest.approx(
        outcome["billed_gbp"].sum(), abs=0.01 * len(months)
    )
    assert months["verified_min"].sum() == pytest.approx(
        outcome["verified_min"].sum(), abs=0.1 * len(months)
    )
    assert (months["paying_on_actuals_gbp"] == months["verified_gbp"]).all()


def test_text_only_frames_give_the_same_flags(small_county_week, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Frames read from the CSV files as plain text (no dtypes) give the same flags."""
    dataset, result = small_county_week
    paths = synthetic.write_dataset(dataset, tmp_path)
    frames = {
        kind: pd.read_csv(paths[kind], dtype=str, keep_default_na=False) for kind in dataset.frames
    }
    again = reconcile(frames)
    expected = result.audit_flag.drop(columns="evidence").reset_index(drop=True)
    got = again.audit_flag.drop(columns="evidence").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
