"""``frontdesk``: the command line, and the composition root.

This is the one module allowed to import ``router``, ``worker`` and ``models`` together. Heavy
imports (torch, the trainer, the worker) happen inside the commands that need them, so
``frontdesk classify`` starts without loading torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from router.settings import get_settings

app = typer.Typer(help="frontdesk: route inbound patient messages on the practice's own machines.")
bench_app = typer.Typer(help="Benchmarks; results are written to bench/results/.")
app.add_typer(bench_app, name="bench")

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="Model folder (default: FRONTDESK_MODEL_DIR or the shipped model)."),
]


def _model_dir(model: Path | None) -> Path | None:
    return model or get_settings().model_dir


def _policy():  # type: ignore[no-untyped-def]
    from router.policy import PolicyConfig

    settings = get_settings()
    return PolicyConfig(
        threshold=settings.review_threshold,
        margin=settings.review_margin,
        intent_thresholds=settings.intent_thresholds,
    )


@app.command()
def classify(model: ModelOption = None, batch_size: int = 32) -> None:
    """Read JSON Lines on stdin ({"text", "channel"?, "subject"?}); write one JSON line per input."""
    from models.classifier import Classifier
    from router.channels.cleaning import clean_text
    from router.classify_stream import classify_lines

    classifier = Classifier(_model_dir(model), threads=get_settings().onnx_threads or None)
    for out in classify_lines(
        sys.stdin,
        lambda texts: classifier.predict(texts, batch_size=batch_size),
        classifier.version,
        _policy(),
        clean=clean_text,
    ):
        sys.stdout.write(out + "\n")
        sys.stdout.flush()


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Output model folder.")] = Path("artifacts/model"),
    base_model: Annotated[
        str, typer.Option(help="Local Hugging Face folder or hub name (default: packaged all-MiniLM-L6-v2).")
    ] = "",
    epochs: int = 4,
    learning_rate: float = 1e-4,
    batch_size: int = 32,
    max_length: int = 128,
    seed: int = 42,
    augment_prob: Annotated[
        float, typer.Option(help="Share of examples given noise each epoch (0 = off).")
    ] = 0.3,
    length_bucketing: bool = True,
    per_channel_quant: bool = True,
    limit: Annotated[
        int | None, typer.Option(help="Train on the first N examples only (smoke runs).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Corpus folder (default: data/).")] = None,
    external: Annotated[
        Path | None, typer.Option(help="An extra labelled JSONL scored after training.")
    ] = None,
    checkpoint_dir: Annotated[Path | None, typer.Option(help="Also save the PyTorch weights here.")] = None,
    device: Annotated[str | None, typer.Option(help="cuda or cpu (default: cuda when present).")] = None,
) -> None:
    """Fine-tune, export int8 ONNX, calibrate, evaluate and write the model card."""
    from models.build import build_model
    from models.training_args import TrainingArguments

    args = TrainingArguments(
        base_model=base_model,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        augment_prob=augment_prob,
        length_bucketing=length_bucketing,
        per_channel_quant=per_channel_quant,
        limit=limit,
        data_dir=data_dir,
        device=device,
    )
    metrics = build_model(args, out, external=external, checkpoint_dir=checkpoint_dir)
    dev = metrics["dev"]
    typer.echo(
        f"wrote {out}: dev accuracy {dev['accuracy']:.4f}, macro-F1 {dev['macro_f1']:.4f}, "
        f"ECE {dev['ece']:.4f}, trained in {metrics['training']['seconds']:.0f}s on "
        f"{metrics['training']['device_name']}"
    )


@app.command("eval")
def evaluate_command(
    data: Annotated[Path, typer.Option(help="Labelled JSONL: {text, label, subject?, channel?}.")],
    report: Annotated[Path | None, typer.Option(help="Folder for metrics.json and PNGs.")] = None,
    model: ModelOption = None,
) -> None:
    """Accuracy, macro-F1, per-class scores, confusion matrix, ECE and accuracy at coverage."""
    from models.classifier import Classifier
    from models.evaluation import format_report
    from models.report import evaluate_to_report

    classifier = Classifier(_model_dir(model))
    metrics = evaluate_to_report(classifier, data, report)
    typer.echo(format_report(metrics, classifier.labels))
    if report:
        typer.echo(f"\nreport written to {report}")


@app.command("data-card")
def data_card() -> None:
    """Regenerate data/README.md from the corpus files."""
    from models.data_card import write_data_card

    typer.echo(f"wrote {write_data_card()}")


@bench_app.command("classifier")
def bench_classifier(
    model: ModelOption = None,
    messages: Annotated[
        int, typer.Option(help="Dev messages to time (accuracy uses the whole dev set).")
    ] = 300,
    out: Path = Path("bench/results"),
) -> None:
    """int8 ONNX vs PyTorch fp32 vs TF-IDF vs the DeBERTa-v3-base architecture, same messages."""
    from models.benchmark import run_classifier_benchmark

    result = run_classifier_benchmark(_model_dir(model), out, n_timed=messages)
    typer.echo(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    app()
