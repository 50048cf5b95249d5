"""router.store against real databases: idempotency, one current decision, review, sweeping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.schemas import Channel, Department, InboundMessage, Priority, RoutingDecision
from router.tables import AuditEvent, Decision, Message, QueueItem, Review

MakeInbound = Callable[..., InboundMessage]
MakeDecision = Callable[..., RoutingDecision]


def _count(session: Session, model: type, *where: object) -> int:
    with session.begin():
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _events(session: Session, message_id: str) -> list[str]:
    return [event for event, _ in store.audit_events(session, message_id)]


def test_store_inbound_is_idempotent(session: Session, make_inbound: MakeInbound) -> None:
    first = make_inbound(external_id="form-1", sender_phone="+15555550100")
    message_id, created = store.store_inbound(session, first)
    # a redelivered webhook parses into a new object with a new id but the same external id
    again_id, again_created = store.store_inbound(session, make_inbound(external_id="form-1"))

    assert (message_id, created) == (first.id, True)
    assert (again_id, again_created) == (first.id, False)
    assert _count(session, Message) == 1
    assert _events(session, message_id) == ["received"]
    stored = store.get_message(session, message_id)
    assert stored is not None and stored.status == "received" and stored.decision is None
    assert stored.message.text == first.text and stored.message.sender_phone == "+15555550100"


def test_store_inbound_audits_the_channel_once(session: Session, make_inbound: MakeInbound) -> None:
    """On Postgres the message and its audit row are one statement; the audit row must still be there."""
    message_id, _ = store.store_inbound(session, make_inbound(channel=Channel.sms))
    store.store_inbound(session, make_inbound(channel=Channel.sms, external_id="other"))
    assert store.audit_events(session, message_id) == [("received", {"channel": "sms"})]


def test_store_inbound_in_the_callers_transaction_is_undone_with_it(
    session: Session, make_inbound: MakeInbound
) -> None:
    message = make_inbound()
    with pytest.raises(RuntimeError), session.begin():
        store.store_inbound(session, message)
        raise RuntimeError("the caller fails after storing")
    assert store.get_message(session, message.id) is None
    assert _count(session, AuditEvent) == 0


def test_same_external_id_on_another_channel_is_another_message(
    session: Session, make_inbound: MakeInbound
) -> None:
    a, _ = store.store_inbound(session, make_inbound(external_id="42", channel=Channel.sms))
    b, created = store.store_inbound(session, make_inbound(external_id="42", channel=Channel.email))
    assert created and a != b


def test_audit_detail_holds_no_patient_text(session: Session, make_inbound: MakeInbound) -> None:
    message = make_inbound(text="chest pain since this morning", sender_phone="+15555550123")
    store.store_inbound(session, message)
    with session.begin():
        details = [repr(d) for d in session.scalars(select(AuditEvent.detail))]
    assert details and not any("chest" in d or "555" in d for d in details)


def test_timestamps_come_back_timezone_aware_utc(session: Session, make_inbound: MakeInbound) -> None:
    aware = datetime(2024, 5, 1, 9, 30, tzinfo=UTC) + timedelta(microseconds=7)
    message_id, _ = store.store_inbound(session, make_inbound(received_at=aware))
    stored = store.get_message(session, message_id)
    assert stored is not None
    assert stored.message.received_at == aware
    assert stored.message.received_at.utcoffset() == timedelta(0)
    assert stored.created_at.tzinfo is not None


@pytest.mark.timeout(60)
def test_concurrent_store_inbound_writes_one_row(
    session_factory: sessionmaker[Session], make_inbound: MakeInbound
) -> None:
    """The same webhook delivered to several API processes at the same moment."""
    barrier = threading.Barrier(6)

    def deliver(_: int) -> tuple[str, bool]:
        message = make_inbound(external_id="SM-race", channel=Channel.sms)
        with session_factory() as session:
            barrier.wait()
            return store.store_inbound(session, message)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(deliver, range(6)))

    assert len({message_id for message_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with session_factory() as session:
        assert _count(session, Message) == 1


def test_record_decisions_twice_writes_one_decision(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    ids = [store.store_inbound(session, make_inbound())[0] for _ in range(3)]
    batch = [make_decision(i) for i in ids]

    assert store.record_decisions(session, batch) == 3
    assert store.record_decisions(session, batch) == 0

    assert _count(session, Decision) == 3
    assert _count(session, Decision, Decision.is_current.is_(True)) == 3
    assert _count(session, QueueItem, QueueItem.department == "scheduling", QueueItem.status == "open") == 3
    stored = store.get_message(session, ids[0])
    assert stored is not None and stored.status == "decided"
    assert stored.decision == batch[0]
    assert _events(session, ids[0]) == ["received", "decided"]


def test_record_decisions_routes_review_skips_duplicates_and_unknown_ids(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    message_id, _ = store.store_inbound(session, make_inbound())
    unsure = make_decision(
        message_id, route=Department.review, needs_review=True, reason="low_confidence", confidence=0.3
    )
    confident = make_decision(message_id)

    written = store.record_decisions(session, [unsure, confident, make_decision("no-such-message")])

    assert written == 1
    with session.begin():
        items = session.scalars(select(QueueItem)).all()
    assert [(i.department, i.status) for i in items] == [("review", "open")]


def test_record_decisions_is_all_or_nothing(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    ok_id, _ = store.store_inbound(session, make_inbound())
    bad_id, _ = store.store_inbound(session, make_inbound())
    with pytest.raises(ValueError):
        store.record_decisions(session, [make_decision(ok_id), make_decision(bad_id, decided_by="oracle")])
    assert _count(session, Decision) == 0


@pytest.mark.timeout(60)
def test_concurrent_batches_for_the_same_messages_write_once(
    session_factory: sessionmaker[Session], make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    """A redelivered batch running on two workers at once still writes one decision each."""
    with session_factory() as session:
        ids = [store.store_inbound(session, make_inbound())[0] for _ in range(10)]
    barrier = threading.Barrier(2)

    def worker(order: int) -> int:
        batch = [make_decision(i) for i in (ids if order == 0 else list(reversed(ids)))]
        with session_factory() as session:
            barrier.wait()
            return store.record_decisions(session, batch)

    with ThreadPoolExecutor(max_workers=2) as pool:
        written = list(pool.map(worker, range(2)))

    assert sum(written) == 10
    with session_factory() as session:
        assert _count(session, Decision) == 10
        assert _count(session, QueueItem) == 10


def test_database_refuses_a_second_current_decision(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    message_id, _ = store.store_inbound(session, make_inbound())
    store.record_decisions(session, [make_decision(message_id)])
    with pytest.raises(IntegrityError), session.begin():
        session.add(
            Decision(
                message_id=message_id,
                intent="x",
                scores={},
                confidence=1.0,
                margin=1.0,
                route="billing",
                reason="test",
                decided_by="model",
                is_current=True,
            )
        )


def test_human_label_keeps_history_and_routes(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    message_id, _ = store.store_inbound(session, make_inbound(subject=None))
    model = make_decision(
        message_id,
        intent="billing_question",
        route=Department.review,
        needs_review=True,
        priority=Priority.urgent,
        reason="low_margin",
    )
    store.record_decisions(session, [model])

    human = store.record_human_label(session, message_id, "reschedule", "dana", Department.scheduling)

    assert (human.decided_by, human.intent, human.route) == ("human", "reschedule", Department.scheduling)
    assert human.priority == Priority.urgent and human.model_version == "test-model-1"
    with session.begin():
        decisions = session.scalars(
            select(Decision).where(Decision.message_id == message_id).order_by(Decision.created_at)
        ).all()
        items = {(i.department, i.status) for i in session.scalars(select(QueueItem))}
        reviews = session.scalars(select(Review)).all()
    assert [(d.decided_by, d.is_current) for d in decisions] == [("model", False), ("human", True)]
    assert items == {("review", "done"), ("scheduling", "open")}
    assert [(r.label, r.reviewer) for r in reviews] == [("reschedule", "dana")]
    stored = store.get_message(session, message_id)
    assert stored is not None and stored.decision == human
    assert store.list_reviewed_examples(session) == [
        {"text": stored.message.text, "label": "reschedule", "channel": "web_form"}
    ]
    assert _events(session, message_id)[-2:] == ["decided", "human_label"]

    # a late model decision (redelivered batch) does not overwrite the human one
    assert store.record_decisions(session, [make_decision(message_id)]) == 0
    after = store.get_message(session, message_id)
    assert after is not None and after.decision == human


def test_human_label_rejects_review_route_and_unknown_message(session: Session) -> None:
    with pytest.raises(ValueError):
        store.record_human_label(session, "whatever", "reschedule", "dana", Department.review)
    with pytest.raises(store.MessageNotFoundError):
        store.record_human_label(session, "no-such-id", "reschedule", "dana", Department.scheduling)


def test_human_decision_through_record_decisions_supersedes_once(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    message_id, _ = store.store_inbound(session, make_inbound())
    store.record_decisions(session, [make_decision(message_id)])
    human = make_decision(
        message_id, intent="bill_pay", route=Department.billing, decided_by="human", reason="human"
    )

    assert store.record_decisions(session, [human]) == 1
    assert store.record_decisions(session, [human]) == 0

    assert _count(session, Decision) == 2
    assert _count(session, QueueItem, QueueItem.status != "done") == 1
    stored = store.get_message(session, message_id)
    assert stored is not None and stored.decision is not None and stored.decision.route == Department.billing


def test_one_batch_with_several_decisions_for_a_message_ends_with_the_last_human_one(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    """The batch is written in bulk, yet judged in order, as if one decision at a time."""
    message_id, _ = store.store_inbound(session, make_inbound())
    first_human = make_decision(
        message_id, intent="bill_pay", route=Department.billing, decided_by="human", reason="human"
    )
    second_human = make_decision(
        message_id, intent="complaint", route=Department.manager, decided_by="human", reason="human"
    )
    batch = [make_decision(message_id), make_decision(message_id), first_human, second_human]

    assert store.record_decisions(session, batch) == 3

    assert _count(session, Decision) == 3
    assert _count(session, Decision, Decision.is_current.is_(True)) == 1
    assert _count(session, QueueItem, QueueItem.status != "done") == 1
    stored = store.get_message(session, message_id)
    assert stored is not None and stored.decision is not None and stored.decision.route == Department.manager
    assert _events(session, message_id) == ["received", "decided", "decided", "decided"]


def test_examples_use_latest_label_and_include_subject(session: Session, make_inbound: MakeInbound) -> None:
    message_id, _ = store.store_inbound(session, make_inbound(subject="Bill", channel=Channel.email))
    store.record_human_label(session, message_id, "reschedule", "dana", Department.scheduling)
    store.record_human_label(session, message_id, "bill_pay", "lee", Department.billing)
    examples = store.list_reviewed_examples(session)
    assert [(e["label"], e.get("subject"), e["channel"]) for e in examples] == [("bill_pay", "Bill", "email")]


def test_sweep_selection_and_marking(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    old_id, _ = store.store_inbound(session, make_inbound())
    new_id, _ = store.store_inbound(session, make_inbound())
    decided_id, _ = store.store_inbound(session, make_inbound())
    store.record_decisions(session, [make_decision(decided_id)])
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    with session.begin():
        session.execute(
            update(Message).where(Message.id.in_([old_id, decided_id])).values(created_at=long_ago)
        )
    cutoff = datetime.now(UTC) - timedelta(minutes=1)

    # never enqueued by the sweeper: age counts from when it was stored; decided ones never count
    assert [m.id for m in store.claim_stale_messages(session, cutoff, limit=10)] == [old_id]
    # taking it marks it enqueued now, so it is not stale again until the next cutoff
    assert store.claim_stale_messages(session, cutoff, limit=10) == []
    stored = store.get_message(session, old_id)
    assert stored is not None and stored.attempts == 1 and stored.enqueued_at is not None
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert {m.id for m in store.claim_stale_messages(session, later, 10)} == {old_id, new_id}


def test_claim_stale_messages_marks_and_counts_attempts(session: Session, make_inbound: MakeInbound) -> None:
    ids = [store.store_inbound(session, make_inbound())[0] for _ in range(3)]
    cutoff = datetime.now(UTC)

    first = store.claim_stale_messages(session, cutoff, limit=2)
    second = store.claim_stale_messages(session, cutoff, limit=2)
    third = store.claim_stale_messages(session, cutoff, limit=2)

    assert [m.attempts for m in first] == [1, 1]
    assert {m.id for m in first} | {m.id for m in second} == set(ids)
    # claimed ones count as freshly enqueued, so each message is taken once
    assert len(second) == 1 and third == []


def test_claim_stale_joins_callers_transaction(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    """The sweeper's pattern: claim and send to review in one transaction; a rollback undoes both."""
    message_id, _ = store.store_inbound(session, make_inbound())
    future = datetime.now(UTC) + timedelta(seconds=1)
    with pytest.raises(RuntimeError), session.begin():
        stale = store.claim_stale_messages(session, future, 10)
        store.record_decisions(session, [make_decision(m.id) for m in stale])
        raise RuntimeError("crash before commit")
    stored = store.get_message(session, message_id)
    assert stored is not None and stored.status == "received" and stored.attempts == 0

    with session.begin():
        stale = store.claim_stale_messages(session, future, 10)
        store.record_decisions(session, [make_decision(m.id) for m in stale])
    stored = store.get_message(session, message_id)
    assert stored is not None and stored.status == "decided" and stored.attempts == 1


