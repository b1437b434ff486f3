"""data package."""

from data import synthetic as synthetic
from data.ingestion import ColumnMapping as ColumnMapping
from data.ingestion import ImportResult as ImportResult
from data.ingestion import ingest_file as ingest_file
from data.ingestion import load_mapping as load_mapping
from data.reconciliation import AuditResult as AuditResult
from data.reconciliation import ReviewWeights as ReviewWeights
from data.reconciliation import reconcile as reconcile
from data.storage import Base as Base
from data.storage import create_engine_for as create_engine_for
from data.storage import database_digest as database_digest
from data.storage import read_audit_table as read_audit_table
from data.storage import read_records as read_records
from data.storage import table_digest as table_digest
from data.storage import upgrade_schema as upgrade_schema
from data.storage import write_audit_run as write_audit_run
from data.synthetic import SyntheticConfig as SyntheticConfig
from data.synthetic import SyntheticDataset as SyntheticDataset
