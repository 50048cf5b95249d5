"""The Celery application and its two tasks: batched classification and the periodic sweep.

celery-batches pitfalls designed around here:
- it only sees what the worker has prefetched, so ``worker_prefetch_multiplier`` × concurrency
  must exceed the batch size or batches never fill;
- it acks a batch even when the task raised, and has no retries: the database, not the broker,
  records what is still to do, and the sweeper re-enqueues it.

Because the sweeper is the recovery path, Redis's ack emulation is switched off for the worker:
it cost two Redis round trips per message (record as unacked, then ack) on the worker's only
consuming thread, and its one benefit, redelivery after an hour-long visibility timeout, comes
long after the sweeper has re-enqueued the message.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_ready
from celery_batches import SimpleRequest

from router.enqueue import make_enqueuer
from router.settings import Settings
from router.task_names import CLASSIFY_TASK, SWEEP_TASK
from worker.batching import LoadAwareBatches
from worker.context import WorkerContext
from worker.processing import process_batch
from worker.sweeper import sweep

log = logging.getLogger(__name__)


def create_celery_app(settings: Settings, context: WorkerContext | None = None) -> Celery:
    app = Celery("frontdesk", broker=settings.resolved_broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.queue_name,
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=max(4, settings.batch_size * 4),
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        beat_schedule={
            "sweep": {
                "task": SWEEP_TASK,
                "schedule": settings.sweep_interval_seconds,
                "options": {"queue": settings.queue_name},
            },
        },
    )
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        app.conf.broker_transport_options = {"ack_emulation": False}
    ctx = context or WorkerContext(settings)

    if settings.worker_pool != "prefork":
        # threads and solo pools run tasks in this process: load and warm the model now, not on
        # the first batch (a prefork child loads its own on first use, after the fork)
        @worker_ready.connect(weak=False)
        def load_model(sender: Any = None, **_: Any) -> None:
            if getattr(sender, "app", None) is app:  # signals are process-wide: only our worker
                log.info("model %s loaded and warmed up", ctx.model_version)

    enqueue = make_enqueuer(app, settings.queue_name)

    @app.task(
        name=CLASSIFY_TASK,
        base=LoadAwareBatches,
        flush_every=settings.batch_size,
        flush_interval=settings.batch_flush_interval,
        acks_late=True,
        bind=True,
    )
    def classify(task: LoadAwareBatches, requests: list[SimpleRequest]) -> None:
        # a broker message carries one or more ids (router.enqueue); a transaction at most batch_size
        ids = [str(arg) for request in requests for arg in request.args or ()]
        size = settings.batch_size
        chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            outcome = process_batch(chunk, ctx, after_model=task.model_done if last else None)
            log.info(
                "batch of %d: decided %d, skipped %d, failed %d in %.0f ms (model %.0f ms)",
                len(chunk),
                outcome.decided,
                outcome.skipped,
                len(outcome.failed),
                1000 * outcome.seconds,
                1000 * outcome.model_seconds,
            )

    @app.task(name=SWEEP_TASK, ignore_result=True)
    def sweep_task() -> dict[str, Any]:
        outcome = sweep(ctx, enqueue)
        return {"requeued": outcome.requeued, "sent_to_review": outcome.sent_to_review}

    return app
