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

from router.settings import WORKER_POOLS, get_settings

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
def classify(
    model: ModelOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Most messages per ONNX Runtime call (default: FRONTDESK_INFERENCE_BATCH_SIZE)."),
    ] = None,
) -> None:
    """Read JSON Lines on stdin ({"text", "channel"?, "subject"?}); write one JSON line per input."""
    from models.classifier import Classifier
    from router.channels.cleaning import clean_text
    from router.classify_stream import classify_lines

    settings = get_settings()
    classifier = Classifier(_model_dir(model), threads=settings.onnx_threads or None)
    # calls formed as the worker forms them (int8 activations are quantized per call, so the call
    # size moves scores slightly)
    rows = batch_size or settings.inference_batch_size
    for out in classify_lines(
        sys.stdin,
        lambda texts: classifier.predict(texts, batch_size=rows),
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
        float, typer.Option(help="Share of examples given noise each epoch (0 = off; 0.3 did not help).")
    ] = 0.0,
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
    clean: Annotated[
        bool, typer.Option(help="Clean lines that name a channel the way that channel's webhook does.")
    ] = True,
) -> None:
    """Accuracy, macro-F1, per-class scores, confusion matrix, ECE and accuracy at coverage."""
    from models.classifier import Classifier
    from models.evaluation import format_report
    from models.report import evaluate_to_report
    from router.channels import clean_text

    classifier = Classifier(_model_dir(model))
    metrics = evaluate_to_report(classifier, data, report, clean=clean_text if clean else None)
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


@bench_app.command("pipeline")
def bench_pipeline(
    messages: Annotated[int, typer.Option(help="Webhooks in the burst (all posted at once).")] = 2000,
    latency_seconds: float = 20.0,
    batch_size: Annotated[int | None, typer.Option(help="Default: FRONTDESK_BATCH_SIZE's.")] = None,
    flush_interval: Annotated[
        float | None, typer.Option(help="Default: FRONTDESK_BATCH_FLUSH_INTERVAL's.")
    ] = None,
    onnx_threads: int = 1,
    trial_seconds: Annotated[float, typer.Option(help="Length of each sustained-rate trial.")] = 15.0,
    search_steps: Annotated[int, typer.Option(help="Sustained-rate trials (bisection steps).")] = 4,
    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    redis_url: str = "redis://127.0.0.1:6379/14",
    out: Path = Path("bench/results"),
) -> None:
    """Webhooks over HTTP into real Redis + Postgres, a real worker; against the raw classifier."""
    from router.pipeline_bench import PipelineBenchConfig, run_pipeline_benchmark

    defaults = get_settings()
    config = PipelineBenchConfig(
        postgres_url=postgres_url,
        redis_url=redis_url,
        messages=messages,
        latency_seconds=latency_seconds,
        batch_size=defaults.batch_size if batch_size is None else batch_size,
        flush_interval=defaults.batch_flush_interval if flush_interval is None else flush_interval,
        onnx_threads=onnx_threads,
        trial_seconds=trial_seconds,
        search_steps=search_steps,
    )
    result = run_pipeline_benchmark(config, out, Path("bench/.runs"))
    typer.echo(
        json.dumps(
            {
                k: result[k]
                for k in ("throughput", "cpu_ms_per_message", "latency_at_half_rate", "worker_rss_mb")
            },
            indent=2,
        )
    )


@app.command("tune-policy")
def tune_policy(
    model: ModelOption = None,
    max_clear_review: float = 0.10,
    out: Path = Path("bench/results/policy.json"),
) -> None:
    """Pick the review threshold and margin on the dev set; writes the whole trade-off grid."""
    import numpy as np

    from models.classifier import Classifier
    from models.corpus import load_corpus, split_corpus
    from models.labels import INTENTS
    from router.policy_tuning import choose_defaults, tradeoff_grid, write_tuning

    classifier = Classifier(_model_dir(model))
    _, dev = split_corpus(load_corpus())
    probs = classifier.probabilities([e.model_text for e in dev])
    truth = np.array([INTENTS.index(e.label) for e in dev])
    hard = np.array([e.hard is not None for e in dev])
    rows = tradeoff_grid(probs, truth, hard)
    chosen = choose_defaults(rows, max_clear_review)
    write_tuning(rows, chosen, out)
    typer.echo(json.dumps(chosen, indent=2))


