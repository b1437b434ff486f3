"""Storage: ORM models, engines, the Alembic schema, bulk load and read, audit outputs."""

# The service's tables (users, API tokens, access log, jobs) share the one Base; importing them
# here registers them for Alembic and for schema comparisons.
from data.storage import access as access
from data.storage import jobs as jobs
from data.storage._audit import latest_audit_run, read_audit_table, write_audit_run
from data.storage._backup import backup_database, restore_database
from data.storage._base import Base
from data.storage._bulk import (
    ExistingImport,
    StagedImport,
    record_failed_import,
    record_table,
    staged_import,
)
from data.storage._digest import database_digest, table_digest
from data.storage._engine import (
    create_engine_for,
    current_revision,
    downgrade_schema,
    is_postgresql,
    migration_heads,
    migration_revisions,
    schema_differences,
    upgrade_schema,
)
from data.storage._models import (
    AUDIT_MODELS,
    POSTGIS_POINTS,
    RECORD_MODELS,
    AuditFlag,
    AuditProviderMonth,
    AuditReviewPriority,
    AuditRun,
    AuditVisitOutcome,
    Call,
    CareNote,
    Carer,
    EcmVisit,
    ImportBatch,
    Package,
    Provider,
    ServiceUser,
)
from data.storage._records import PERIOD_COLUMNS, read_records, record_dtypes
from data.storage._repositories import AuditRunRepository, ImportBatchRepository

__all__ = [
    "AUDIT_MODELS",
    "PERIOD_COLUMNS",
    "POSTGIS_POINTS",
    "RECORD_MODELS",
    "AuditFlag",
    "AuditProviderMonth",
    "AuditReviewPriority",
    "AuditRun",
    "AuditRunRepository",
    "AuditVisitOutcome",
    "Base",
    "Call",
    "CareNote",
    "Carer",
    "EcmVisit",
    "ExistingImport",
    "ImportBatch",
    "ImportBatchRepository",
    "Package",
    "Provider",
    "ServiceUser",
    "StagedImport",
    "backup_database",
    "create_engine_for",
    "current_revision",
    "database_digest",
    "downgrade_schema",
    "is_postgresql",
    "latest_audit_run",
    "migration_heads",
    "migration_revisions",
    "read_audit_table",
    "read_records",
    "record_dtypes",
    "record_failed_import",
    "record_table",
    "restore_database",
    "schema_differences",
    "staged_import",
    "table_digest",
    "upgrade_schema",
    "write_audit_run",
]
