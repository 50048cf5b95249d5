"""Property tests: whatever arrives, an adapter returns a message or a ChannelPayloadError."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.channels import (
    ChannelPayloadError,
    clean_text,
    parse_email,
    parse_twilio_sms,
    parse_twilio_voicemail,
    parse_web_form,
)
from router.channels.cleaning import MAX_TEXT_CHARS, has_words
from router.schemas import Channel, InboundMessage

# Small example counts: the suite shares a 2-core machine with model training.
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER_LINES = st.sampled_from(
    [
        b"From: a@example.com\r\n",
        b"From: =?utf-8?b?////?= <\xff@\x00>\r\n",
        b"Subject: =?iso-8859-1?q?caf=E9?=\r\n",
        b"Subject: =?unknown?x?zz?=\r\n",
        b"Message-ID: <x@y>\r\n",
        b"Message-ID:\r\n",
        b"Content-Type: multipart/alternative; boundary=zz\r\n",
        b"Content-Type: text/html; charset=bogus\r\n",
        b"Content-Type: text/plain; charset=base64\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Disposition: attachment\r\n",
        b"\r\n",
        b"--zz\r\n",
        b"--zz--\r\n",
    ]
)
MAILISH = st.lists(st.one_of(HEADER_LINES, st.binary(max_size=60)), max_size=25).map(b"".join)


def _outcome(fn: Any, payload: Any) -> InboundMessage | None:
    try:
        message = fn(payload)
    except ChannelPayloadError:
        return None
    assert isinstance(message, InboundMessage)
    assert len(message.text) <= MAX_TEXT_CHARS
    return message


@FAST
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_to_parse_email(raw: bytes) -> None:
    _outcome(parse_email, raw)


@FAST
@given(MAILISH)
def test_mail_shaped_bytes_to_parse_email(raw: bytes) -> None:
    _outcome(parse_email, raw)


@FAST
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300))
def test_well_formed_email_with_words_always_parses(body: str) -> None:
    raw = b"From: a@example.com\r\nMessage-ID: <p@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    message = _outcome(parse_email, raw + body.encode("utf-8"))
    if has_words(body.replace("\r", "")):
        assert message is not None and has_words(message.text)


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=50))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
FORM_KEYS = st.one_of(
    st.sampled_from(["submission_id", "message", "name", "email", "phone", "location"]), st.text()
)


@FAST
@given(st.dictionaries(FORM_KEYS, JSON_VALUES, max_size=8))
def test_arbitrary_dicts_to_parse_web_form(payload: dict[str, Any]) -> None:
    _outcome(parse_web_form, payload)


@FAST
@given(st.dictionaries(st.one_of(st.integers(), st.text()), JSON_VALUES, max_size=4))
def test_non_string_keys_to_parse_web_form(payload: dict[Any, Any]) -> None:
    _outcome(parse_web_form, payload)


TWILIO_KEYS = st.sampled_from(
    [
        "MessageSid",
        "SmsSid",
        "Body",
        "NumMedia",
        "From",
        "To",
        "MediaUrl0",
        "TranscriptionSid",
        "TranscriptionText",
        "TranscriptionStatus",
        "RecordingSid",
        "RecordingUrl",
    ]
)


@FAST
@given(st.dictionaries(TWILIO_KEYS, st.one_of(st.text(max_size=80), st.integers()), max_size=10))
def test_arbitrary_twilio_forms(form: dict[str, Any]) -> None:
    _outcome(parse_twilio_sms, form)
    _outcome(parse_twilio_voicemail, form)


@FAST
@given(st.sampled_from([*Channel, None]), st.text(max_size=400), st.one_of(st.none(), st.text(max_size=40)))
def test_clean_text_never_empties_real_words(channel: Channel | None, text: str, subject: str | None) -> None:
    cleaned = clean_text(channel, text, subject)
    assert len(cleaned) <= MAX_TEXT_CHARS
    assert cleaned == cleaned.strip()
    assert not any(ord(ch) < 32 and ch != "\n" for ch in cleaned)
    if has_words(text):
        assert has_words(cleaned)


@FAST
@given(st.sampled_from([*Channel, None]), st.text(max_size=400))
def test_clean_text_is_idempotent(channel: Channel | None, text: str) -> None:
    once = clean_text(channel, text)
    assert clean_text(channel, once) == once
