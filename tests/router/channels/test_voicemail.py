"""Voicemail adapter: Twilio's transcription callback."""

from __future__ import annotations

import pytest

from router.channels import ChannelPayloadError, parse_twilio_voicemail
from router.schemas import Channel

TR = "TR" + "a1" * 16
RE = "RE" + "b2" * 16


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "TranscriptionSid": TR,
        "TranscriptionText": "hi um this is john calling about   my\nbill i think i was charged twice "
        "call me back at five five five oh one nine nine",
        "TranscriptionStatus": "completed",
        "TranscriptionUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC/Transcriptions/{TR}",
        "RecordingSid": RE,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{RE}",
        "CallSid": "CA" + "c3" * 16,
        "AccountSid": "AC" + "d4" * 16,
        "From": "+15550100777",
        "To": "+15550100200",
        "CallStatus": "completed",
    }
    form.update(overrides)
    return form


def test_completed_transcription() -> None:
    message = parse_twilio_voicemail(_form())
    assert message.channel is Channel.voicemail
    assert message.external_id == TR
    assert message.sender_phone == "+15550100777"
    assert message.text.startswith("hi um this is john calling about my bill i think")
    assert "\n" not in message.text
    assert message.review_reason is None
    assert message.raw_metadata["recording_url"].endswith(RE)
    assert message.raw_metadata["transcription_status"] == "completed"


@pytest.mark.parametrize(
    "overrides",
    [
        {"TranscriptionStatus": "failed", "TranscriptionText": ""},
        {"TranscriptionStatus": "failed", "TranscriptionText": "partial garbage"},
        {"TranscriptionStatus": "completed", "TranscriptionText": ""},
        {"TranscriptionStatus": "completed", "TranscriptionText": "(blank)"},
    ],
)
def test_failed_or_empty_transcription_is_a_message_for_review(overrides: dict[str, str]) -> None:
    message = parse_twilio_voicemail(_form(**overrides))
    assert message.text == ""
    assert message.review_reason == "no_transcript"
    assert message.raw_metadata["recording_url"].endswith(RE)


def test_missing_transcription_text_field() -> None:
    form = _form(TranscriptionStatus="failed")
    del form["TranscriptionText"]
    assert parse_twilio_voicemail(form).review_reason == "no_transcript"


def test_recording_sid_is_the_fallback_id() -> None:
    form = _form()
    del form["TranscriptionSid"]
    assert parse_twilio_voicemail(form).external_id == RE


def test_no_sid_at_all_is_rejected() -> None:
    form = _form()
    del form["TranscriptionSid"], form["RecordingSid"]
    with pytest.raises(ChannelPayloadError, match="missing TranscriptionSid or RecordingSid"):
        parse_twilio_voicemail(form)
