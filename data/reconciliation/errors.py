"""Errors the reconciliation raises on purpose. None carries an HTTP code; app maps them."""

from __future__ import annotations

from data.errors import DataError


class ReconciliationError(DataError, ValueError):
    """The records handed to the audit cannot be reconciled as given."""


class MissingRecordsError(ReconciliationError, KeyError):
    """A required record kind, or a required column of one, is absent."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)
