"""From corpus to a shippable model folder: train, export, quantize, calibrate, measure, document.

Everything in the output folder is produced here from what was measured in this run; the folder
is what ``Classifier`` loads and what ships under ``models/default``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.calibration import expected_calibration_error, fit_temperature
from models.classifier import MODEL_FILE, TOKENIZER_FILE, Classifier, ModelConfig, softmax
from models.corpus import DATA_DIR, Example, choose_dev_keys, load_corpus, read_dev_keys, split_corpus
from models.evaluation import evaluate
from models.export import export_int8
from models.labels import INTENTS
from models.model_card import write_model_card
from models.plots import plot_confusion, plot_reliability
from models.report import evaluate_file
from models.trainer import TrainedNetwork, predict_logits, train_network
from models.training_args import TrainingArguments


def _split(args: TrainingArguments) -> tuple[list[Example], list[Example]]:
    data_dir = args.data_dir or DATA_DIR
    examples = load_corpus(data_dir)
    split_file = data_dir / "dev_split.txt"
    keys = read_dev_keys(split_file) if split_file.exists() else choose_dev_keys(examples)
    train, dev = split_corpus(examples, keys)
    if args.limit:
        train = train[: args.limit]
    return train, dev


def base_model_name(base_model: str) -> str:
    """A readable name: the packaged default lives in a folder called 'model'."""
    if "minilm" in base_model.lower():
        return "all-MiniLM-L6-v2"
    return base_model.rstrip("/").split("/")[-1] if Path(base_model).exists() else base_model


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return f"CPU ({torch.get_num_threads()} threads)"


def _subset_metrics(probs: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict[str, Any] | None:
    if not mask.any():
        return None
    return evaluate(probs[mask], truth[mask], INTENTS)


def write_tokenizer(network: TrainedNetwork, out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        network.tokenizer.save_pretrained(tmp)
        shutil.copy(Path(tmp) / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)


def build_model(
    args: TrainingArguments,
    out_dir: Path,
    external: Path | None = None,
    checkpoint_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train and write a complete model folder; returns the metrics written to ``metrics.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    train, dev = _split(args)
    network = train_network(args, train, progress=progress)
    if checkpoint_dir:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        torch.save(network.model.state_dict(), checkpoint_dir / "model.pt")
        network.tokenizer.save_pretrained(str(checkpoint_dir))
        (checkpoint_dir / "training_args.json").write_text(json.dumps(args.to_dict(), indent=2))

    model_path = export_int8(network.model, out_dir / MODEL_FILE, per_channel=args.per_channel_quant)
    write_tokenizer(network, out_dir)
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:8]
    version = f"{base_model_name(args.base_model)}-{datetime.now(UTC):%Y%m%d}-{digest}"
    ModelConfig(INTENTS, 1.0, args.max_length, version).write(out_dir)

    dev_texts = [e.model_text for e in dev]
    truth = np.array([INTENTS.index(e.label) for e in dev])
    hard = np.array([e.hard is not None for e in dev])
    torch_probs = softmax(predict_logits(network.model.cpu(), network.tokenizer, dev_texts, args.max_length))
    onnx_logits = Classifier(out_dir).logits(dev_texts)
    onnx_raw = softmax(onnx_logits)
    temperature = fit_temperature(onnx_logits, truth)
    ModelConfig(INTENTS, temperature, args.max_length, version).write(out_dir)
    probs = softmax(onnx_logits, temperature)

    dev_metrics = evaluate(probs, truth, INTENTS)
    dev_metrics["ece_uncalibrated"] = expected_calibration_error(onnx_raw, truth)
    parity = {
        "argmax_agreement": float((torch_probs.argmax(1) == onnx_raw.argmax(1)).mean()),
        "mean_abs_dp": float(np.abs(torch_probs - onnx_raw).mean()),
        "max_abs_dp": float(np.abs(torch_probs - onnx_raw).max()),
        "torch_fp32_accuracy": float((torch_probs.argmax(1) == truth).mean()),
        "onnx_int8_accuracy": float((onnx_raw.argmax(1) == truth).mean()),
        "torch_fp32_hard_accuracy": float((torch_probs[hard].argmax(1) == truth[hard]).mean())
        if hard.any()
        else None,
        "onnx_int8_hard_accuracy": float((onnx_raw[hard].argmax(1) == truth[hard]).mean())
        if hard.any()
        else None,
    }
    metrics: dict[str, Any] = {
        "version": version,
        "base_model": args.base_model,
        "base_model_name": base_model_name(args.base_model),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "training": {
            **args.to_dict(),
            "n_train": len(train),
            "device": network.device,
            "device_name": _device_name(network.device),
            "seconds": network.seconds,
            "final_loss": float(np.mean(network.loss_history[-50:])),
        },
        "temperature": temperature,
        "quantization": {
            "type": "dynamic int8",
            "per_channel": args.per_channel_quant,
            "size_mb": model_path.stat().st_size / 1e6,
        },
        "parity": parity,
        "dev": dev_metrics,
        "dev_realism": _subset_metrics(probs, truth, ~hard),
        "dev_hard": _subset_metrics(probs, truth, hard),
    }
    if external and external.exists():
        metrics["external"] = evaluate_file(Classifier(out_dir), external)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(
        dev_metrics["confusion_matrix"], INTENTS, out_dir / "confusion_matrix.png", f"dev set ({version})"
    )
    plot_reliability(probs, truth, out_dir / "reliability.png", "dev set, calibrated")
    write_model_card(metrics, out_dir / "MODEL_CARD.md")
    return metrics
