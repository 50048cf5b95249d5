"""Choosing the review threshold and margin on the dev set, from calibrated confidence and top-2 margin.

What a practice wants from the defaults: clear messages flow straight through (few in review),
while the ones the model gets wrong or finds genuinely two-way are caught. On the dev set the
model's errors and low-margin messages stand in for "two fair readings"; the realism-mix part
stands in for clear traffic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def review_mask(probs: np.ndarray, threshold: float, margin: float) -> np.ndarray:
    top2 = np.sort(probs, axis=1)[:, -2:]
    return (top2[:, 1] < threshold) | ((top2[:, 1] - top2[:, 0]) < margin)


def tradeoff_grid(
    probs: np.ndarray,
    truth: np.ndarray,
    hard: np.ndarray,
    thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99),
    margins: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
) -> list[dict[str, float]]:
    wrong = probs.argmax(1) != truth
    rows = []
    for threshold in thresholds:
        for margin in margins:
            review = review_mask(probs, threshold, margin)
            auto = ~review
            rows.append(
                {
                    "threshold": threshold,
                    "margin": margin,
                    "review_share_all": float(review.mean()),
                    "review_share_clear": float(review[~hard].mean()) if (~hard).any() else 0.0,
                    "review_share_hard": float(review[hard].mean()) if hard.any() else 0.0,
                    "errors_caught": float(review[wrong].mean()) if wrong.any() else 1.0,
                    "auto_accuracy": float((~wrong[auto]).mean()) if auto.any() else 1.0,
                }
            )
    return rows


def choose_defaults(rows: list[dict[str, float]], max_clear_review: float = 0.10) -> dict[str, float]:
    """Most errors caught with at most ``max_clear_review`` of clear messages in review."""
    allowed = [r for r in rows if r["review_share_clear"] <= max_clear_review]
    return max(allowed, key=lambda r: (r["errors_caught"], -r["review_share_all"]))


def write_tuning(rows: list[dict[str, float]], chosen: dict[str, float], path: Path) -> dict[str, Any]:
    payload = {"chosen": chosen, "grid": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return payload
