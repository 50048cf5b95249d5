"""The sweeper: the database is the record of what is still to do, the broker only a hint.

Anything left ``received`` longer than ``sweep_after_seconds`` (its broker message lost to a
killed worker, a restarted Redis, a publish that failed, a batch whose write failed) is enqueued
again; after ``max_attempts`` classification failures (or ``max_deliveries`` deliveries without a
result) it goes to human review with reason ``classification_failed``, so a poison message ends
with a decision instead of looping for ever. Safe to run on many hosts at once:
claiming stale rows bumps ``enqueued_at`` in the same transaction (SKIP LOCKED on Postgres).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from router import store
from router.db import write_transaction
from router.enqueue import Enqueue
from router.policy import review_decision
from router.schemas import utcnow
from worker.context import WorkerContext
from worker.metrics import GAVE_UP, SWEPT

log = logging.getLogger(__name__)


def gives_up(message: store.StaleMessage, max_attempts: int, max_deliveries: int) -> bool:
    """Classification raised ``max_attempts`` times, or the message was delivered ``max_deliveries``
    times without a result (a message that kills its worker never gets to record a failure).

    Deliveries alone are a weak signal: a message merely waiting behind a backlog is re-enqueued
    every ``sweep_after_seconds`` too, so their cap is much higher than the failure cap.
    """
    return message.failures >= max_attempts or message.attempts > max_deliveries


@dataclass
class SweepOutcome:
    requeued: int
    sent_to_review: int


def sweep(ctx: WorkerContext, enqueue: Enqueue, limit: int = 1000) -> SweepOutcome:
    settings = ctx.settings
    cutoff = utcnow() - timedelta(seconds=settings.sweep_after_seconds)
    with ctx.session_factory() as session, write_transaction(session):
        stale = store.claim_stale_messages(session, cutoff, limit)
        give_up = [m.id for m in stale if gives_up(m, settings.max_attempts, settings.max_deliveries)]
        if give_up:
            store.record_decisions(session, [review_decision(i, "classification_failed") for i in give_up])
    retry = [m.id for m in stale if m.id not in give_up]
    if retry:
        enqueue(retry)
    SWEPT.inc(len(retry))
    GAVE_UP.inc(len(give_up))
    if stale:
        log.info("sweeper: re-enqueued %d, sent %d to review", len(retry), len(give_up))
    return SweepOutcome(len(retry), len(give_up))
