"""Ordering export files so references resolve."""

from pathlib import Path

from app.jobs.ingest import kind_from_file_name, ordered_files


def test_kind_from_generated_file_names():
    """Generated file names map to record kinds; others to None."""
    assert kind_from_file_name(Path("ecm_visits.csv")) == "ecm_visit"
    assert kind_from_file_name(Path("service_users.xlsx")) == "service_user"
    assert kind_from_file_name(Path("ground_truth.csv")) is None


def test_directory_expanded_in_load_order(tmp_path):
    """Providers load before carers before visits before notes; ground truth is skipped."""
    for name in (
        "care_notes.csv",
        "ecm_visits.csv",
        "providers.csv",
        "carers.csv",
        "ground_truth.csv",
        "manifest.json",
    ):
        (tmp_path / name).write_text("x\n")
    names = [p.name for p in ordered_files([tmp_path])]
    assert names == ["providers.csv", "carers.csv", "ecm_visits.csv", "care_notes.csv"]
