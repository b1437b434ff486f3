"""data package."""

from data.storage import Base as Base
from data.storage import create_engine_for as create_engine_for
from data.storage import upgrade_schema as upgrade_schema
from data.reconciliation import AuditResult as AuditResult
from data.reconciliation import ReviewWeights as ReviewWeights
from data.reconciliation import reconcile as reconcile
