"""Generate the synthetic demo data set on disk."""

from __future__ import annotations

from pathlib import Path

from data.synthetic import SyntheticConfig, generate, write_dataset


def synthetic_config(scale: str, seed: int) -> SyntheticConfig:
    """The preset for a named scale (small, county, million)."""
    presets = {
        "small": SyntheticConfig.small,
        "county": SyntheticConfig.county,
        "million": SyntheticConfig.million,
    }
    try:
        return presets[scale](seed=seed)
    except KeyError:
        raise ValueError(
            f"Unknown scale {scale!r}; expected one of {', '.join(presets)}."
        ) from None


def generate_dataset(out_dir: Path, *, scale: str, seed: int) -> dict[str, tuple[Path, int]]:
    """Generate and write a data set; returns {record kind: (file, rows)}."""
    dataset = generate(synthetic_config(scale, seed))
    paths = write_dataset(dataset, out_dir)
    frames = dict(dataset.frames)
    frames["ground_truth"] = dataset.ground_truth
    return {kind: (path, len(frames[kind])) for kind, path in paths.items() if kind in frames}
