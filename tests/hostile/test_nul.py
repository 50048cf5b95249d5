"""NUL (\\x00) in every field of every channel: stored on both dialects (Postgres refuses NUL in text
and JSON, so the store replaces it), never a 5xx, and a replay is still the same message."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.channels import compute_twilio_signature
from tests.hostile.support import assert_alive, check_response
from tests.router.api.conftest import TWILIO_TOKEN, bearer

N = "\x00"


def signed(path: str, params: dict[str, str]) -> dict[str, object]:
    signature = compute_twilio_signature(TWILIO_TOKEN, "http://testserver" + path, params)
    return {
        "content": urlencode(params).encode(),
        "headers": {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    }


REQUESTS = {
    "email": (
        "/v1/inbound/email",
        {
            "content": (
                f"From: Pat{N} Nul <pat{N}@example.com>\r\nTo: desk{N}@x.example\r\n"
                f"Message-ID: <id{N}nul@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000{N}\r\n"
                f"In-Reply-To: <r{N}@x>\r\nSubject: bill{N} question\r\n\r\nwhy was I{N} charged twice{N}?"
            ).encode(),
            "headers": {"content-type": "message/rfc822", **bearer("k-inbound")},
        },
    ),
    "form": (
        "/v1/inbound/form",
        {
            "content": json.dumps(
                {
                    "submission_id": f"sub{N}nul",
                    "message": f"need{N} a refill{N}",
                    "name": f"Pat{N}",
                    "email": f"pat{N}@example.com",
                    "phone": f"+1555{N}0100",
                    "location": f"Main{N} St",
                    f"extra{N}key": f"extra{N}value",
                }
            ).encode(),
            "headers": {"content-type": "application/json", **bearer("k-inbound")},
        },
    ),
    "sms": (
        "/v1/inbound/sms",
        signed(
            "/v1/inbound/sms",
            {
                "MessageSid": "SMnul1",
                "From": f"+1555{N}0100",
                "To": f"+1{N}",
                "AccountSid": f"AC{N}",
                "Body": f"running{N} late{N}",
                "NumMedia": "1",
                "MediaUrl0": f"https://x/{N}",
                "MediaContentType0": f"image/{N}",
            },
        ),
    ),
    "voicemail": (
        "/v1/inbound/voicemail",
        signed(
            "/v1/inbound/voicemail",
            {
                "TranscriptionSid": "TRnul1",
                "TranscriptionText": f"call{N} me back{N}",
                "From": f"+1{N}555",
                "TranscriptionStatus": f"completed{N}",
                "RecordingUrl": f"https://x/{N}",
                "CallSid": f"CA{N}",
                "To": f"{N}",
            },
        ),
    ),
}


@pytest.mark.parametrize("channel", sorted(REQUESTS))
def test_nul_everywhere_is_stored_and_replays_idempotently(
    client: TestClient, session_factory: sessionmaker[Session], channel: str
) -> None:
    path, request = REQUESTS[channel]
    first = client.post(path, **request)  # type: ignore[arg-type]
    assert check_response(first, session_factory, "nul.every_field") == 202, first.text
    again = client.post(path, **request)  # type: ignore[arg-type]
    assert check_response(again, session_factory, "nul.every_field") == 202, again.text
    assert again.json()["id"] == first.json()["id"] and again.json().get("duplicate") is True
    with session_factory() as session:
        stored = store.get_message(session, first.json()["id"])
    assert stored is not None and N not in stored.message.model_dump_json()
    assert stored.message.text.strip()
    assert_alive(client)


def test_external_ids_differing_only_by_nul_stay_distinct(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    headers = {"content-type": "application/json", **bearer("k-inbound")}
    ids = set()
    for submission in ("abc", f"a{N}bc", f"ab{N}c"):
        body = json.dumps({"submission_id": submission, "message": "need an appointment"}).encode()
        response = client.post("/v1/inbound/form", content=body, headers=headers)
        assert check_response(response, session_factory, "nul.distinct_ids") == 202
        ids.add(response.json()["id"])
    assert len(ids) == 3
