"""The contract manager's audit report: money per provider, flags with evidence, reviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from app.reports._charts import bar_chart_data_uri

AUDIT_FRAMES = ("visit_outcome", "audit_flag", "provider_month", "review_priority")

_templates = Environment(
    loader=PackageLoader("app.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class AuditHeadline:
    visits: int
    flagged_visits: int
    billed_gbp: float
    verified_gbp: float
    variance_gbp: float
    variance_pct: float
    flags: int


def headline(provider_month: pd.DataFrame, audit_flag: pd.DataFrame) -> AuditHeadline:
    """Totals over every provider and month of an audit."""
    billed = float(provider_month["billed_gbp"].sum())
    verified = float(provider_month["verified_gbp"].sum())
    return AuditHeadline(
        visits=int(provider_month["visits"].sum()),
        flagged_visits=int(provider_month["flagged_visits"].sum()),
        billed_gbp=billed,
        verified_gbp=verified,
        variance_gbp=billed - verified,
        variance_pct=100.0 * (billed - verified) / billed if billed else 0.0,
        flags=len(audit_flag),
    )


def write_audit_csvs(frames: dict[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """Write each audit frame as ``<name>.csv``; returns the paths by frame name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in AUDIT_FRAMES:
        path = out_dir / f"{name}.csv"
        frames[name].to_csv(path, index=False)
        paths[name] = path
    return paths


def render_audit_report(
    frames: dict[str, pd.DataFrame],
    path: Path,
    *,
    run_id: int | str,
    generated_at: datetime,
    top_flags: int = 100,
    top_reviews: int = 50,
    provider_names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Path:
    """Write the HTML audit report (self-contained: charts inline, no external assets)."""
    pm, flags, reviews = frames["provider_month"], frames["audit_flag"], frames["review_priority"]
    names = dict(provider_names or {})
    by_provider = (
        pm.groupby("provider_id", as_index=False)[
            ["visits", "flagged_visits", "billed_gbp", "verified_gbp", "variance_gbp"]
        ]
        .sum()
        .sort_values("variance_gbp", ascending=False)
    )
    by_provider["name"] = [names.get(p, "") for p in by_provider["provider_id"]]
    by_provider["variance_pct"] = (
        100.0
        * by_provider["variance_gbp"]
        / by_provider["billed_gbp"].where(by_provider["billed_gbp"] > 0)
    )
    by_kind = (
        flags.groupby("flag_kind", as_index=False)
        .agg(flags=("record_id", "size"), amount_gbp=("amount_gbp", "sum"))
        .sort_values("flags", ascending=False)
    )
    charts = []
    if len(by_provider):
        top = by_provider.head(15)
        charts.append(
            bar_chart_data_uri(
                top["provider_id"].astype(str).tolist(),
                top["variance_gbp"].astype(float).tolist(),
                title="Billed minus verified, by provider (top 15)",
                x_label="£",
            )
        )
    if len(by_kind):
        charts.append(
            bar_chart_data_uri(
                by_kind["flag_kind"].astype(str).str.replace("_", " ").tolist(),
                by_kind["flags"].astype(float).tolist(),
                title="Flags by kind",
                x_label="flags",
                colour="#c05621",
            )
        )
    html = _templates.get_template("audit_report.html").render(
        title=title or f"ECM against care notes: audit run {run_id}",
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M"),
        headline=headline(pm, flags),
        charts=charts,
        providers=by_provider.to_dict("records"),
        flag_kinds=by_kind.to_dict("records"),
        flags=flags.sort_values("amount_gbp", ascending=False).head(top_flags).to_dict("records"),
        reviews=reviews.sort_values("rank").head(top_reviews).to_dict("records"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
