"""SMS adapter: Twilio's inbound-message webhook."""

from __future__ import annotations

import pytest

from router.channels import ChannelPayloadError, parse_twilio_sms
from router.schemas import Channel

SID = "SM" + "0123456789abcdef" * 2


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "ToCountry": "US",
        "SmsMessageSid": SID,
        "NumMedia": "0",
        "FromCity": "SPRINGFIELD",
        "SmsSid": SID,
        "SmsStatus": "received",
        "Body": "hi its maria  need to resched my appt tmrw\n\npls call back",
        "To": "+15550100200",
        "NumSegments": "1",
        "MessageSid": SID,
        "AccountSid": "AC" + "f" * 32,
        "From": "+15550100999",
        "ApiVersion": "2010-04-01",
    }
    form.update(overrides)
    return form


def test_good_sms() -> None:
    message = parse_twilio_sms(_form())
    assert message.channel is Channel.sms
    assert message.external_id == SID
    assert message.sender_phone == "+15550100999"
    assert message.text == "hi its maria need to resched my appt tmrw\n\npls call back"
    assert message.raw_metadata["to"] == "+15550100200"
    assert message.raw_metadata["num_media"] == 0
    assert "FromCity" not in message.raw_metadata
    assert message.review_reason is None


def test_opt_out_footer_is_dropped() -> None:
    message = parse_twilio_sms(_form(Body="Is the office open Saturday? Reply STOP to opt out."))
    assert message.text == "Is the office open Saturday?"


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_empty_sms_is_rejected(body: str) -> None:
    with pytest.raises(ChannelPayloadError, match="empty SMS body"):
        parse_twilio_sms(_form(Body=body))


def test_picture_without_text_goes_to_review() -> None:
    message = parse_twilio_sms(
        _form(
            Body="",
            NumMedia="1",
            MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/SM/Media/ME1",
            MediaContentType0="image/jpeg",
        )
    )
    assert message.text == ""
    assert message.review_reason == "no_text"
    assert message.raw_metadata["media"] == [
        {
            "url": "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/SM/Media/ME1",
            "content_type": "image/jpeg",
        }
    ]


def test_emoji_only_sms_is_kept_for_review() -> None:
    message = parse_twilio_sms(_form(Body="👍"))
    assert message.text == "👍"
    assert message.review_reason == "no_text"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"MessageSid": "", "SmsSid": ""}, "missing MessageSid"),
        ({"MessageSid": "SM<script>"}, "not a Twilio SID"),
        ({"NumMedia": "two"}, "NumMedia"),
    ],
)
def test_malformed_form_is_rejected(overrides: dict[str, str], reason: str) -> None:
    with pytest.raises(ChannelPayloadError, match=reason):
        parse_twilio_sms(_form(**overrides))


def test_legacy_sms_sid_is_used_when_message_sid_is_absent() -> None:
    form = _form()
    del form["MessageSid"]
    assert parse_twilio_sms(form).external_id == SID
