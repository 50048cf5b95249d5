"""MODEL_CARD.md, rendered from ``metrics.json`` only, so the card never claims what was not measured."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

TEMPLATE = Path(__file__).resolve().parent / "model_card_template.md"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _class_table(metrics: dict[str, Any]) -> str:
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, s in metrics["per_class"].items():
        rows.append(
            f"| `{label}` | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        )
    return "\n".join(rows)


def _coverage_table(metrics: dict[str, Any]) -> str:
    rows = ["| auto-routed share | accuracy | confidence threshold |", "|---|---|---|"]
    for share, row in metrics["coverage"].items():
        rows.append(f"| {float(share):.0%} | {_pct(row['accuracy'])} | {row['threshold']:.3f} |")
    return "\n".join(rows)


def _sets_table(metrics: dict[str, Any]) -> str:
    rows = ["| evaluation set | n | accuracy | macro-F1 | ECE |", "|---|---|---|---|---|"]
    for name, key in (
        ("dev, all", "dev"),
        ("dev, realism mix (parts 1-5)", "dev_realism"),
        ("dev, hard and terse (parts 6-9)", "dev_hard"),
        ("external (other authors, never trained on)", "external"),
    ):
        m = metrics.get(key)
        if m:
            rows.append(
                f"| {name} | {m['n']} | {_pct(m['accuracy'])} | {m['macro_f1']:.4f} | {m['ece']:.4f} |"
            )
    return "\n".join(rows)


def render_model_card(metrics: dict[str, Any]) -> str:
    training = metrics["training"]
    parity = metrics["parity"]
    augmentation = (
        f"on the fly, probability {training['augment_prob']} per example per epoch"
        if training["augment_prob"] > 0
        else "none"
    )
    values = {
        "version": metrics["version"],
        "base_model": metrics["base_model_name"],
        "n_train": training["n_train"],
        "n_dev": metrics["dev"]["n"],
        "epochs": training["epochs"],
        "learning_rate": training["learning_rate"],
        "batch_size": training["batch_size"],
        "max_length": training["max_length"],
        "warmup_ratio": training["warmup_ratio"],
        "seed": training["seed"],
        "augmentation": augmentation,
        "augmentation_note": metrics.get("augmentation_note", "not compared in this run"),
        "device": training["device_name"],
        "train_seconds": f"{training['seconds']:.0f}",
        "temperature": f"{metrics['temperature']:.3f}",
        "ece_before": f"{metrics['dev']['ece_uncalibrated']:.4f}",
        "ece_after": f"{metrics['dev']['ece']:.4f}",
        "quantization": "per-channel" if metrics["quantization"]["per_channel"] else "per-tensor",
        "size_mb": f"{metrics['quantization']['size_mb']:.1f}",
        "agreement": _pct(parity["argmax_agreement"]),
        "mean_dp": f"{parity['mean_abs_dp']:.4f}",
        "max_dp": f"{parity['max_abs_dp']:.4f}",
        "torch_acc": _pct(parity["torch_fp32_accuracy"]),
        "onnx_acc": _pct(parity["onnx_int8_accuracy"]),
        "torch_hard_acc": _pct(parity.get("torch_fp32_hard_accuracy")),
        "onnx_hard_acc": _pct(parity.get("onnx_int8_hard_accuracy")),
        "sets_table": _sets_table(metrics),
        "class_table": _class_table(metrics["dev"]),
        "coverage_table": _coverage_table(metrics["dev"]),
        "gpu_note": metrics.get("gpu_note", ""),
    }
    return Template(TEMPLATE.read_text()).substitute(values)


def write_model_card(metrics: dict[str, Any], path: Path) -> Path:
    path.write_text(render_model_card(metrics))
    return path
