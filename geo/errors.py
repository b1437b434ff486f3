"""Errors raised by the geo layer. None carries an HTTP code; app maps them."""

from __future__ import annotations


class GeoError(Exception):
    """Base class for every error the geo layer raises on purpose."""


class NetworkFileNotFoundError(GeoError, FileNotFoundError):
    """The road network file does not exist."""


class NetworkFileError(GeoError, ValueError):
    """The road network file exists but cannot be read or holds no usable roads."""


class OutsideNetworkError(GeoError, ValueError):
    """One or more points lie too far from the road network to be snapped."""


class PostcodeError(GeoError, ValueError):
    """A postcode is malformed or absent from the lookup, or the lookup file is unusable."""
