"""Geocoding by lat/lon or UK postcode (geo/geocoding.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo import PostcodeError, PostcodeLookup, geocode, normalise_postcode

# ONSPD-like extract: 7-character pcd, the directory's 99.999999 "no grid reference" marker,
# extra columns that must be ignored, and a rural-urban class.
ONSPD_CSV = """pcd,pcd2,pcds,dointr,lat,long,ru11ind,oslaua
LE156AB ,LE15  6AB,LE15 6AB,199001,52.670700,-0.727500,C1,E06000017
LE159PY ,LE15  9PY,LE15 9PY,199001,52.588600,-0.723500,C1,E06000017
LE158TX ,LE15  8TX,LE15 8TX,199001,52.650000,-0.600000,E1,E06000017
PE9 3AB ,PE9   3AB,PE9 3AB,199001,99.999999,0.000000,,E06000017
"""


@pytest.fixture
def lookup(tmp_path) -> PostcodeLookup:
    """A four-postcode lookup written to disk in the ONSPD layout."""
    path = tmp_path / "onspd_extract.csv"
    path.write_text(ONSPD_CSV)
    return PostcodeLookup.from_csv(path)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("le156ab", "LE15 6AB"),
        ("  LE15   6AB ", "LE15 6AB"),
        ("pe93ab", "PE9 3AB"),
        ("EC1A1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_normalise_postcode(raw: str, expected: str) -> None:
    """Case and spacing are normalised to outward, one space, inward."""
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "LE15", "LE15 6A", "1E15 6AB", "LE15 6CB", "ABC 123", "LE156ABX"]
)
def test_malformed_postcode_is_named(raw: str) -> None:
    """Strings not shaped like a UK postcode raise PostcodeError quoting them."""
    with pytest.raises(PostcodeError, match="Malformed UK postcode"):
        normalise_postcode(raw)
    with pytest.raises(PostcodeError):
        normalise_postcode(None)


def test_lookup_reads_onspd_layout(lookup: PostcodeLookup) -> None:
    """pcds keys are normalised; the 99.999999 marker becomes no position; RUC sets is_urban."""
    assert len(lookup) == 4
    row = lookup.table.loc["LE15 6AB"]
    assert row["lat"] == pytest.approx(52.6707) and row["lon"] == pytest.approx(-0.7275)
    assert bool(row["is_urban"]) is True
    assert bool(lookup.table.loc["LE15 8TX", "is_urban"]) is False
    assert np.isnan(lookup.table.loc["PE9 3AB", "lat"])


def test_lookup_with_pcd_only(tmp_path) -> None:
    """A file with only the 7-character pcd column still works."""
    path = tmp_path / "pcd_only.csv"
    path.write_text("PCD,LAT,LONG\nLE156AB ,52.6707,-0.7275\n")
    assert PostcodeLookup.from_csv(path).table.loc["LE15 6AB", "lat"] == pytest.approx(52.6707)


def test_lookup_missing_columns_named(tmp_path) -> None:
    """A file without lat/long or a postcode column raises naming what is missing."""
    path = tmp_path / "wrong.csv"
    path.write_text("postcode,latitude,longitude\nLE15 6AB,52.67,-0.72\n")
    with pytest.raises(PostcodeError, match=r"wrong\.csv.*pcds or pcd, lat, long"):
        PostcodeLookup.from_csv(path)
    with pytest.raises(PostcodeError, match="not found"):
        PostcodeLookup.from_csv(tmp_path / "absent.csv")


def test_geocode_mixes_latlon_and_postcodes(lookup: PostcodeLookup) -> None:
    """Given lat/lon is kept as is; rows without it are located by postcode."""
    frame = pd.DataFrame(
        {
            "service_user_id": ["su1", "su2", "su3"],
            "postcode": ["LE15 6AB", "le159py", "LE15 8TX"],
            "lat": [52.60, np.nan, np.nan],
            "lon": [-0.70, np.nan, np.nan],
        },
        index=[10, 11, 12],
    )
    out = geocode(frame, lookup)
    assert out.index.tolist() == [10, 11, 12]
    assert out["lat"].tolist() == pytest.approx([52.60, 52.5886, 52.65])
    assert out["geocode_source"].tolist() == ["latlon", "postcode", "postcode"]
    assert out["postcode"].tolist() == ["LE15 6AB", "LE15 9PY", "LE15 8TX"]
    assert out["is_urban"].tolist()[1:] == [True, False]


def test_geocode_names_every_bad_row(lookup: PostcodeLookup) -> None:
    """Malformed, unknown and position-less postcodes and bad coordinates are all reported."""
    frame = pd.DataFrame(
        {
            "postcode": ["LE15 6AB", "XX", "LE15 1ZZ", "PE9 3AB", None, None],
            "lat": [np.nan, np.nan, np.nan, np.nan, 0.0, 95.0],
            "lon": [np.nan, np.nan, np.nan, np.nan, 0.0, -0.7],
        },
    )
    with pytest.raises(PostcodeError) as info:
        geocode(frame, lookup)
    message = str(info.value)
    assert message.startswith("5 of 6 records cannot be located")
    assert "row 1: malformed postcode XX" in message
    assert "row 2: postcode LE15 1ZZ not in lookup" in message and "onspd_extract.csv" in message
    assert "row 3: postcode PE9 3AB has no position" in message
    assert "row 4: lat/lon is (0, 0)" in message
    assert "row 5: lat/lon out of range" in message


def test_geocode_mark_keeps_rows_without_placing_them(lookup: PostcodeLookup) -> None:
    """on_error='mark' keeps every row; failures get NaN (never 0,0) and a reason."""
    out = geocode(["LE15 6AB", "LE15 1ZZ", "nonsense"], lookup, on_error="mark")
    assert len(out) == 3
    assert out["lat"].isna().tolist() == [False, True, True]
    assert (out["lat"].fillna(1) != 0).all()
    assert out["geocode_error"].isna().tolist() == [True, False, False]


def test_geocode_needs_lookup_for_postcodes() -> None:
    """Postcodes without a lookup table are an error, not silently skipped."""
    with pytest.raises(PostcodeError, match="need a postcode lookup"):
        geocode(["LE15 6AB"])
    out = geocode(pd.DataFrame({"lat": [52.6], "lon": [-0.7]}))
    assert out["geocode_source"].tolist() == ["latlon"]


_OUTWARD = st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]?", fullmatch=True)
_INWARD = st.from_regex(r"[0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True)


@given(_OUTWARD, _INWARD, st.text(" \t", max_size=3), st.booleans())
def test_normalise_any_spacing_and_case(outward: str, inward: str, gap: str, lower: bool) -> None:
    """Any spacing or case of a well-formed postcode normalises to 'OUTWARD INWARD', idempotently."""
    raw = f" {outward}{gap}{inward} "
    out = normalise_postcode(raw.lower() if lower else raw)
    assert out == f"{outward} {inward}"
    assert normalise_postcode(out) == out
