"""Arrow-backed string columns built without a Python object per row (ids, foreign keys)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default "str" dtype


def arrow_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded ids such as "V00000042" as an Arrow string array."""
    nums = np.asarray(numbers, dtype=np.int64)
    if nums.size and (nums.min() < 0 or nums.max() >= 10**width):
        raise ValueError(f"Expected 0 <= number < 10**{width}.")
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((nums[:, None] // powers[None, :]) % 10 + ord("0")).astype(np.uint8)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    raw = np.concatenate([np.broadcast_to(head, (nums.size, head.size)), digits], axis=1)
    fixed = np.ascontiguousarray(raw).view(f"S{head.size + width}").ravel()
    return pa.array(fixed, type=pa.binary(head.size + width)).cast(pa.string())


def take(
    table: np.ndarray | pa.Array, index: np.ndarray, valid: np.ndarray | None = None
) -> pa.Array:
    """``table[index]`` as an Arrow string array, null where ``valid`` is False."""
    source = table if isinstance(table, pa.Array) else pa.array(table, type=pa.string())
    out = source.take(pa.array(np.asarray(index, dtype=np.int64)))
    if valid is not None:
        out = pc.if_else(pa.array(np.asarray(valid, dtype=bool)), out, pa.scalar(None, pa.string()))
    return out


def series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An Arrow string array as a pandas ``str`` Series (no copy through Python objects)."""
    return pd.Series(
        pd.arrays.ArrowStringArray(
            pa.chunked_array([values]) if isinstance(values, pa.Array) else values
        )
    ).astype(STR)
