"""process_batch and the sweeper, on SQLite and Postgres, without a broker."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.schemas import Channel, InboundMessage
from tests.worker.conftest import raising_on
from worker.context import WorkerContext
from worker.processing import process_batch
from worker.sweeper import sweep


def current(session_factory: sessionmaker[Session], ids: list[str]) -> list[store.StoredMessage]:
    with session_factory() as session:
        return store.get_messages(session, ids)


def test_a_batch_decides_every_message_with_the_model_version(
    context: WorkerContext,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
) -> None:
    ids = stored_messages(20)
    outcome = process_batch(ids, context)
    assert outcome.decided == 20 and not outcome.failed
    for stored in current(session_factory, ids):
        assert stored.status == "decided"
        assert stored.decision is not None
        assert stored.decision.model_version == context.classifier.version
        assert abs(sum(stored.decision.scores.values()) - 1) < 1e-3


def test_a_batch_run_twice_writes_one_decision(
    context: WorkerContext,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
) -> None:
    ids = stored_messages(5)
    assert process_batch(ids + ids, context).decided == 5
    second = process_batch(ids, context)
    assert second.decided == 0 and second.skipped == 5
    with session_factory() as session:
        for message_id in ids:
            assert [e for e, _ in store.audit_events(session, message_id)].count("decided") == 1


def test_poison_message_does_not_block_its_batch_and_ends_in_review(
    context: WorkerContext,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
) -> None:
    texts = ["POISON please", "need to reschedule my appointment", "question about my bill"]
    ids = stored_messages(3, texts)
    context.predict_override = raising_on("POISON", context.classifier.predict)
    outcome = process_batch(ids, context)
    assert outcome.failed == [ids[0]] and outcome.decided == 2
    assert current(session_factory, ids[:1])[0].decision is None

    sent: list[str] = []
    enqueue = lambda batch: sent.extend(batch) or len(batch)  # noqa: E731
    # max_attempts=2: one failure so far, one more try through the sweeper, then review
    for _ in range(context.settings.max_attempts - 1):
        assert sweep(context, enqueue).requeued == 1
        assert process_batch(ids[:1], context).failed == [ids[0]]
    outcome_sweep = sweep(context, enqueue)
    assert outcome_sweep.sent_to_review == 1 and outcome_sweep.requeued == 0
    (poison,) = current(session_factory, ids[:1])
    assert poison.decision is not None and poison.decision.needs_review
    assert poison.decision.reason == "classification_failed"
    assert sent == [ids[0]] * (context.settings.max_attempts - 1)


def test_a_backlog_alone_never_sends_a_message_to_review(
    context: WorkerContext,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
) -> None:
    """Re-enqueued many times while waiting (no failure recorded): still classified, not given up."""
    (message_id,) = stored_messages(1)
    for _ in range(context.settings.max_deliveries):
        assert sweep(context, lambda batch: len(batch)).sent_to_review == 0
    assert process_batch([message_id], context).decided == 1
    (stored,) = current(session_factory, [message_id])
    assert stored.decision is not None and stored.decision.reason != "classification_failed"


def test_unreadable_messages_go_straight_to_review(
    context: WorkerContext, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        failed_voicemail = InboundMessage(
            channel=Channel.voicemail, external_id="TR1", text="", review_reason="no_transcript"
        )
        subject_only = InboundMessage(
            channel=Channel.email, external_id="<a@b>", text="", subject="Cancel my appt"
        )
        ids = [store.store_inbound(session, m)[0] for m in (failed_voicemail, subject_only)]
    process_batch(ids, context)
    voicemail, email = current(session_factory, ids)
    assert voicemail.decision is not None and voicemail.decision.reason == "no_transcript"
    assert voicemail.decision.needs_review and voicemail.decision.intent is None
    assert email.decision is not None and email.decision.intent is not None  # classified from the subject


def test_sweeper_requeues_only_what_is_still_undecided(
    context: WorkerContext, stored_messages: Callable[[int], list[str]]
) -> None:
    ids = stored_messages(4)
    process_batch(ids[:2], context)
    sent: list[str] = []
    outcome = sweep(context, lambda batch: sent.extend(batch) or len(batch))
    assert sorted(sent) == sorted(ids[2:]) and outcome.requeued == 2
