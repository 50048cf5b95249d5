"""Hostile Twilio callbacks (SMS and voicemail), properly signed so that they reach the adapters."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.channels import compute_twilio_signature
from tests.hostile.strategies import hostile_bytes, nasty_text, short_nasty_text
from tests.hostile.support import assert_alive, check_response, hostile_settings
from tests.router.api.conftest import TWILIO_TOKEN

PATHS = {"sms": "/v1/inbound/sms", "voicemail": "/v1/inbound/voicemail"}
SMS_FIELDS = (
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "MessagingServiceSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "NumSegments",
    "MediaUrl0",
    "MediaContentType0",
    "MediaUrl1",
)
VOICEMAIL_FIELDS = (
    "TranscriptionSid",
    "RecordingSid",
    "TranscriptionText",
    "TranscriptionStatus",
    "RecordingUrl",
    "CallSid",
    "AccountSid",
    "From",
    "Caller",
    "To",
)
FIELDS = {"sms": SMS_FIELDS, "voicemail": VOICEMAIL_FIELDS}
SIDS = {"sms": "MessageSid", "voicemail": "TranscriptionSid"}
REACHED: Counter[str] = Counter()


def post_signed(client: TestClient, path: str, params: dict[str, str]):  # type: ignore[no-untyped-def]
    signature = compute_twilio_signature(TWILIO_TOKEN, "http://testserver" + path, params)
    return client.post(
        path,
        content=urlencode(params).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )


@st.composite
def hostile_callbacks(draw: st.DrawFn, channel: str) -> dict[str, str]:
    """Twilio's own fields with hostile values (the SID usually valid, so the rest gets read), plus junk."""
    params: dict[str, str] = {}
    for name in FIELDS[channel]:
        if draw(st.booleans()):
            params[name] = draw(nasty_text)
    if draw(st.integers(0, 4)):  # mostly a real SID, so the adapter reads everything else
        params[SIDS[channel]] = draw(st.from_regex(r"\A[A-Z]{2}[0-9a-f]{1,40}\Z"))
    if draw(st.booleans()):
        params["NumMedia"] = draw(
            st.sampled_from(["0", "1", "2", "10", "99999999999999999999", "-1", "1e3", "١"])
        )
    params.update(draw(st.dictionaries(short_nasty_text.filter(bool), nasty_text, max_size=6)))
    return params


@pytest.mark.parametrize("channel", ["sms", "voicemail"])
def test_signed_hostile_callbacks(
    client: TestClient, db_url: str, session_factory: sessionmaker[Session], channel: str
) -> None:
    path = PATHS[channel]
    seen: Counter[int] = Counter()

    @hostile_settings(db_url)
    @given(params=hostile_callbacks(channel))
    @example(params={SIDS[channel]: "SM1nul", "From": "+1\x00555", "To": "\x00", "Body": "hel\x00lo there"})
    @example(params={SIDS[channel]: "SM2ctl", "Body": "\x1b[2J\x07\x08", "TranscriptionText": "\x00\x01"})
    @example(params={SIDS[channel]: "SM\x00", "Body": "hello"})
    @example(params={SIDS[channel]: "SM3big", "NumMedia": "999999999", "MediaUrl0": "\x00" * 3000})
    @example(
        params={
            SIDS[channel]: "SM4empty",
            "Body": "",
            "TranscriptionText": "",
            "TranscriptionStatus": "failed",
        }
    )
    def run(params: dict[str, str]) -> None:
        code = check_response(post_signed(client, path, params), session_factory, f"{channel}.signed")
        seen[code] += 1

    run()
    assert_alive(client)
    # the signatures were right: (nearly) everything reached the adapter rather than the 403
    assert seen[403] <= sum(seen.values()) // 20, seen
    REACHED.update({f"{channel}:{code}": n for code, n in seen.items()})


HUGE = {
    "150k_body": {"Body": "word " * 30_000},
    "150k_from": {"From": "+1" + "5" * 150_000, "Body": "hello"},
    "150k_of_nul": {"Body": "\x00" * 150_000},
    "5000_fields": {**{f"F{i}": str(i) for i in range(5_000)}, "Body": "hello there"},
    "long_field_name": {"B" * 100_000: "x", "Body": "hello there"},
}


@pytest.mark.parametrize("channel", ["sms", "voicemail"])
@pytest.mark.parametrize("name", sorted(HUGE))
def test_signed_huge_values(
    client: TestClient, session_factory: sessionmaker[Session], channel: str, name: str
) -> None:
    params = {SIDS[channel]: f"SM{abs(hash(name)) % 10**12}", **HUGE[name]}
    if channel == "voicemail" and "Body" in params:
        params["TranscriptionText"] = params.pop("Body")
    response = post_signed(client, PATHS[channel], params)
    assert check_response(response, session_factory, f"{channel}.huge") != 403
    assert_alive(client)


@pytest.mark.parametrize("channel", ["sms", "voicemail"])
def test_unsigned_hostile_bodies_are_refused(
    client: TestClient, db_url: str, session_factory: sessionmaker[Session], channel: str
) -> None:
    """Raw bodies (invalid UTF-8, broken %-escapes, NULs) with no or junk signatures: a 4xx, never a 5xx."""
    path = PATHS[channel]

    @hostile_settings(db_url)
    @given(
        body=st.one_of(st.binary(max_size=2000), hostile_bytes),
        signature=st.one_of(
            st.none(), st.just(""), st.text(alphabet="abcdefABCDEF0123456789+/=", max_size=40)
        ),
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=latin-1",
                "multipart/form-data; boundary=x",
                "text/plain",
                "application/json",
                "",
            ]
        ),
    )
    @example(
        body=b"Body=%ff%fe%00&MessageSid=SM1",
        signature=None,
        content_type="application/x-www-form-urlencoded",
    )
    @example(body=b"%%%%%&&&===", signature="x", content_type="application/x-www-form-urlencoded")
    @example(body=b"--x\r\n\r\n\x00", signature="x", content_type="multipart/form-data; boundary=x")
    def run(body: bytes, signature: str | None, content_type: str) -> None:
        headers = {"content-type": content_type}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        response = client.post(path, content=body, headers=headers)
        assert check_response(response, session_factory, f"{channel}.unsigned") in (400, 403, 415)

    run()
    assert_alive(client)


def test_empty_sms_is_a_4xx_and_empty_voicemail_goes_to_review(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    empty_sms = post_signed(client, PATHS["sms"], {"MessageSid": "SMempty", "Body": "  "})
    assert check_response(empty_sms, session_factory, "sms.empty") == 422
    emoji_sms = post_signed(client, PATHS["sms"], {"MessageSid": "SMemoji", "Body": "👍"})
    assert check_response(emoji_sms, session_factory, "sms.empty") == 202
    picture = post_signed(client, PATHS["sms"], {"MessageSid": "SMpic", "Body": "", "NumMedia": "1"})
    assert check_response(picture, session_factory, "sms.empty") == 202
    silent = post_signed(client, PATHS["voicemail"], {"TranscriptionSid": "TRempty", "TranscriptionText": ""})
    assert check_response(silent, session_factory, "voicemail.empty") == 202
    with session_factory() as session:
        reasons = {
            r.json()["id"]: store.get_message(session, r.json()["id"]).message.review_reason  # type: ignore[union-attr]
            for r in (emoji_sms, picture, silent)
        }
    assert sorted(reasons.values()) == ["no_text", "no_text", "no_transcript"]
