"""Response models of the API (pydantic), built from the store's records."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from router.schemas import RoutingDecision
from router.store import StoredMessage


class MessageView(BaseModel):
    id: str
    channel: str
    status: str
    received_at: datetime
    subject: str | None
    text: str
    decision: RoutingDecision | None

    @classmethod
    def of(cls, stored: StoredMessage) -> MessageView:
        m = stored.message
        return cls(
            id=m.id,
            channel=m.channel.value,
            status=stored.status,
            received_at=m.received_at,
            subject=m.subject,
            text=m.text,
            decision=stored.decision,
        )


class ClaimedItem(BaseModel):
    item_id: str
    department: str
    priority: str
    lease_expires_at: datetime | None
    message: MessageView


class ReviewLabel(BaseModel):
    label: str
