"""Geography: road networks from local OSM files, travel matrices, geocoding, maps, overlap.

Stands alone: imports nothing from ``app``, ``solver`` or ``data``; never downloads.
"""

from geo.errors import (
    GeoError,
    NetworkFileError,
    NetworkFileNotFoundError,
    OutsideNetworkError,
    PostcodeError,
)
from geo.fallback import (
    FallbackFit,
    FallbackTravelModel,
    fallback_travel_matrix,
    fit_fallback_model,
    urban_nodes,
)
from geo.geocoding import PostcodeLookup, geocode, normalise_postcode
from geo.maps import service_users_map_html, service_users_map_png
from geo.matrix import TravelMatrix, pair_travel, travel_matrix
from geo.network import RoadNetwork, load_network
from geo.overlap import nearest_streets, overlap_hotspots
from geo.snapping import Snapped, snap_points
from geo.speeds import Mode, SpeedProfile, parse_maxspeed_kmh

__all__ = [
    "FallbackFit",
    "FallbackTravelModel",
    "GeoError",
    "Mode",
    "NetworkFileError",
    "NetworkFileNotFoundError",
    "OutsideNetworkError",
    "PostcodeError",
    "PostcodeLookup",
    "RoadNetwork",
    "Snapped",
    "SpeedProfile",
    "TravelMatrix",
    "fallback_travel_matrix",
    "fit_fallback_model",
    "geocode",
    "load_network",
    "nearest_streets",
    "normalise_postcode",
    "overlap_hotspots",
    "pair_travel",
    "parse_maxspeed_kmh",
    "service_users_map_html",
    "service_users_map_png",
    "snap_points",
    "travel_matrix",
    "urban_nodes",
]
