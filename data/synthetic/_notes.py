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
    """Tasks (";"-joined) and note text for visits in the given slots (object arrays).

    Only a few dozen distinct strings exist, so each visit picks one from a lookup table.
    """
    task_table = np.array(
        [
            _TASKS_BY_SLOT[sl]
            + (";medication" if med else "")
            + (";hoist transfer" if dbl else "")
            + (";catheter care" if cat else "")
            for sl in range(4)
            for med in (False, True)
            for dbl in (False, True)
            for cat in (False, True)
        ],
        dtype=object,
    )
    med, dbl, cat = (np.asarray(x, dtype=np.int64) for x in (medication, double_up, catheter))
    tasks = task_table[slot * 8 + med * 4 + dbl * 2 + cat]
    text_table = np.array(
        [
            _TEXT_BY_SLOT[sl][k] + (" Medication given as prescribed and recorded." if m else "")
            for sl in range(4)
            for k in range(3)
            for m in (False, True)
        ],
        dtype=object,
    )
    pick = rng.integers(0, 3, slot.size)
    texts = text_table[slot * 6 + pick * 2 + med]
    return tasks, texts
