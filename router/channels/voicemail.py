"""Voicemail: Twilio's transcription callback (form-encoded) to an :class:`InboundMessage`.

A voicemail whose transcription failed or came back empty is still a patient who called, so it
is accepted with empty text and ``review_reason="no_transcript"``: a person listens to the
recording (its URL is kept in ``raw_metadata``) rather than the model guessing from nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from router.channels import ChannelPayloadError
from router.channels.cleaning import clean_text, has_words
from router.channels.sms import form_value, sid
from router.schemas import Channel, InboundMessage

# What transcription engines write for silence or noise instead of an empty string.
_NO_SPEECH = re.compile(r"^\W*(?:blank|inaudible|no speech(?: detected)?|silence|unintelligible)\W*$", re.I)


def _transcript(form: Mapping[str, Any]) -> str:
    status = (form_value(form, "TranscriptionStatus", limit=40) or "").lower()
    raw = form.get("TranscriptionText") or ""
    if not isinstance(raw, str):
        raise ChannelPayloadError("form field TranscriptionText must be text")
    if status == "failed" or _NO_SPEECH.match(raw.strip()):
        return ""
    text = clean_text(Channel.voicemail, raw)
    return text if has_words(text) else ""


def parse_twilio_voicemail(form: Mapping[str, Any]) -> InboundMessage:
    """One transcription callback; raises :class:`ChannelPayloadError` only for a malformed form.

    The external id is the TranscriptionSid, or the RecordingSid when Twilio sent none, so a
    retried callback for the same recording is the same message.
    """
    if not isinstance(form, Mapping):
        raise ChannelPayloadError("voicemail webhook must be a form")
    external_id = sid(form, "TranscriptionSid", "RecordingSid")
    text = _transcript(form)
    metadata: dict[str, Any] = {}
    for key, name, limit in (
        ("transcription_status", "TranscriptionStatus", 40),
        ("recording_sid", "RecordingSid", 64),
        ("recording_url", "RecordingUrl", 2_000),
        ("call_sid", "CallSid", 64),
        ("account_sid", "AccountSid", 64),
        ("to", "To", 40),
    ):
        value = form_value(form, name, limit)
        if value:
            metadata[key] = value
    return InboundMessage(
        channel=Channel.voicemail,
        external_id=external_id,
        sender_phone=form_value(form, "From", limit=40) or form_value(form, "Caller", limit=40),
        text=text,
        raw_metadata=metadata,
        review_reason=None if text else "no_transcript",
    )
