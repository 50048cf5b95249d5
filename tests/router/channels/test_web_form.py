"""Web form adapter: validation, field sifting and the message text."""

from __future__ import annotations

from typing import Any

import pytest

from router.channels import ChannelPayloadError, parse_web_form
from router.schemas import Channel


def _form(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "submission_id": "wf_20250304_0017",
        "message": "Do you take Delta Dental PPO? My son needs a cleaning.",
        "name": "  Alex   Doe ",
        "email": "alex.doe@example.com",
        "phone": "(555) 010-0199",
        "location": "Northside office",
    }
    payload.update(overrides)
    return payload


def test_good_submission() -> None:
    message = parse_web_form(_form())
    assert message.channel is Channel.web_form
    assert message.external_id == "wf_20250304_0017"
    assert message.text == "Do you take Delta Dental PPO? My son needs a cleaning."
    assert message.sender_name == "Alex Doe"
    assert message.sender_email == "alex.doe@example.com"
    assert message.sender_phone == "(555) 010-0199"
    assert message.raw_metadata == {"location": "Northside office"}
    assert message.review_reason is None


def test_only_small_scalar_extras_are_kept() -> None:
    message = parse_web_form(
        _form(
            page_url="https://clinic.example/contact",
            consent=True,
            age=34,
            huge="x" * 5_000,
            nested={"a": 1},
            listing=[1, 2],
            ratio=float("nan"),
        )
    )
    assert message.raw_metadata["page_url"] == "https://clinic.example/contact"
    assert message.raw_metadata["consent"] is True
    assert message.raw_metadata["age"] == 34
    for dropped in ("huge", "nested", "listing", "ratio"):
        assert dropped not in message.raw_metadata


def test_numeric_submission_id_is_accepted_as_text() -> None:
    assert parse_web_form(_form(submission_id=48213)).external_id == "48213"


def test_field_labels_inside_the_message_are_dropped() -> None:
    message = parse_web_form(
        _form(
            message="Name: Alex Doe\nPhone: 555-0100\nDate of birth: 01/02/1980\n"
            "Message: I need my x-ray records"
        )
    )
    assert message.text == "I need my x-ray records"


def test_bad_optional_contact_fields_do_not_reject_the_message() -> None:
    message = parse_web_form(_form(email="not an email", phone="call me", name=None))
    assert message.sender_email is None
    assert message.sender_phone is None
    assert message.sender_name is None
    assert message.text.startswith("Do you take")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"message": "hello"}, "submission_id"),
        ({"submission_id": "s1"}, "message"),
        ({"submission_id": "s1", "message": "   \n\t "}, "message is empty"),
        ({"submission_id": "  ", "message": "hello"}, "submission_id"),
        ({"submission_id": "s1", "message": ["hello"]}, "message"),
        ({"submission_id": "s1", "message": "hi", "email": {"x": 1}}, "email"),
    ],
)
def test_bad_submission_is_rejected_with_reason(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(ChannelPayloadError, match=reason):
        parse_web_form(payload)


def test_error_reason_does_not_echo_values() -> None:
    with pytest.raises(ChannelPayloadError) as info:
        parse_web_form({"submission_id": "s1", "message": ["my diagnosis is secret"]})
    assert "secret" not in str(info.value)


def test_non_object_payload_is_rejected() -> None:
    with pytest.raises(ChannelPayloadError, match="JSON object"):
        parse_web_form(["not", "a", "dict"])  # type: ignore[arg-type]


def test_punctuation_only_message_is_kept_for_review() -> None:
    message = parse_web_form(_form(message="???"))
    assert message.text == "???"
    assert message.review_reason == "no_text"
