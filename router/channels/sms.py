"""SMS: Twilio's inbound-message webhook (form-encoded) to an :class:`InboundMessage`.

The signature is checked by the HTTP layer before this runs; here the form is only interpreted.
A picture, or an emoji, sent with no words is still a patient reaching out, so it becomes a
message flagged for a human (``review_reason="no_text"``) instead of being rejected; only a
blank text with no media is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router.channels import ChannelPayloadError
from router.channels.cleaning import clean_text, has_words
from router.schemas import Channel, InboundMessage

_MAX_SID = 64
_MAX_MEDIA = 10


def form_value(form: Mapping[str, Any], name: str, limit: int = 200) -> str | None:
    """A Twilio form field as a stripped string (None when absent or blank); rejects non-text."""
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ChannelPayloadError(f"form field {name} must be text")
    value = value.strip()
    return value[:limit] or None


def sid(form: Mapping[str, Any], *names: str) -> str:
    """The first present Twilio SID among ``names``; SIDs are short ASCII identifiers."""
    for name in names:
        value = form_value(form, name, limit=_MAX_SID + 1)
        if value is None:
            continue
        if len(value) > _MAX_SID or not value.isascii() or not value.isalnum():
            raise ChannelPayloadError(f"{name} is not a Twilio SID")
        return value
    raise ChannelPayloadError(f"missing {' or '.join(names)}")


def _num_media(form: Mapping[str, Any]) -> int:
    raw = form_value(form, "NumMedia", limit=10)
    if raw is None:
        return 0
    if not raw.isdecimal():
        raise ChannelPayloadError("NumMedia must be a whole number")
    return int(raw)


def _media(form: Mapping[str, Any], count: int) -> list[dict[str, str | None]]:
    media = []
    for i in range(min(count, _MAX_MEDIA)):
        url = form_value(form, f"MediaUrl{i}", limit=2_000)
        if url:
            media.append({"url": url, "content_type": form_value(form, f"MediaContentType{i}", limit=100)})
    return media


def parse_twilio_sms(form: Mapping[str, Any]) -> InboundMessage:
    """One inbound SMS/MMS as Twilio posts it; raises :class:`ChannelPayloadError` with the reason."""
    if not isinstance(form, Mapping):
        raise ChannelPayloadError("SMS webhook must be a form")
    message_sid = sid(form, "MessageSid", "SmsSid")
    body = form.get("Body") or ""
    if not isinstance(body, str):
        raise ChannelPayloadError("form field Body must be text")
    num_media = _num_media(form)
    text = clean_text(Channel.sms, body)
    if not text and num_media == 0:
        raise ChannelPayloadError("empty SMS body")
    metadata: dict[str, Any] = {"num_media": num_media}
    for key, name in (
        ("to", "To"),
        ("account_sid", "AccountSid"),
        ("messaging_service_sid", "MessagingServiceSid"),
        ("num_segments", "NumSegments"),
    ):
        value = form_value(form, name)
        if value:
            metadata[key] = value
    if num_media:
        metadata["media"] = _media(form, num_media)
    return InboundMessage(
        channel=Channel.sms,
        external_id=message_sid,
        sender_phone=form_value(form, "From", limit=40),
        text=text,
        raw_metadata=metadata,
        review_reason=None if has_words(text) else "no_text",
    )
