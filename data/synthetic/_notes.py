"""Care-note tasks and bland templated text (real notes are sensitive health data)."""

from __future__ import annotations

import numpy as np

_TASKS_BY_SLOT = (
    "personal care;breakfast;drink",
    "lunch;drink",
    "tea;drink",
    "personal care;night routine",
)
_TEXT_BY_SLOT = (
    (
        "Supported with washing and dressing. Breakfast and a hot drink made. No concerns.",
        "Assisted with personal care. Ate breakfast well. In good spirits today.",
        "Morning routine completed as per care plan. Left comfortable with a drink to hand.",
    ),
    (
        "Lunch prepared and eaten. Drink left within reach. No concerns.",
        "Heated lunch as requested. Chatted about the weather. Settled.",
        "Lunchtime call completed. Fluids encouraged. Nothing to report.",
    ),
    (
        "Tea prepared. Kitchen tidied. Happy and settled.",
        "Made a sandwich and a hot drink. No concerns raised.",
        "Teatime call as per care plan. Left with snacks and a drink.",
    ),
    (
        "Supported to get ready for bed. Left comfortable and safe. Doors checked.",
        "Evening routine completed. Assisted into bed. No concerns.",
        "Night-time call completed as per plan. Settled for the night.",
    ),
)


def tasks_and_text(
    slot: np.ndarray,
    *,
    medication: np.ndarray,
    double_up: np.ndarray,
    catheter: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Tasks (";"-joined) and note text for visits in the given slots (object arrays)."""
    tasks = np.array(_TASKS_BY_SLOT, dtype=object)[slot]
    tasks = np.where(medication, tasks + ";medication", tasks)
    tasks = np.where(double_up, tasks + ";hoist transfer", tasks)
    tasks = np.where(catheter, tasks + ";catheter care", tasks)
    pick = rng.integers(0, 3, slot.size)
    texts = np.array(_TEXT_BY_SLOT, dtype=object)[slot, pick]
    texts = np.where(medication, texts + " Medication given as prescribed and recorded.", texts)
    return tasks, texts
