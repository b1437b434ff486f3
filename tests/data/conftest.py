"""Tiny named record sets written as real export files, shared by storage and ingestion tests."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from data.records import RECORD_KINDS

# Two providers serving the same street, one carer each, two people, one call each.
TWO_PROVIDERS_SAME_STREET: dict[str, list[dict[str, str]]] = {
    "provider": [
        {
            "provider_id": "P1",
            "name": "Fenland Care",
            "contract_type": "framework",
            "rate_gbp_per_hour": "23.26",
            "base_lat": "52.57",
            "base_lon": "-0.24",
        },
        {
            "provider_id": "P2",
            "name": "Nene Homecare",
            "contract_type": "spot",
            "rate_gbp_per_hour": "28.53",
            "base_lat": "",
            "base_lon": "",
        },
    ],
    "carer": [
        {
            "carer_id": "C1",
            "provider_id": "P1",
            "start_lat": "52.58",
            "start_lon": "-0.25",
            "working_weekdays": "mon;tue;wed",
            "shift_start": "07:00",
            "shift_end": "15:00",
            "contracted_hours_per_week": "30",
            "skills": "dementia;hoist",
            "gender": "female",
            "travel_mode": "car",
        },
        {
            "carer_id": "C2",
            "provider_id": "P2",
            "start_lat": "52.59",
            "start_lon": "-0.26",
            "working_weekdays": "thu;fri",
            "shift_start": "08:00:00",
            "shift_end": "16:30",
            "contracted_hours_per_week": "20.5",
            "skills": "",
            "gender": "male",
            "travel_mode": "walk",
        },
    ],
    "service_user": [
        {
            "service_user_id": "S1",
            "lat": "52.571",
            "lon": "-0.241",
            "postcode": "PE1 1AA",
            "area": "Peterborough",
            "status": "long_term",
            "hospital_discharge_date": "2026-09-20",
            "required_skills": "dementia",
            "carer_gender_preference": "female",
        },
        {
            "service_user_id": "S2",
            "lat": "52.5712",
            "lon": "-0.2412",
            "postcode": "",
            "area": "Peterborough",
            "status": "waiting",
            "hospital_discharge_date": "",
            "required_skills": "",
            "carer_gender_preference": "",
        },
    ],
    "package": [
        {
            "package_id": "K1",
            "service_user_id": "S1",
            "provider_id": "P1",
            "start_date": "2026-09-21",
            "end_date": "",
            "rate_gbp_per_hour": "23.26",
        },
        {
            "package_id": "K2",
            "service_user_id": "S2",
            "provider_id": "",
            "start_date": "2026-10-01",
            "end_date": "2026-12-31",
            "rate_gbp_per_hour": "28.53",
        },
    ],
    "call": [
        {
            "call_id": "CL1",
            "package_id": "K1",
            "weekdays": "mon;tue;wed;thu;fri;sat;sun",
            "window_start": "07:00",
            "window_end": "09:00",
            "duration_min": "30",
            "carers_required": "1",
            "is_time_critical": "true",
        },
        {
            "call_id": "CL2",
            "package_id": "K2",
            "weekdays": "mon",
            "window_start": "12:00",
            "window_end": "13:00",
            "duration_min": "45",
            "carers_required": "2",
            "is_time_critical": "",
        },
    ],
    "ecm_visit": [
        {
            "visit_id": "V1",
            "provider_id": "P1",
            "service_user_id": "S1",
            "carer_id": "C1",
            "call_id": "CL1",
            "planned_start": "2026-10-05 07:30:00",
            "planned_duration_min": "30",
            "check_in": "2026-10-05 07:34:00",
            "check_out": "2026-10-05 08:01:00",
            "method": "app",
            "check_in_lat": "52.5711",
            "check_in_lon": "-0.2411",
            "double_up_group": "",
            "billed_min": "30",
            "status": "completed",
        },
        {
            "visit_id": "V2",
            "provider_id": "P2",
            "service_user_id": "S2",
            "carer_id": "C2",
            "call_id": "",
            "planned_start": "2026-11-02 12:00:00",
            "planned_duration_min": "45",
            "check_in": "",
            "check_out": "",
            "method": "",
            "check_in_lat": "",
            "check_in_lon": "",
            "double_up_group": "D1",
            "billed_min": "0",
            "status": "missed",
        },
    ],
    "care_note": [
        {
            "note_id": "N1",
            "service_user_id": "S1",
            "carer_id": "C1",
            "written_at": "2026-10-05 08:05:00",
            "visit_start": "2026-10-05 07:35:00",
            "visit_end": "2026-10-05 08:00:00",
            "tasks": "meds;breakfast",
            "text": "Private: took medication, ate well.",
        },
    ],
}


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8") -> Path:
    """Write rows as a CSV export with the first row's keys as header."""
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


FILE_NAMES = {kind: f"{kind}s.csv" for kind in RECORD_KINDS}


@pytest.fixture
def csv_export() -> Callable[..., Path]:
    """The function writing rows as a CSV export (see ``write_csv``)."""
    return write_csv


@pytest.fixture
def two_providers_same_street() -> dict[str, list[dict[str, str]]]:
    """Every record kind, two of each (one care note), consistent references."""
    return {kind: [dict(r) for r in rows] for kind, rows in TWO_PROVIDERS_SAME_STREET.items()}


@pytest.fixture
def export_dir(tmp_path: Path, two_providers_same_street) -> Path:
    """The tiny record set written as one CSV per kind."""
    folder = tmp_path / "export"
    folder.mkdir()
    for kind, rows in two_providers_same_street.items():
        write_csv(folder / FILE_NAMES[kind], rows)
    return folder


@pytest.fixture
def load_kinds(export_dir: Path) -> Callable:
    """Ingest the tiny record set's files for the given kinds, in load order."""
    from data.ingestion import ingest_file
    from data.records import LOAD_ORDER

    def load(engine, kinds=LOAD_ORDER):
        return {
            k: ingest_file(engine, export_dir / FILE_NAMES[k], kind=k)
            for k in LOAD_ORDER
            if k in kinds
        }

    return load
