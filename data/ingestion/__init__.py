"""Ingestion: read CSV/XLSX/JSON exports, map their columns, validate, store all or nothing."""

from data.ingestion._ingest import REFERENCES, ImportResult, Progress, detect_kind, ingest_file
from data.ingestion._mapping import ColumnMapping, load_mapping, mapping_from_dict

__all__ = [
    "REFERENCES",
    "ColumnMapping",
    "ImportResult",
    "Progress",
    "detect_kind",
    "ingest_file",
    "load_mapping",
    "mapping_from_dict",
]
