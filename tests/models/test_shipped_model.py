"""The model that ships in models/default: loads offline without torch, and is what its card says."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from models.classifier import DEFAULT_MODEL_DIR, MAX_TOKENS_PER_CALL, Classifier
from models.labels import INTENTS

NO_TORCH_NO_NETWORK = textwrap.dedent(
    """
    import socket, sys, builtins
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    sys.modules["torch"] = None          # importing torch now raises ImportError
    sys.modules["transformers"] = None
    from models.classifier import Classifier
    predictions = Classifier().predict(["need to reschedule my cleaning", "why was I charged twice?"])
    assert "torch" not in [m for m, v in sys.modules.items() if v is not None]
    print([p.label for p in predictions])
    """
)


def test_default_model_classifies_with_no_torch_and_no_network() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH_NO_NETWORK],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "appointment_request" in result.stdout and "billing_inquiry" in result.stdout


def test_shipped_folder_is_complete_and_int8() -> None:
    names = {p.name for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"model.onnx", "tokenizer.json", "frontdesk_model.json", "metrics.json", "MODEL_CARD.md"} <= names
    assert {"confusion_matrix.png", "reliability.png"} <= names
    size_mb = (DEFAULT_MODEL_DIR / "model.onnx").stat().st_size / 1e6
    assert 10 < size_mb < 60


def test_recorded_int8_parity_with_pytorch() -> None:
    """Measured by the trainer on the dev set when the shipped model was built."""
    parity = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text())["parity"]
    assert parity["argmax_agreement"] >= 0.99
    assert parity["mean_abs_dp"] < 0.01


def test_shipped_model_reproduces_its_recorded_dev_accuracy() -> None:
    import numpy as np

    from models.corpus import load_corpus, split_corpus
    from models.evaluation import evaluate

    metrics = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text())
    _, dev = split_corpus(load_corpus())
    classifier = Classifier()
    probs = classifier.probabilities([e.model_text for e in dev])
    truth = np.array([INTENTS.index(e.label) for e in dev])
    measured = evaluate(probs, truth, INTENTS)
    assert measured["accuracy"] == pytest.approx(metrics["dev"]["accuracy"], abs=0.002)
    assert measured["accuracy"] > 0.9


def test_model_card_matches_metrics() -> None:
    from models.model_card import render_model_card

    metrics = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text())
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").read_text() == render_model_card(metrics)


def test_warm_up_meets_every_call_shape_at_each_length_step() -> None:
    """What keeps a worker's memory flat: each (rows, length) shape ``logits`` can make (rows up to
    the batch size and within MAX_TOKENS_PER_CALL) is run once before real traffic."""
    classifier = Classifier()
    real = classifier.session
    shapes: list[tuple[int, int]] = []

    class Recording:
        def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            shapes.append(feeds["input_ids"].shape)
            return real.run(outputs, feeds)

    classifier.session = Recording()  # type: ignore[assignment]
    classifier.warm_up(batch_size=32, length_step=64)

    assert MAX_TOKENS_PER_CALL == 1024
    assert sorted(shapes) == sorted([(r, 64) for r in range(1, 17)] + [(r, 128) for r in range(1, 9)])
    assert classifier.config.max_length == 128


def test_batches_run_side_by_side_give_the_same_logits_in_input_order() -> None:
    from models.corpus import load_corpus, split_corpus

    _, dev = split_corpus(load_corpus())
    texts = [e.model_text for e in dev[:200]]
    sequential, side_by_side = Classifier(threads=1), Classifier(threads=2)
    assert side_by_side.threads == 2
    for order in (texts, texts[::-1]):
        assert np.array_equal(side_by_side.logits(order), sequential.logits(order))
    # reversed input, same messages: each row still belongs to its message (int8 activations are
    # quantized per batch, so other batch-mates move the scores, rarely the label)
    reversed_back = side_by_side.logits(texts[::-1])[::-1]
    agreement = (reversed_back.argmax(1) == sequential.logits(texts).argmax(1)).mean()
    assert agreement >= 0.98
