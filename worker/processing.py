"""One batch: load what is still undecided, classify it, apply the policy, write it in one transaction.

Guarantees: a message already decided is skipped (a batch run twice writes one decision); a message
whose classification raises does not block its batch (the batch falls back to one-by-one and the
failing message is left ``received`` for the sweeper, which sends it to review after
``max_attempts``); a database error is retried a few times, then raised, leaving everything
``received`` so that nothing is half-written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from models.classifier import Prediction
from models.corpus import compose_text
from router import store
from router.db import write_transaction
from router.policy import decide, review_decision
from router.schemas import RoutingDecision
from worker.context import Predict, WorkerContext
from worker.metrics import BATCH_SECONDS, BATCH_SIZE, CLASSIFY_ERRORS, DECISIONS

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class BatchOutcome:
    decided: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole batch: load, model, policy, write
    model_seconds: float = 0.0  # of which the model (waiting for the inference lock included)


def predict_tolerantly(predict: Predict, texts: Sequence[str]) -> list[Prediction | None]:
    """The whole batch at once; if that raises, one by one, with None for each message that raises."""
    try:
        return list(predict(texts))
    except Exception:
        log.warning("batch classification raised; retrying %d messages one by one", len(texts))
    out: list[Prediction | None] = []
    for text in texts:
        try:
            out.append(predict([text])[0])
        except Exception as exc:
            CLASSIFY_ERRORS.inc()
            log.warning("classification raised %s for one message", type(exc).__name__)
            out.append(None)
    return out


def with_db_retries(action: Callable[[], T], attempts: int = 4, first_delay: float = 0.25) -> T:
    """Backs off over a database blip (a restart, a failover) before giving the batch up."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except OperationalError:
            if attempt == attempts:
                raise
            log.warning("database unavailable (attempt %d/%d); retrying in %.2fs", attempt, attempts, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def process_batch(
    message_ids: Sequence[str], ctx: WorkerContext, after_model: Callable[[], None] | None = None
) -> BatchOutcome:
    """``after_model`` is called once the model is done with this batch (the batching layer then
    lets the next batch form while this one is written)."""
    started = time.perf_counter()
    outcome = BatchOutcome()

    def load() -> list[store.PendingMessage]:
        with ctx.session_factory() as session:
            return store.pending_messages(session, list(dict.fromkeys(message_ids)))

    pending = with_db_retries(load)
    outcome.skipped = len(set(message_ids)) - len(pending)
    decisions: list[RoutingDecision] = []
    to_classify: list[store.PendingMessage] = []
    texts: list[str] = []
    for message in pending:
        text = compose_text(message.text, message.subject)
        if message.review_reason or not text:
            decisions.append(review_decision(message.id, message.review_reason or "empty_text"))
        else:
            to_classify.append(message)
            texts.append(text)
    if to_classify:
        model_started = time.perf_counter()
        predictions = predict_tolerantly(ctx.predict, texts)
        outcome.model_seconds = time.perf_counter() - model_started
        version = ctx.model_version
        for message, text, prediction in zip(to_classify, texts, predictions, strict=True):
            if prediction is None:
                outcome.failed.append(message.id)
                continue
            decisions.append(decide(message.id, text, prediction, version, ctx.policy))
    if after_model is not None:
        after_model()

    def write() -> int:
        with ctx.session_factory() as session, write_transaction(session):
            for message_id in outcome.failed:  # counted by the sweeper towards max_attempts
                store.mark_failed(session, message_id, "classification_error")
            return store.record_decisions(session, decisions)

    outcome.decided = with_db_retries(write) if decisions or outcome.failed else 0
    for decision in decisions:
        DECISIONS.labels(route=decision.route.value, reason=decision.reason.split(":")[0]).inc()
    outcome.seconds = time.perf_counter() - started
    BATCH_SIZE.observe(len(message_ids))
    BATCH_SECONDS.observe(outcome.seconds)
    return outcome
