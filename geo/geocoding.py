"""Locate service users: latitude/longitude as given, or UK postcodes via a user lookup table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from geo.errors import PostcodeError

_COMPACT_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_SHOW_ROWS = 10
# ONS Postcode Directory marks postcodes without a grid reference with these.
_ONSPD_NO_LAT = 99.999999
# ONS rural-urban classification codes that mean urban (2011 England & Wales, Scotland).
_URBAN_RU_CODES = frozenset({"A1", "B1", "C1", "C2", "1", "2"})


def normalise_postcode(postcode: object) -> str:
    """Validate a UK postcode and return it upper-case with one space: ``"LE15 6AB"``.

    Parameters
    ----------
    postcode
        Text in any case and spacing (``"le156ab"``, ``" LE15  6AB "``).

    Returns
    -------
    str
        Outward code, one space, inward code.

    Raises
    ------
    PostcodeError
        Not a string, or not shaped like a UK postcode (the message quotes it).
    """
    if not isinstance(postcode, str):
        raise PostcodeError(f"Expected a postcode string, got {postcode!r}.")
    compact = re.sub(r"\s+", "", postcode).upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _COMPACT_RE.match(compact)
    if match is None:
        raise PostcodeError(f"Malformed UK postcode {postcode!r}.")
    return f"{match.group(1)} {match.group(2)}"


def _normalise_series(values: pd.Series) -> pd.Series:
    """Vectorised ``normalise_postcode``; malformed entries become NA."""
    compact = values.astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    parts = compact.str.extract(_COMPACT_RE)
    out = (parts[0] + " " + parts[1]).astype("string")
    return out.mask(compact == "GIR0AA", "GIR 0AA")


@dataclass(frozen=True, eq=False)
class PostcodeLookup:
    """Postcode -> position table in the ONS Postcode Directory (ONSPD) layout.

    Attributes
    ----------
    table
        Indexed by normalised postcode; columns ``lat``, ``lon`` (degrees, NaN where the
        directory has no grid reference) and ``is_urban`` (nullable boolean from the
        rural-urban classification when the file has one).
    source
        Path it was read from.
    """

    table: pd.DataFrame
    source: str

    @classmethod
    def from_csv(cls, path: str | Path) -> PostcodeLookup:
        """Read a lookup CSV in the ONSPD layout.

        Parameters
        ----------
        path
            CSV with a postcode column ``pcds`` (``"LE15 6AB"``) or ``pcd`` (7-character
            form), and ``lat`` and ``long`` in degrees; optional ``ru11ind``/``ru21ind``.
            Column names are matched case-insensitively; other columns are ignored.

        Returns
        -------
        PostcodeLookup

        Raises
        ------
        PostcodeError
            File missing or unreadable, or required columns absent (the message lists the
            columns found).
        """
        path = Path(path)
        if not path.is_file():
            raise PostcodeError(f"Postcode lookup file not found: {path}")
        wanted = {"pcds", "pcd", "lat", "long", "ru11ind", "ru21ind"}
        try:
            header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
            columns = {c.lower(): c for c in header if c.lower() in wanted}
            frame = pd.read_csv(
                path,
                usecols=list(columns.values()),
                dtype=str,
                encoding="utf-8-sig",
                keep_default_na=False,
            )
        except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise PostcodeError(f"{path}: not a readable postcode lookup CSV ({exc})") from exc
        key = "pcds" if "pcds" in columns else "pcd" if "pcd" in columns else None
        missing = [c for c in ("lat", "long") if c not in columns]
        if key is None or missing:
            need = ["pcds or pcd"] if key is None else []
            raise PostcodeError(
                f"{path}: postcode lookup needs columns {', '.join(need + missing)}; "
                f"found {', '.join(map(str, header))}"
            )
        frame = frame.rename(columns={v: k for k, v in columns.items()})
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        lon = pd.to_numeric(frame["long"], errors="coerce")
        no_position = (lat - _ONSPD_NO_LAT).abs().lt(1e-6) | lat.isna() | lon.isna()
        ru_col = "ru21ind" if "ru21ind" in columns else "ru11ind" if "ru11ind" in columns else None
        if ru_col is None:
            is_urban = pd.Series(pd.NA, index=frame.index, dtype="boolean")
        else:
            ru = frame[ru_col].str.strip().str.upper()
            is_urban = ru.isin(_URBAN_RU_CODES).astype("boolean").mask(ru == "", pd.NA)
        table = pd.DataFrame(
            {
                "postcode": _normalise_series(frame[key]),
                "lat": lat.mask(no_position).astype(float),
                "lon": lon.mask(no_position).astype(float),
                "is_urban": is_urban,
            }
        )
        table = table.dropna(subset=["postcode"]).drop_duplicates("postcode", keep="last")
        return cls(table=table.set_index("postcode"), source=str(path))

    def __len__(self) -> int:
        return len(self.table)


GEOCODE_COLUMNS = ("lat", "lon", "postcode", "geocode_source", "is_urban", "geocode_error")


def geocode(
    records: pd.DataFrame | Sequence[str],
    lookup: PostcodeLookup | None = None,
    *,
    postcode_col: str = "postcode",
    lat_col: str = "lat",
    lon_col: str = "lon",
    on_error: Literal["raise", "mark"] = "raise",
) -> pd.DataFrame:
    """Give every record a position: its own lat/lon if present, else its postcode's.

    Parameters
    ----------
    records
        A DataFrame with any of ``lat_col``/``lon_col`` (degrees) and ``postcode_col``, or
        a plain sequence of postcodes.
    lookup
        Postcode table; required when any record has to be located by postcode.
    postcode_col, lat_col, lon_col
        Column names in ``records``.
    on_error
        ``"raise"``: any unlocatable record raises. ``"mark"``: such records keep NaN
        lat/lon and a reason in ``geocode_error`` (never dropped, never placed at 0,0).

    Returns
    -------
    pandas.DataFrame
        A copy of ``records`` (same index and order) with ``lat``, ``lon``, ``postcode``
        (normalised; NA if none), ``geocode_source`` (``"latlon"`` | ``"postcode"`` | NA),
        ``is_urban`` (from the lookup, nullable) and ``geocode_error`` (NA when located).

    Raises
    ------
    PostcodeError
        With ``on_error="raise"``: malformed or unknown postcodes, postcodes without a
        position, records with neither, or out-of-range/half-given/(0, 0) coordinates;
        the message names every bad row (up to ten) by index label and value.
    """
    if on_error not in ("raise", "mark"):
        raise ValueError(f"Expected on_error in ('raise', 'mark'), got {on_error!r}.")
    frame = (
        records.copy()
        if isinstance(records, pd.DataFrame)
        else pd.DataFrame({postcode_col: list(records)})
    )
    n = len(frame)
    nan = pd.Series(np.nan, index=frame.index, dtype=float)
    lat_in = pd.to_numeric(frame[lat_col], errors="coerce") if lat_col in frame else nan
    lon_in = pd.to_numeric(frame[lon_col], errors="coerce") if lon_col in frame else nan
    raw_pc = frame[postcode_col] if postcode_col in frame else pd.Series(pd.NA, index=frame.index)
    raw_pc = raw_pc.astype("string").str.strip()
    raw_pc = raw_pc.mask(raw_pc == "")

    error = pd.Series(pd.NA, index=frame.index, dtype="string")
    has_lat, has_lon = lat_in.notna(), lon_in.notna()
    both = has_lat & has_lon
    error[has_lat ^ has_lon] = "only one of lat/lon given"
    bad_range = both & ((lat_in.abs() > 90) | (lon_in.abs() > 180))
    error[bad_range] = "lat/lon out of range"
    error[both & (lat_in == 0) & (lon_in == 0)] = "lat/lon is (0, 0), a missing-value placeholder"

    use_postcode = ~both & ~(has_lat ^ has_lon)
    norm = _normalise_series(raw_pc)
    error[use_postcode & raw_pc.isna()] = "no lat/lon and no postcode"
    malformed = use_postcode & raw_pc.notna() & norm.isna()
    error[malformed] = "malformed postcode " + raw_pc[malformed].fillna("")

    lat_out, lon_out = lat_in.where(both), lon_in.where(both)
    is_urban = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    to_find = use_postcode & norm.notna()
    if to_find.any():
        if lookup is None:
            raise PostcodeError(
                f"{int(to_find.sum())} of {n} records need a postcode lookup but none was given"
            )
        found = lookup.table.reindex(norm[to_find].to_numpy())
        found.index = frame.index[to_find.to_numpy()]
        unknown = found["lat"].isna() & ~norm[to_find].isin(lookup.table.index).to_numpy()
        no_pos = found["lat"].isna() & ~unknown
        error[unknown[unknown].index] = (
            "postcode " + norm[unknown[unknown].index] + f" not in lookup {lookup.source}"
        )
        error[no_pos[no_pos].index] = (
            "postcode " + norm[no_pos[no_pos].index] + " has no position in the lookup"
        )
        lat_out[found.index] = found["lat"]
        lon_out[found.index] = found["lon"]
        is_urban[found.index] = found["is_urban"]

    failed = error.notna()
    lat_out[failed] = np.nan
    lon_out[failed] = np.nan
    if on_error == "raise" and failed.any():
        bad = error[failed]
        shown = "; ".join(f"row {idx}: {msg}" for idx, msg in bad.iloc[:_SHOW_ROWS].items())
        more = f" (and {len(bad) - _SHOW_ROWS} more)" if len(bad) > _SHOW_ROWS else ""
        raise PostcodeError(f"{len(bad)} of {n} records cannot be located: {shown}{more}")

    source = pd.Series(pd.NA, index=frame.index, dtype="string")
    source[both & ~failed] = "latlon"
    source[use_postcode & ~failed] = "postcode"
    frame["lat"] = lat_out.astype(float)
    frame["lon"] = lon_out.astype(float)
    frame["postcode"] = norm
    frame["geocode_source"] = source
    frame["is_urban"] = is_urban
    frame["geocode_error"] = error
    return frame
