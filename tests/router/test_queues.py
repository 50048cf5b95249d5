"""router.queues against real databases: claim, ack, leases, priority, concurrent consumers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from router import queues, store
from router.schemas import Department, InboundMessage, Priority, RoutingDecision
from router.tables import QueueItem

MakeInbound = Callable[..., InboundMessage]
MakeDecision = Callable[..., RoutingDecision]
LEASE = 300.0


@pytest.fixture
def enqueue(session: Session, make_inbound: MakeInbound, make_decision: MakeDecision) -> Callable[..., str]:
    """Puts a new message in a department queue the way production does; returns the message id."""

    def put(department: Department = Department.scheduling, priority: Priority = Priority.normal) -> str:
        message_id, _ = store.store_inbound(session, make_inbound())
        needs_review = department == Department.review
        store.record_decisions(
            session,
            [make_decision(message_id, route=department, priority=priority, needs_review=needs_review)],
        )
        return message_id

    return put


def test_claim_then_ack(session: Session, enqueue: Callable[..., str]) -> None:
    message_id = enqueue(Department.billing)
    assert queues.queue_sizes(session)["billing"] == 1

    item = queues.claim_next_item(session, ["billing"], "billing-app", LEASE)

    assert item is not None and item.message_id == message_id
    assert (item.status, item.claimed_by, item.department) == ("claimed", "billing-app", "billing")
    assert item.lease_expires_at is not None and item.lease_expires_at > datetime.now(UTC) + timedelta(
        seconds=200
    )
    assert queues.claim_next_item(session, ["billing"], "other-app", LEASE) is None
    assert queues.queue_sizes(session)["billing"] == 0

    assert not queues.ack_item(session, item.id, "other-app")
    assert queues.ack_item(session, item.id, "billing-app")
    assert not queues.ack_item(session, item.id, "billing-app")
    assert queues.claim_next_item(session, ["billing"], "billing-app", LEASE) is None
    assert [e for e, _ in store.audit_events(session, message_id)][-2:] == ["queue_claimed", "queue_done"]


def test_claim_only_from_the_given_departments(session: Session, enqueue: Callable[..., str]) -> None:
    enqueue(Department.clinical)
    assert queues.claim_next_item(session, ["scheduling", "billing"], "c", LEASE) is None
    assert queues.claim_next_item(session, [], "c", LEASE) is None
    item = queues.claim_next_item(session, [Department.scheduling, Department.clinical], "c", LEASE)
    assert item is not None and item.department == "clinical"


def test_expired_lease_makes_item_claimable_again(session: Session, enqueue: Callable[..., str]) -> None:
    enqueue()
    crashed = queues.claim_next_item(session, ["scheduling"], "crashed-consumer", lease_seconds=-1)
    assert crashed is not None

    again = queues.claim_next_item(session, ["scheduling"], "healthy-consumer", LEASE)

    assert again is not None and again.id == crashed.id and again.claimed_by == "healthy-consumer"
    assert not queues.ack_item(session, crashed.id, "crashed-consumer")
    assert queues.ack_item(session, again.id, "healthy-consumer")


def test_ack_after_lease_ran_out_is_refused(session: Session, enqueue: Callable[..., str]) -> None:
    enqueue()
    item = queues.claim_next_item(session, ["scheduling"], "slow", LEASE)
    assert item is not None
    with session.begin():
        session.execute(
            update(QueueItem)
            .where(QueueItem.id == item.id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert not queues.ack_item(session, item.id, "slow")


def test_urgent_first_then_oldest(session: Session, enqueue: Callable[..., str]) -> None:
    old_normal = enqueue(priority=Priority.normal)
    new_normal = enqueue(priority=Priority.normal)
    urgent = enqueue(priority=Priority.urgent)
    base = datetime.now(UTC) - timedelta(hours=1)
    with session.begin():  # make creation order explicit rather than trust clock resolution
        for minutes, message_id in enumerate([old_normal, new_normal, urgent]):
            session.execute(
                update(QueueItem)
                .where(QueueItem.message_id == message_id)
                .values(created_at=base + timedelta(minutes=minutes))
            )

    claimed = [queues.claim_next_item(session, ["scheduling"], "c", LEASE) for _ in range(3)]

    assert [item.message_id if item else None for item in claimed] == [urgent, old_normal, new_normal]


def test_list_review_items_shows_text_and_model_guess(
    session: Session, make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    message_id, _ = store.store_inbound(session, make_inbound(text="Is this covered by my plan?"))
    store.record_decisions(
        session,
        [
            make_decision(
                message_id,
                intent="billing_question",
                route=Department.review,
                needs_review=True,
                confidence=0.41,
                reason="low_confidence",
            )
        ],
    )

    items = queues.list_review_items(session, limit=10)

    assert [(i.message_id, i.text, i.intent, i.confidence, i.reason) for i in items] == [
        (message_id, "Is this covered by my plan?", "billing_question", 0.41, "low_confidence")
    ]
    assert queues.queue_sizes(session)["review"] == 1
    store.record_human_label(session, message_id, "billing_question", "dana", Department.billing)
    assert queues.list_review_items(session, limit=10) == []
    assert queues.queue_sizes(session)["billing"] == 1


@pytest.mark.timeout(120)
def test_concurrent_consumers_never_share_an_item(
    session_factory: sessionmaker[Session], make_inbound: MakeInbound, make_decision: MakeDecision
) -> None:
    with session_factory() as session:
        ids = [store.store_inbound(session, make_inbound())[0] for _ in range(30)]
        store.record_decisions(session, [make_decision(i) for i in ids])
    barrier = threading.Barrier(2)

    def consume(name: str) -> list[str]:
        got: list[str] = []
        with session_factory() as session:
            barrier.wait()
            while (item := queues.claim_next_item(session, ["scheduling"], name, LEASE)) is not None:
                got.append(item.message_id)
                assert queues.ack_item(session, item.id, name)
        return got

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(consume, ["consumer-a", "consumer-b"])

    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)
    with session_factory() as session:
        assert queues.queue_sizes(session)["scheduling"] == 0
