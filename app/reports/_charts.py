"""Small matplotlib charts embedded in HTML as data URIs, so reports work offline."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def bar_chart_data_uri(
    labels: list[str], values: list[float], *, title: str, x_label: str, colour: str = "#2b6cb0"
) -> str:
    """A horizontal bar chart as a ``data:image/png;base64,...`` URI (largest bar on top)."""
    height_in = max(2.0, 0.32 * len(labels) + 1.0)
    fig, ax = plt.subplots(figsize=(7.5, height_in), dpi=100)
    try:
        ax.barh(labels[::-1], values[::-1], color=colour)
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_xlabel(x_label)
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
