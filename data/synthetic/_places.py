"""Real Cambridgeshire and Peterborough towns and villages where synthetic people live.

Centroids are approximate real coordinates (WGS84); populations are rounded recent figures
and only weight where people live. Outward codes are the real postcode districts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DISTRICTS = (
    "Cambridge",
    "East Cambridgeshire",
    "Fenland",
    "Huntingdonshire",
    "South Cambridgeshire",
    "Peterborough",
)

# Districts sharing a border (providers often cross into a neighbouring district).
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "Cambridge": ("South Cambridgeshire",),
    "South Cambridgeshire": ("Cambridge", "East Cambridgeshire", "Huntingdonshire"),
    "East Cambridgeshire": ("South Cambridgeshire", "Fenland", "Huntingdonshire"),
    "Huntingdonshire": ("South Cambridgeshire", "East Cambridgeshire", "Fenland", "Peterborough"),
    "Fenland": ("East Cambridgeshire", "Huntingdonshire", "Peterborough"),
    "Peterborough": ("Huntingdonshire", "Fenland"),
}

# name, lat, lon, population, district, outward code, is_city (walkable rounds exist)
_TOWNS: tuple[tuple[str, float, float, int, str, str, bool], ...] = (
    ("Cambridge", 52.2053, 0.1218, 145_700, "Cambridge", "CB1", True),
    ("Peterborough", 52.5735, -0.2430, 150_000, "Peterborough", "PE1", True),
    ("Werrington", 52.6097, -0.2822, 13_000, "Peterborough", "PE4", True),
    ("Orton", 52.5503, -0.2985, 22_000, "Peterborough", "PE2", True),
    ("Hampton", 52.5348, -0.2616, 15_000, "Peterborough", "PE7", True),
    ("Thorney", 52.6200, -0.1070, 2_000, "Peterborough", "PE6", False),
    ("Eye", 52.6090, -0.1920, 5_000, "Peterborough", "PE6", False),
    ("Glinton", 52.6390, -0.2990, 2_000, "Peterborough", "PE6", False),
    ("Huntingdon", 52.3307, -0.1854, 25_000, "Huntingdonshire", "PE29", False),
    ("St Neots", 52.2297, -0.2696, 33_000, "Huntingdonshire", "PE19", False),
    ("St Ives", 52.3331, -0.0747, 17_000, "Huntingdonshire", "PE27", False),
    ("Ramsey", 52.4496, -0.1087, 8_500, "Huntingdonshire", "PE26", False),
    ("Yaxley", 52.5130, -0.2600, 9_200, "Huntingdonshire", "PE7", False),
    ("Godmanchester", 52.3197, -0.1747, 6_700, "Huntingdonshire", "PE29", False),
    ("Sawtry", 52.4380, -0.2830, 6_500, "Huntingdonshire", "PE28", False),
    ("Somersham", 52.3840, 0.0020, 4_000, "Huntingdonshire", "PE28", False),
    ("Warboys", 52.4030, -0.0800, 4_000, "Huntingdonshire", "PE28", False),
    ("Buckden", 52.2940, -0.2500, 3_000, "Huntingdonshire", "PE19", False),
    ("Kimbolton", 52.2970, -0.3880, 1_500, "Huntingdonshire", "PE28", False),
    ("Ely", 52.3990, 0.2624, 20_000, "East Cambridgeshire", "CB7", False),
    ("Soham", 52.3331, 0.3361, 11_000, "East Cambridgeshire", "CB7", False),
    ("Littleport", 52.4573, 0.3080, 9_000, "East Cambridgeshire", "CB6", False),
    ("Burwell", 52.2755, 0.3276, 6_000, "East Cambridgeshire", "CB25", False),
    ("Sutton", 52.3863, 0.1171, 4_000, "East Cambridgeshire", "CB6", False),
    ("Haddenham", 52.3582, 0.1480, 3_400, "East Cambridgeshire", "CB6", False),
    ("Bottisham", 52.2219, 0.2601, 2_000, "East Cambridgeshire", "CB25", False),
    ("Wisbech", 52.6661, 0.1590, 31_000, "Fenland", "PE13", False),
    ("March", 52.5513, 0.0884, 22_000, "Fenland", "PE15", False),
    ("Whittlesey", 52.5576, -0.1300, 16_000, "Fenland", "PE7", False),
    ("Chatteris", 52.4560, 0.0530, 10_500, "Fenland", "PE16", False),
    ("Doddington", 52.4980, 0.0610, 2_000, "Fenland", "PE15", False),
    ("Manea", 52.4990, 0.1790, 1_600, "Fenland", "PE15", False),
    ("Sawston", 52.1245, 0.1719, 7_000, "South Cambridgeshire", "CB22", False),
    ("Cambourne", 52.2196, -0.0675, 12_000, "South Cambridgeshire", "CB23", False),
    ("Histon", 52.2520, 0.1050, 9_000, "South Cambridgeshire", "CB24", False),
    ("Cottenham", 52.2858, 0.1244, 6_000, "South Cambridgeshire", "CB24", False),
    ("Linton", 52.0967, 0.2775, 4_600, "South Cambridgeshire", "CB21", False),
    ("Melbourn", 52.0836, 0.0190, 4_700, "South Cambridgeshire", "SG8", False),
    ("Papworth Everard", 52.2490, -0.1180, 4_000, "South Cambridgeshire", "CB23", False),
    ("Great Shelford", 52.1480, 0.1380, 4_000, "South Cambridgeshire", "CB22", False),
    ("Waterbeach", 52.2650, 0.1910, 5_000, "South Cambridgeshire", "CB25", False),
    ("Bar Hill", 52.2520, 0.0210, 4_000, "South Cambridgeshire", "CB23", False),
    ("Girton", 52.2430, 0.0860, 4_500, "South Cambridgeshire", "CB3", False),
    ("Fulbourn", 52.1810, 0.2230, 4_800, "South Cambridgeshire", "CB21", False),
    ("Comberton", 52.1880, 0.0190, 2_400, "South Cambridgeshire", "CB23", False),
)


def towns(districts: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per town: name, lat, lon, population, district, outward, is_city, radius_m, weight.

    ``districts`` keeps only towns in those districts (all when empty).
    """
    frame = pd.DataFrame(
        _TOWNS, columns=["name", "lat", "lon", "population", "district", "outward", "is_city"]
    )
    if districts:
        frame = frame[frame["district"].isin(districts)].reset_index(drop=True)
    # Built-up radius grows with the square root of population (villages ~0.8 km, Cambridge ~4 km).
    frame["radius_m"] = 400.0 + 900.0 * np.sqrt(frame["population"] / 10_000.0)
    frame["weight"] = frame["population"] / frame["population"].sum()
    return frame


def offset_m(
    lat: np.ndarray, lon: np.ndarray, north_m: np.ndarray, east_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by metres north and east (small offsets, equirectangular)."""
    lat2 = lat + north_m / 111_320.0
    lon2 = lon + east_m / (111_320.0 * np.cos(np.radians(lat)))
    return lat2, lon2
