"""Scoring a labelled JSONL file with a model folder, optionally writing a report folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models.classifier import Classifier
from models.corpus import Example, compose_text, read_jsonl
from models.evaluation import evaluate
from models.plots import plot_confusion, plot_reliability

TextCleaner = Callable[[str, str, str | None], str]


def example_text(example: Example, clean: TextCleaner | None) -> str:
    """The model text; with ``clean`` and a channel, cleaned the way the pipeline cleans it."""
    if clean is None or example.channel is None:
        return example.model_text
    return compose_text(
        clean(example.channel, example.text, example.subject) or example.text, example.subject
    )


def score_file(
    classifier: Classifier, path: Path, clean: TextCleaner | None = None
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    examples = list(read_jsonl(path))
    probs = classifier.probabilities([example_text(e, clean) for e in examples])
    truth = np.array([classifier.labels.index(e.label) for e in examples])
    return evaluate(probs, truth, classifier.labels), probs, truth


def evaluate_file(classifier: Classifier, path: Path, clean: TextCleaner | None = None) -> dict[str, Any]:
    return score_file(classifier, path, clean)[0]


def evaluate_to_report(
    classifier: Classifier, path: Path, report_dir: Path | None, clean: TextCleaner | None = None
) -> dict[str, Any]:
    metrics, probs, truth = score_file(classifier, path, clean)
    metrics["model_version"] = classifier.version
    metrics["data"] = str(path)
    if report_dir:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        title = f"{path.name} ({classifier.version})"
        plot_confusion(
            metrics["confusion_matrix"], classifier.labels, report_dir / "confusion_matrix.png", title
        )
        plot_reliability(probs, truth, report_dir / "reliability.png", title)
    return metrics
