"""The re-allocation job: plan an area's day, re-allocate calls across providers, keep the moves."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.settings import Settings

Progress = Any


def reallocation_job(
    settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Run a re-allocation for ``params["area"]`` on ``params["day"]``; returns moves and impact."""
    from app.planning import reallocation_result  # type: ignore[attr-defined]

    progress(0.05, "building the planning day")
    return reallocation_result(  # type: ignore[no-any-return]
        settings,
        area=params["area"],
        day=date.fromisoformat(params["day"]),
        time_limit_s=params.get("time_limit_s"),
        max_provider_changes=params.get("max_provider_changes"),
        progress=progress,
    )
