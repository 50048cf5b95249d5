import numpy as np

from models.calibration import expected_calibration_error, fit_temperature, negative_log_likelihood
from models.classifier import softmax


def _overconfident_fixture(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits scaled 4x: right 80% of the time but claiming near-certainty."""
    rng = np.random.default_rng(seed)
    n, k = 2000, 7
    labels = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    correct = rng.random(n) < 0.8
    predicted = np.where(correct, labels, (labels + rng.integers(1, k, n)) % k)
    logits[np.arange(n), predicted] += 2.0
    return logits * 4.0, labels


def test_temperature_scaling_improves_ece_and_nll() -> None:
    logits, labels = _overconfident_fixture()
    temperature = fit_temperature(logits, labels)
    assert temperature > 1.5  # overconfident logits need softening
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, temperature), labels)
    assert after < before / 2
    assert negative_log_likelihood(logits, labels, temperature) < negative_log_likelihood(logits, labels, 1.0)


def test_temperature_never_changes_the_argmax() -> None:
    logits, _ = _overconfident_fixture(1)
    assert (softmax(logits, 3.7).argmax(1) == logits.argmax(1)).all()


def test_ece_by_hand() -> None:
    # two bins used: conf 0.9 (2 samples, 1 right) and conf 0.6 (2 samples, 2 right)
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    # |0.5 - 0.9| * 0.5 + |1.0 - 0.6| * 0.5 = 0.4
    assert abs(expected_calibration_error(probs, labels, bins=10) - 0.4) < 1e-9
