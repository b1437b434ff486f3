"""Write a SyntheticDataset as CSV files in the canonical text formats, plus a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from data.records import RECORD_KINDS

_NONE = np.array(None, dtype=object)
GROUND_TRUTH_FILE = "ground_truth.csv"
MANIFEST_FILE = "manifest.json"


def file_name(kind: str) -> str:
    """CSV file name of a record kind: "ecm_visit" -> "ecm_visits.csv"."""
    return f"{kind}s.csv"


def _as_text(values: pd.Series, kind: str) -> pa.Array:
    if kind in ("datetime", "date"):
        arr = values.to_numpy().astype("datetime64[s]")
        text = arr.astype("datetime64[D]" if kind == "date" else "datetime64[s]").astype(str)
        return pa.array(np.where(np.isnat(arr), _NONE, text), type=pa.string())
    if kind == "bool":
        return pa.array(np.where(values.to_numpy().astype(bool), "true", "false"), type=pa.string())
    if kind == "float":
        return pa.array(np.round(values.to_numpy(dtype=float), 6), from_pandas=True)
    if kind == "int":
        return pa.array(values.to_numpy(dtype=np.int64))
    arr = values.to_numpy(dtype=object)
    return pa.array(np.where(pd.isna(arr) | (arr == ""), _NONE, arr), type=pa.string())


def _write(frame: pd.DataFrame, kinds: dict[str, str], path: Path) -> None:
    table = pa.table({name: _as_text(frame[name], kinds[name]) for name in frame.columns})
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))


def write_dataset(dataset: object, out_dir: str | Path) -> dict[str, Path]:
    """Write every record kind, the ground truth and manifest.json into ``out_dir``.

    Returns the path of each file keyed by record kind ("ecm_visit", ...), "ground_truth"
    and "manifest".
    """
    from data.synthetic.generator import SyntheticDataset

    if not isinstance(dataset, SyntheticDataset):
        raise TypeError("Expected a SyntheticDataset.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, frame in dataset.frames.items():
        spec = RECORD_KINDS[kind]
        path = out / file_name(kind)
        _write(frame, {c.name: c.kind for c in spec.columns}, path)
        paths[kind] = path
    truth = dataset.ground_truth
    path = out / GROUND_TRUTH_FILE
    _write(truth, dict.fromkeys(truth.columns, "str"), path)
    paths["ground_truth"] = path
    manifest = {
        "generator": "data.synthetic",
        "config": dataset.config.as_dict(),
        "period": {
            "start_date": dataset.config.start_date.isoformat(),
            "end_date": dataset.config.end_date.isoformat(),
        },
        "counts": dataset.counts(),
        "ground_truth_by_kind": truth["flag_kind"].value_counts().sort_index().to_dict(),
        "planted_by_kind": dataset.planted,
        "files": {kind: p.name for kind, p in paths.items()},
    }
    path = out / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    paths["manifest"] = path
    return paths
