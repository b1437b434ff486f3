"""Realistic, deterministic-by-seed domiciliary-care records with planted audit anomalies."""

from data.synthetic._ground_truth import GROUND_TRUTH_COLUMNS, evaluate_rules
from data.synthetic._writer import file_name, write_dataset
from data.synthetic.config import DEFAULT_ANOMALY_RATES, SyntheticConfig
from data.synthetic.generator import SyntheticDataset, generate

__all__ = [
    "DEFAULT_ANOMALY_RATES",
    "GROUND_TRUTH_COLUMNS",
    "SyntheticConfig",
    "SyntheticDataset",
    "evaluate_rules",
    "file_name",
    "generate",
    "write_dataset",
]
