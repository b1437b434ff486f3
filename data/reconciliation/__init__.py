"""Reconciliation: ECM visits against care notes and bills, for contract managers."""

from data.reconciliation._reconcile import AuditResult, reconcile
from data.reconciliation._review_priority import ReviewWeights
from data.reconciliation.errors import MissingRecordsError, ReconciliationError

__all__ = [
    "AuditResult",
    "MissingRecordsError",
    "ReconciliationError",
    "ReviewWeights",
    "reconcile",
]
