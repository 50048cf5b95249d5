import numpy as np
import pytest

from models.evaluation import accuracy_at_coverage, confusion_matrix, evaluate, format_report

LABELS = ("a", "b", "c")


def _fixture() -> tuple[np.ndarray, np.ndarray]:
    # truth:     a  a  a  b  b  c
    # predicted: a  a  b  b  c  c     (confidences differ so coverage can be checked)
    truth = np.array([0, 0, 0, 1, 1, 2])
    probs = np.array(
        [
            [0.90, 0.05, 0.05],
            [0.80, 0.10, 0.10],
            [0.30, 0.60, 0.10],
            [0.10, 0.70, 0.20],
            [0.20, 0.35, 0.45],
            [0.05, 0.05, 0.90],
        ]
    )
    return probs, truth


def test_confusion_matrix_by_hand() -> None:
    probs, truth = _fixture()
    assert confusion_matrix(truth, probs.argmax(1), 3).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_metrics_by_hand() -> None:
    probs, truth = _fixture()
    m = evaluate(probs, truth, LABELS)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P=2/2 R=2/3 F1=0.8 ; b: P=1/2 R=1/2 F1=0.5 ; c: P=1/2 R=1/1 F1=2/3
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_accuracy_at_coverage_drops_the_least_confident() -> None:
    probs, truth = _fixture()
    # confidences: .9 .8 .6 .7 .45 .9 -> keeping 4 of 6 (67%) drops .45 (wrong) and .6 (wrong)
    accuracy, threshold = accuracy_at_coverage(probs, truth, 4 / 6)
    assert accuracy == 1.0
    assert threshold == pytest.approx(0.7)
    assert accuracy_at_coverage(probs, truth, 1.0)[0] == pytest.approx(4 / 6)


def test_report_names_every_label() -> None:
    probs, truth = _fixture()
    text = format_report(evaluate(probs, truth, LABELS), LABELS)
    assert "accuracy=0.6667" in text
    assert all(label in text for label in LABELS)
