"""Metrics of a classifier run: what a practice needs to decide how far to trust it.

Besides accuracy and per-class F1, ``coverage`` answers the routing question directly: if the
least confident X% go to human review, how accurate is what is routed automatically?
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.calibration import expected_calibration_error

COVERAGES = (1.0, 0.95, 0.90, 0.85)


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_labels: int) -> np.ndarray:
    matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def per_class_scores(matrix: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = {}
    for i, label in enumerate(labels):
        tp = float(matrix[i, i])
        predicted = float(matrix[:, i].sum())
        actual = float(matrix[i, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual)}
    return scores


def accuracy_at_coverage(probs: np.ndarray, truth: np.ndarray, coverage: float) -> tuple[float, float]:
    """(accuracy of the most confident ``coverage`` share, the confidence threshold that keeps it)."""
    confidence = probs.max(axis=1)
    keep = max(1, round(len(truth) * coverage))
    order = np.argsort(-confidence, kind="stable")[:keep]
    correct = probs[order].argmax(axis=1) == truth[order]
    return float(correct.mean()), float(confidence[order].min())


def evaluate(probs: np.ndarray, truth: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(truth, predicted, len(labels))
    per_class = per_class_scores(matrix, labels)
    present = [label for label in labels if per_class[label]["support"] > 0]
    coverage = {}
    for share in COVERAGES:
        acc, threshold = accuracy_at_coverage(probs, truth, share)
        coverage[f"{share:.2f}"] = {"accuracy": acc, "threshold": threshold}
    return {
        "n": len(truth),
        "accuracy": float((predicted == truth).mean()) if len(truth) else 0.0,
        "macro_f1": float(np.mean([per_class[label]["f1"] for label in present])) if present else 0.0,
        "ece": expected_calibration_error(probs, truth),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "coverage": coverage,
    }


def format_report(metrics: dict[str, Any], labels: Sequence[str]) -> str:
    """Plain-text report for the terminal."""
    lines = [
        f"n={metrics['n']}  accuracy={metrics['accuracy']:.4f}  macro-F1={metrics['macro_f1']:.4f}"
        f"  ECE={metrics['ece']:.4f}",
        "",
        f"{'label':28s} {'prec':>6s} {'rec':>6s} {'f1':>6s} {'n':>5s}",
    ]
    for label in labels:
        s = metrics["per_class"][label]
        lines.append(f"{label:28s} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['support']:5d}")
    lines += ["", "confusion matrix (rows = truth, columns = predicted, order as above):"]
    lines += ["  " + " ".join(f"{v:5d}" for v in row) for row in metrics["confusion_matrix"]]
    lines += ["", "auto-routed accuracy at coverage:"]
    for share, row in metrics["coverage"].items():
        lines.append(
            f"  {float(share):4.0%}: accuracy {row['accuracy']:.4f} (confidence >= {row['threshold']:.3f})"
        )
    return "\n".join(lines)
