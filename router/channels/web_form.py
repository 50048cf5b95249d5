"""Web form: the practice website's contact-form JSON to an :class:`InboundMessage`.

Only the message itself is required. A malformed optional contact field (an email without an
``@``, a phone with no digits) is dropped rather than rejecting the submission, because the
patient's request matters more than their typo; staff still see the form's other fields.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router.channels import ChannelPayloadError
from router.channels.cleaning import clean_text, has_words, normalise_text
from router.schemas import Channel, InboundMessage

_ADDR_SPEC = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_KNOWN = frozenset({"submission_id", "message", "name", "email", "phone", "location"})
# Extra form fields are kept for staff only when they are small scalars: a form builder's
# nested blobs or uploaded files do not belong in the message row.
_MAX_EXTRA_FIELDS = 30
_MAX_EXTRA_KEY = 64
_MAX_EXTRA_STR = 200


class WebFormPayload(BaseModel):
    """The JSON body of ``POST /v1/inbound/form``; unknown fields are allowed and sifted later."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=True)

    submission_id: str = Field(min_length=1, max_length=255)
    message: str
    name: str | None = Field(default=None, max_length=1_000)
    email: str | None = Field(default=None, max_length=1_000)
    phone: str | None = Field(default=None, max_length=1_000)
    location: str | None = Field(default=None, max_length=1_000)


def _reason(error: ValidationError) -> str:
    """Field names and pydantic's message only: the submitted values may be patient data."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        parts.append(f"{where}: {item['msg']}")
    return "invalid web form: " + "; ".join(parts)


def _small_scalar(value: object) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= _MAX_EXTRA_STR


def _extras(form: WebFormPayload) -> dict[str, Any]:
    extras = form.model_extra or {}
    kept: dict[str, Any] = {}
    for key, value in extras.items():
        if len(kept) >= _MAX_EXTRA_FIELDS:
            break
        if key not in _KNOWN and len(key) <= _MAX_EXTRA_KEY and _small_scalar(value):
            kept[key] = normalise_text(value) if isinstance(value, str) else value
    return kept


def _field(value: str | None, limit: int = 200) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(normalise_text(value).split())[:limit]
    return cleaned or None


def parse_web_form(payload: Mapping[str, Any]) -> InboundMessage:
    """One contact-form submission; raises :class:`ChannelPayloadError` with the reason."""
    if not isinstance(payload, Mapping):
        raise ChannelPayloadError("web form payload must be a JSON object")
    if not all(isinstance(key, str) for key in payload):
        raise ChannelPayloadError("web form field names must be strings")
    try:
        form = WebFormPayload.model_validate(dict(payload))
    except ValidationError as exc:
        raise ChannelPayloadError(_reason(exc)) from None
    text = clean_text(Channel.web_form, form.message)
    if not text:
        raise ChannelPayloadError("web form message is empty")
    email = _field(form.email, 254)
    phone = _field(form.phone, 40)
    metadata = _extras(form)
    location = _field(form.location)
    if location:
        metadata["location"] = location
    return InboundMessage(
        channel=Channel.web_form,
        external_id=form.submission_id,
        sender_name=_field(form.name),
        sender_email=email if email and _ADDR_SPEC.match(email) else None,
        sender_phone=phone if phone and any(ch.isdigit() for ch in phone) else None,
        text=text,
        raw_metadata=metadata,
        review_reason=None if has_words(text) else "no_text",
    )
