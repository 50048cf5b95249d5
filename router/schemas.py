"""What a message is and what was decided about it, at the edges of the service (pydantic)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, Field


class Channel(StrEnum):
    email = "email"
    web_form = "web_form"
    sms = "sms"
    voicemail = "voicemail"


class Department(StrEnum):
    scheduling = "scheduling"
    billing = "billing"
    clinical = "clinical"
    front_desk = "front_desk"
    manager = "manager"
    review = "review"


class Priority(StrEnum):
    normal = "normal"
    urgent = "urgent"


def new_id() -> str:
    return uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class InboundMessage(BaseModel):
    """One message as a channel adapter produced it; ``text`` is already cleaned for the model."""

    id: str = Field(default_factory=new_id)
    channel: Channel
    external_id: str
    received_at: datetime = Field(default_factory=utcnow)
    sender_name: str | None = None
    sender_email: str | None = None
    sender_phone: str | None = None
    subject: str | None = None
    text: str
    raw_metadata: dict[str, Any] = Field(default_factory=dict)
    # set by an adapter that already knows the message cannot be classified (e.g. no transcript)
    review_reason: str | None = None


class RoutingDecision(BaseModel):
    message_id: str
    intent: str | None
    scores: dict[str, float] = Field(default_factory=dict)
    confidence: float = 0.0
    margin: float = 0.0
    route: Department
    priority: Priority = Priority.normal
    needs_review: bool = False
    model_version: str | None = None
    reason: str  # "model", "low_confidence", "low_margin", "red_flag:<rule>", "no_transcript", "human", ...
    decided_by: str = "model"  # "model", "rule", "human"
