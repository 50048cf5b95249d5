"""Department and review queues on the database: claim with a lease, then acknowledge.

Why leases: a consumer (a front-desk app, a billing integration) can crash holding an item. A
claim is only good until ``lease_expires_at``; after that the item is claimable again, so nothing
stays stuck, and an acknowledgement after the lease ran out is refused because the item may
already be in someone else's hands. Delivery is therefore at least once.

Many consumers on many hosts may claim at once. On Postgres the candidate row is taken with
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent claimers pass over each other's rows instead
of queueing behind them. On SQLite the claim is a guarded ``UPDATE ... WHERE id = ? AND (still
claimable)`` whose row count says whether we won; a loser retries with the next candidate.
Transactions follow the contract in ``router.store``: each call commits its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from router.db import read_transaction, write_transaction
from router.schemas import Department, utcnow
from router.tables import REVIEW_DEPARTMENT, AuditEvent, Decision, Message, QueueItem

# How many times a SQLite claimer retries after losing a race for a candidate.
MAX_CLAIM_RETRIES = 8


@dataclass(frozen=True)
class ReviewItem:
    """One message waiting for a human label, with what the model thought of it."""

    item_id: str
    message_id: str
    channel: str
    subject: str | None
    text: str
    priority: str
    status: str
    created_at: datetime
    intent: str | None = None
    confidence: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    model_version: str | None = None


def _claimable(departments: Sequence[str], now: datetime) -> Any:
    """Open items, or claimed items whose lease has run out, in one of ``departments``."""
    return and_(
        QueueItem.department.in_(list(departments)),
        or_(
            QueueItem.status == "open",
            and_(QueueItem.status == "claimed", QueueItem.lease_expires_at < now),
        ),
    )


def _claim_order() -> tuple[Any, ...]:
    """Urgent first, then oldest first; the id only breaks exact ties."""
    return (case((QueueItem.priority == "urgent", 0), else_=1), QueueItem.created_at, QueueItem.id)


def _take(
    session: Session,
    item_id: str,
    departments: Sequence[str],
    consumer: str,
    now: datetime,
    expires: datetime,
) -> QueueItem | None:
    """Guarded claim of one candidate; None if another consumer got it first."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(QueueItem)
            .where(QueueItem.id == item_id, _claimable(departments, now))
            .values(status="claimed", claimed_by=consumer, lease_expires_at=expires)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return None
    item = session.get(QueueItem, item_id, populate_existing=True)
    assert item is not None
    session.add(
        AuditEvent(
            message_id=item.message_id,
            event="queue_claimed",
            detail={"item_id": item.id, "department": item.department, "consumer": consumer},
        )
    )
    session.flush()
    # Detached with its attributes loaded, so the caller can read it after commit and close.
    session.expunge(item)
    return item


def claim_next_item(
    session: Session, departments: Sequence[str], consumer: str, lease_seconds: float
) -> QueueItem | None:
    """Claim the next item for ``consumer`` from any of ``departments``, or None if there is none.

    Picks urgent before normal, then the oldest, among open items and claimed items whose lease
    has expired. The returned item (detached, committed) is 'claimed' by ``consumer`` until
    ``lease_expires_at`` = now + ``lease_seconds``. Two concurrent claimers never get the same
    item while its lease holds. A non-positive ``lease_seconds`` yields an already-expired lease
    (tests use it to simulate a crashed consumer).
    """
    if not departments:
        return None
    departments = [str(d) for d in departments]
    dialect = session.get_bind().dialect.name
    for _ in range(MAX_CLAIM_RETRIES):
        now = utcnow()
        expires = now + timedelta(seconds=lease_seconds)
        with write_transaction(session):
            candidate = select(QueueItem.id).where(_claimable(departments, now)).order_by(*_claim_order())
            if dialect == "postgresql":
                candidate = candidate.with_for_update(skip_locked=True)
            item_id = session.scalar(candidate.limit(1))
            if item_id is None:
                return None
            item = _take(session, item_id, departments, consumer, now, expires)
            if item is not None:
                return item
    return None


def ack_item(session: Session, item_id: str, consumer: str) -> bool:
    """Complete an item claimed by ``consumer``; False if it is not (or no longer) theirs.

    Refused when the item is not claimed, is claimed by someone else, or the lease has run out
    (even if nobody has re-claimed it yet: it may be in another consumer's hands any moment).
    Acknowledging twice returns False the second time. Committed on return.
    """
    now = utcnow()
    with write_transaction(session):
        row = session.execute(
            update(QueueItem)
            .where(
                QueueItem.id == item_id,
                QueueItem.status == "claimed",
                QueueItem.claimed_by == consumer,
                QueueItem.lease_expires_at >= now,
            )
            .values(status="done", done_at=now)
            .returning(QueueItem.message_id, QueueItem.department)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return False
        message_id, department = row
        session.add(
            AuditEvent(
                message_id=message_id,
                event="queue_done",
                detail={"item_id": item_id, "department": department, "consumer": consumer},
            )
        )
    return True


def queue_sizes(session: Session) -> dict[str, int]:
    """Open (unclaimed) items per department, every department present (0 when empty)."""
    sizes = {d.value: 0 for d in Department}
    with read_transaction(session):
        rows = session.execute(
            select(QueueItem.department, func.count())
            .where(QueueItem.status == "open")
            .group_by(QueueItem.department)
        ).all()
    for department, count in rows:
        sizes[department] = int(count)
    return sizes


def list_review_items(session: Session, limit: int) -> list[ReviewItem]:
    """Messages waiting in the review queue (open or claimed), urgent first, then oldest.

    Each comes with the text and the model's current decision, which is what a reviewer needs
    to pick a label (this goes to the practice's own staff, never to logs).
    """
    with read_transaction(session):
        rows = session.execute(
            select(QueueItem, Message, Decision)
            .join(Message, Message.id == QueueItem.message_id)
            .outerjoin(Decision, (Decision.message_id == Message.id) & Decision.is_current.is_(True))
            .where(QueueItem.department == REVIEW_DEPARTMENT, QueueItem.status != "done")
            .order_by(*_claim_order())
            .limit(limit)
        ).all()
        # built inside the transaction: a session with expire_on_commit would expire the rows
        return [
            ReviewItem(
                item_id=item.id,
                message_id=message.id,
                channel=message.channel,
                subject=message.subject,
                text=message.text,
                priority=item.priority,
                status=item.status,
                created_at=item.created_at,
                intent=decision.intent if decision is not None else None,
                confidence=decision.confidence if decision is not None else None,
                scores=dict(decision.scores or {}) if decision is not None else {},
                reason=decision.reason if decision is not None else None,
                model_version=decision.model_version if decision is not None else None,
            )
            for item, message, decision in rows
        ]
