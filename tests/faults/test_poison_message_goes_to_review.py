"""A message whose classification always raises: it ends in human review, and never holds up others.

The worker runs in this process (celery's ``start_worker``, a thread, on a private Redis) because
the poison is a predict function that raises on a marker, which a separate worker process cannot be
given; everything else is real: webhooks through a ``frontdesk serve`` process, Postgres, and the
sweeper fired by a ``frontdesk beat`` process. The poison's batch falls back to one-by-one, its
batch-mates are decided at once, and after ``max_attempts`` re-enqueues the sweeper sends the
poison to review with reason ``classification_failed``: one decision, one review queue item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from models.classifier import Classifier, Prediction
from router import store
from router.settings import Settings
from router.tables import Message
from tests.faults.support import (
    audit_pipeline,
    post_all,
    record_figures,
    spot_check_audit_trail,
    wait_for,
    webhook_requests,
)
from worker import celery_app
from worker.celery_app import create_celery_app
from worker.context import WorkerContext
from worker.processing import process_batch

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.timeout(180)]

MARKER = "zzpoisonzz"
MAX_ATTEMPTS = 2
SWEEP_AFTER = 2.0


class PoisonedPredict:
    """The real classifier, except that any call whose texts include MARKER raises."""

    def __init__(self, classifier: Classifier, batch_size: int) -> None:
        self.classifier = classifier
        self.batch_size = batch_size
        self.lock = threading.Lock()
        self.poison_batches: list[int] = []  # size of every call that held the poison
        self.singles_ok = 0  # one-by-one calls that succeeded (batch-mates rescued by the fallback)

    def __call__(self, texts: Sequence[str]) -> list[Prediction]:
        with self.lock:
            if any(MARKER in t for t in texts):
                self.poison_batches.append(len(texts))
                raise RuntimeError("poison")
            if len(texts) == 1:
                self.singles_ok += 1
        return self.classifier.predict(texts, batch_size=self.batch_size)


def attempts_of(sessions, message_id: str) -> int:
    with sessions() as session:
        return int(session.scalar(select(Message.attempts).where(Message.id == message_id)) or 0)


def test_poison_message_goes_to_review(
    make_stack, sessions, database_url, broker_url, model_dir, monkeypatch
) -> None:
    stack = make_stack(
        FRONTDESK_SWEEP_AFTER_SECONDS=str(SWEEP_AFTER), FRONTDESK_MAX_ATTEMPTS=str(MAX_ATTEMPTS)
    )
    stack.start_api()
    stack.start_beat()
    settings = Settings(
        database_url=database_url,
        broker_url=broker_url,
        model_dir=model_dir,
        onnx_threads=1,
        batch_size=16,
        batch_flush_interval=0.5,  # long enough that the burst below shares batches on a busy box
        sweep_after_seconds=SWEEP_AFTER,
        sweep_interval_seconds=1,
        max_attempts=MAX_ATTEMPTS,
    )
    ctx = WorkerContext(settings)
    predict = PoisonedPredict(Classifier(model_dir, threads=1), settings.batch_size)
    ctx.predict_override = predict
    app = create_celery_app(settings, ctx)
    batches: list[list[str]] = []  # the ids of every batch the classify task ran

    def recording_process_batch(ids: Sequence[str], context: WorkerContext, **options: Any):  # type: ignore[no-untyped-def]
        batches.append(list(ids))
        return process_batch(ids, context, **options)

    monkeypatch.setattr(celery_app, "process_batch", recording_process_batch)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        warm = post_all(stack.base_url, webhook_requests(stack, 16, "warm"))
        wait_for(lambda: all_decided(sessions, warm), 60, "the warm-up messages to be decided")

        poison_index = 7
        wave = webhook_requests(
            stack, 31, "mate", edit=lambda i, text: f"{MARKER} {text}" if i == poison_index else text
        )
        started = time.monotonic()
        first = post_all(stack.base_url, wave, concurrency=31)
        assert {p.status for p in first} == {202}
        poison_id = first[poison_index].message_id
        mates = [p for i, p in enumerate(first) if i != poison_index]
        mates_decided = wait_for(
            lambda: all_decided(sessions, mates), 60, "the poison's batch-mates to be decided"
        )

        # while the poison is being retried, new messages still flow
        wait_for(lambda: attempts_of(sessions, poison_id) >= 1, 30, "the sweeper to re-enqueue the poison")
        second = post_all(stack.base_url, webhook_requests(stack, 16, "later"))
        later_decided = wait_for(
            lambda: all_decided(sessions, second), 60, "messages posted during the retries"
        )

        wait_for(lambda: all_decided(sessions, [first[poison_index]]), 60, "the poison to be given up")
        poison_seconds = time.monotonic() - started

    with sessions() as session:
        poison = store.get_message(session, poison_id)
        mate_rows = store.get_messages(session, [p.message_id for p in mates])
    assert poison is not None and poison.decision is not None
    sent = {p.message_id for p in [*warm, *first, *second] if p.message_id}
    result = audit_pipeline(sessions, sent)
    figures = {
        "messages": len(sent),
        "poison_batch_sizes": predict.poison_batches,
        "poison_deliveries": sum(poison_id in b for b in batches),
        "poison_first_batch_size": next(len(b) for b in batches if poison_id in b),
        "predict_calls_holding_poison": len(predict.poison_batches),
        "poison_attempts": poison.attempts,
        "batch_mates_rescued_one_by_one": predict.singles_ok,
        "seconds_to_decide_batch_mates": round(mates_decided, 2),
        "seconds_to_decide_messages_posted_during_retries": round(later_decided, 2),
        "seconds_until_poison_sent_to_review": round(poison_seconds, 2),
        "max_attempts": MAX_ATTEMPTS,
        **result.figures(),
    }
    record_figures("poison_message", figures)

    decision = poison.decision
    assert decision.route.value == "review" and decision.needs_review
    assert decision.reason == "classification_failed" and decision.decided_by == "rule"
    assert poison.attempts == MAX_ATTEMPTS  # re-enqueues, counting the sweep that gave up
    assert figures["poison_first_batch_size"] > 1, "the poison should have shared a batch with others"
    assert figures["poison_deliveries"] == MAX_ATTEMPTS, "one delivery per failure until max_attempts"
    assert predict.singles_ok >= 1, "the batch-mates were classified one by one after the batch raised"
    assert all(m.decision is not None and m.decision.reason != "classification_failed" for m in mate_rows)
    assert all(m.decision.model_version == ctx.classifier.version for m in mate_rows)
    assert all(m.decided_at < poison.decided_at for m in mate_rows), (
        "batch-mates must not wait for the poison"
    )
    result.assert_exactly_once()
    assert result.classification_failed == 1
    spot_check_audit_trail(sessions, [poison_id, mates[0].message_id])


def all_decided(sessions, posted) -> bool:
    ids = [p.message_id for p in posted]
    with sessions() as session:
        rows = store.get_messages(session, ids)
    return len(rows) == len(ids) and all(r.status == "decided" for r in rows)
