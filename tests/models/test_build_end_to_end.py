"""The trainer's whole code path on a tiny encoder and a few dozen messages (CPU, seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.classifier import Classifier
from models.labels import INTENTS

pytest.importorskip("torch")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(
    tiny_encoder: Path, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    from models.build import build_model
    from models.training_args import TrainingArguments

    out = tmp_path_factory.mktemp("model")
    args = TrainingArguments(
        base_model=str(tiny_encoder),
        epochs=6,
        learning_rate=2e-3,
        batch_size=8,
        max_length=64,
        data_dir=tiny_corpus,
        augment_prob=0.3,
    )
    external = tiny_corpus / "part1.jsonl"
    return out, build_model(args, out, external=external, progress=False)


def test_writes_a_complete_model_folder(built: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = built
    for name in (
        "model.onnx",
        "tokenizer.json",
        "frontdesk_model.json",
        "metrics.json",
        "MODEL_CARD.md",
        "confusion_matrix.png",
        "reliability.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "metrics.json").read_text())["version"] == metrics["version"]
    assert metrics["training"]["n_train"] == 8 * len(INTENTS)
    assert metrics["dev"]["n"] == 3 * len(INTENTS)
    assert "external" in metrics


def test_training_learns_the_training_set(built: tuple[Path, dict[str, Any]], tiny_corpus: Path) -> None:
    """Loss falls and the exported model fits what it was trained on (far above 1/7 chance)."""
    out, metrics = built
    from models.report import evaluate_file

    assert metrics["training"]["final_loss"] < 1.5
    assert evaluate_file(Classifier(out), tiny_corpus / "part1.jsonl")["accuracy"] > 0.5


def test_int8_onnx_matches_pytorch(built: tuple[Path, dict[str, Any]]) -> None:
    parity = built[1]["parity"]
    assert parity["argmax_agreement"] >= 0.95
    assert parity["mean_abs_dp"] < 0.02


def test_model_is_int8_quantized(built: tuple[Path, dict[str, Any]]) -> None:
    import onnx

    graph = onnx.load(str(built[0] / "model.onnx")).graph
    ops = {node.op_type for node in graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}, ops


def test_calibrated_probabilities_sum_to_one(built: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = built
    classifier = Classifier(out)
    assert classifier.temperature == pytest.approx(metrics["temperature"])
    probs = classifier.probabilities(["need to move my appt", "why was I charged twice"])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_runs_are_repeatable(tiny_encoder: Path, tiny_corpus: Path) -> None:
    from models.corpus import load_corpus
    from models.trainer import train_network
    from models.training_args import TrainingArguments

    examples = load_corpus(tiny_corpus)[:16]
    args = TrainingArguments(base_model=str(tiny_encoder), epochs=1, batch_size=8, max_length=32)
    first = train_network(args, examples, progress=False).loss_history
    second = train_network(args, examples, progress=False).loss_history
    assert first == second


def test_fused_export_quantizes_attention_and_matches_pytorch(tiny_encoder: Path, tmp_path: Path) -> None:
    """Optional fusion: one QAttention per layer of the 2-layer encoder, same predictions as fp32."""
    import onnx
    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    from models.classifier import softmax
    from models.export import export_int8
    from models.network import MeanPoolClassifier
    from models.trainer import predict_logits

    torch.manual_seed(0)
    model = MeanPoolClassifier.from_pretrained(str(tiny_encoder), len(INTENTS)).eval()
    path = export_int8(model, tmp_path / "model.onnx", fuse=True)
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert ops.count("QAttention") == 2, sorted(set(ops))
    assert "SkipLayerNormalization" in ops

    texts = ["can I move my appointment", "why was I billed twice?", "my chest hurts", "hi"] * 4
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    torch_probs = softmax(predict_logits(model, tokenizer, texts, 64))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    encoded = tokenizer(texts, padding=True, return_tensors="np")
    (logits,) = session.run(
        ["logits"], {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
    )
    assert np.abs(softmax(logits) - torch_probs).mean() < 0.02


def test_a_graph_with_no_attention_is_left_unfused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from models.export import fuse_transformer_ops

    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.5] * 16)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weight],
    )
    source = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(source))
    assert fuse_transformer_ops(source, tmp_path / "fused.onnx", num_heads=2, hidden_size=4) is False
    assert not (tmp_path / "fused.onnx").exists()