def test_mark_failed_keeps_message_undecided_for_a_review_decision(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    message_id, _ = store.store_inbound(session, make_inbound())
    store.mark_failed(session, message_id, "max_attempts")

    assert [m.id for m in store.pending_messages(session, [message_id])] == [message_id]
    review = make_decision(
        message_id, intent=None, route=Department.review, needs_review=True, reason="classification_failed"
    )
    assert store.record_decisions(session, [review]) == 1
    assert store.pending_messages(session, [message_id]) == []
    events = store.audit_events(session, message_id)
    assert ("failed", {"reason": "max_attempts", "attempts": 0}) in events
    with pytest.raises(store.MessageNotFoundError):
        store.mark_failed(session, "no-such-id", "x")


def test_pending_messages_keeps_order_and_skips_decided(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    a, _ = store.store_inbound(session, make_inbound(review_reason="no_transcript"))
    b, _ = store.store_inbound(session, make_inbound())
    c, _ = store.store_inbound(session, make_inbound())
    store.record_decisions(session, [make_decision(b)])

    pending = store.pending_messages(session, [c, a, b, c, "unknown"])

    assert [m.id for m in pending] == [c, a]
    assert pending[1].review_reason == "no_transcript"


def test_undecided_count_counts_received_and_failed_until_decided(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    ids = [store.store_inbound(session, make_inbound())[0] for _ in range(3)]
    with session.begin():
        session.execute(update(Message).where(Message.id == ids[2]).values(status="failed"))
    assert store.undecided_count(session) == 3
    store.record_decisions(session, [make_decision(ids[0])])
    assert store.undecided_count(session) == 2
    assert store.undecided_count(session) == sum(
        n for status, n in store.status_counts(session).items() if status != "decided"
    )