def _enqueue_for(settings):  # type: ignore[no-untyped-def]
    from router.enqueue import CoalescingEnqueuer, broker_client, make_enqueuer

    client = broker_client(settings.resolved_broker_url, settings.queue_name)
    return CoalescingEnqueuer(make_enqueuer(client, settings.queue_name), settings.enqueue_linger_seconds)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run from many hosts at once)."""
    from router.migrate import upgrade_database

    settings = get_settings()
    upgrade_database(settings.database_url)
    typer.echo("database is at the latest schema")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default FRONTDESK_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default FRONTDESK_PORT).")] = None,
) -> None:
    """Run the HTTP API (uvicorn)."""
    import uvicorn

    from router.api.app import create_app
    from router.db import session_factory_for_url
    from router.migrate import upgrade_database

    settings = get_settings()
    bind = host or settings.host
    if not settings.api_keys and bind not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            "no API keys configured (FRONTDESK_API_KEYS): the API is open, so it binds to 127.0.0.1 only",
            err=True,
        )
        bind = "127.0.0.1"
    elif not settings.api_keys:
        typer.echo("no API keys configured: the API is open and bound to loopback only", err=True)
    upgrade_database(settings.database_url)
    # As many pooled connections as the thread pool (anyio's 40) runs requests at once: with
    # SQLAlchemy's default 5 (+10 overflow), requests beyond 5 opened and closed a Postgres
    # connection each (5% of the API's samples in a py-spy profile under the pipeline benchmark).
    sessions = session_factory_for_url(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=max(0, 40 - settings.db_pool_size),
    )
    api = create_app(settings, sessions, _enqueue_for(settings))
    uvicorn.run(api, host=bind, port=port or settings.port, log_level="info", access_log=False)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Pool threads/processes (default: FRONTDESK_WORKER_CONCURRENCY).")
    ] = None,
    pool: Annotated[
        str | None, typer.Option(help="threads, solo or prefork (default: FRONTDESK_WORKER_POOL).")
    ] = None,
    beat: Annotated[
        bool, typer.Option(help="Also run the periodic sweeper (one per deployment is enough).")
    ] = True,
    loglevel: str = "INFO",
) -> None:
    """Run a batched classification worker (Celery)."""
    from router.migrate import upgrade_database
    from worker.celery_app import create_celery_app

    settings = get_settings()
    pool = pool or settings.worker_pool
    if pool not in WORKER_POOLS:
        names = f"{', '.join(WORKER_POOLS[:-1])} or {WORKER_POOLS[-1]}"
        raise typer.BadParameter(f"pool must be {names}", param_hint="--pool")
    concurrency = 1 if pool == "solo" else (concurrency or settings.worker_concurrency)
    upgrade_database(settings.database_url)
    celery = create_celery_app(
        settings.model_copy(update={"worker_pool": pool, "worker_concurrency": concurrency})
    )
    argv = [
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv += ["--beat", "--schedule=frontdesk-beat-schedule.db"]
    celery.worker_main(argv)


@app.command("beat")
def beat_command(loglevel: str = "INFO") -> None:
    """Run only the periodic sweeper schedule (Celery beat), for deployments with many workers."""
    from worker.celery_app import create_celery_app

    celery = create_celery_app(get_settings())
    celery.start(["beat", f"--loglevel={loglevel}", "--schedule=frontdesk-beat-schedule.db"])


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo's SQLite database goes.")] = Path(
        "frontdesk-demo"
    ),
) -> None:
    """The whole pipeline on the embedded default: SQLite + in-process broker, no server to install."""
    import logging

    from celery.contrib.testing.worker import start_worker
    from rich.console import Console

    from router.api.app import create_app
    from router.db import session_factory_for_url
    from router.demo import run_demo
    from router.demo_samples import DEMO_TWILIO_TOKEN
    from router.enqueue import make_enqueuer
    from router.migrate import upgrade_database
    from router.settings import Settings
    from worker.celery_app import create_celery_app

    logging.basicConfig(level=logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "frontdesk.db"
    database.unlink(missing_ok=True)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        broker_url="memory://",
        twilio_auth_token=DEMO_TWILIO_TOKEN,
        api_keys={},
        batch_flush_interval=0.1,
    )
    console = Console(width=120)
    upgrade_database(settings.database_url)
    session_factory = session_factory_for_url(settings.database_url)
    celery = create_celery_app(settings)
    api = create_app(settings, session_factory, make_enqueuer(celery, settings.queue_name))
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        stored = run_demo(api, session_factory, console)
    if any(m.decision is None for m in stored):
        raise typer.Exit(1)
    console.print(f"database: {database}")


@app.command("export-reviewed")
def export_reviewed(
    out: Annotated[Path | None, typer.Option(help="Output JSONL (default: stdout).")] = None,
) -> None:
    """Write human-reviewed messages as corpus JSONL, ready to add to the training data."""
    from router import store
    from router.db import session_factory_for_url

    settings = get_settings()
    with session_factory_for_url(settings.database_url)() as session:
        rows = store.list_reviewed_examples(session)
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    if out:
        out.write_text(lines)
        typer.echo(f"wrote {len(rows)} reviewed examples to {out}", err=True)
    else:
        sys.stdout.write(lines)


if __name__ == "__main__":
    app()
