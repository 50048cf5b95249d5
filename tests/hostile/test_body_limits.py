"""Oversized bodies: 413 with a reason, with or without Content-Length, without reading past the limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from router.settings import Settings
from router.tables import Message
from tests.hostile.support import assert_alive, check_response
from tests.router.api.conftest import bearer

LIMIT = Settings.model_fields["max_body_bytes"].default
TEN_MB = 10 * 1024 * 1024
CHUNK = 64 * 1024
WEBHOOKS = {
    "email": ("/v1/inbound/email", {"content-type": "message/rfc822", **bearer("k-inbound")}),
    "form": ("/v1/inbound/form", {"content-type": "application/json", **bearer("k-inbound")}),
    "sms": (
        "/v1/inbound/sms",
        {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x"},
    ),
    "voicemail": (
        "/v1/inbound/voicemail",
        {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x"},
    ),
    "review": ("/v1/review/some-id", {"content-type": "application/json", **bearer("k-admin")}),
}


def ten_mb_body(channel: str) -> bytes:
    """A plausible-looking 10 MB payload for the channel (so only its size is wrong)."""
    if channel == "email":
        return b"From: a@b.c\r\nSubject: big\r\n\r\n" + b"word " * (TEN_MB // 5)
    if channel in ("sms", "voicemail"):
        return b"MessageSid=SM1&TranscriptionSid=TR1&Body=" + b"a" * TEN_MB
    return json.dumps({"submission_id": "big", "message": "word " * (TEN_MB // 5), "label": "x"}).encode()


def stored_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def assert_413(response: Any) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:200])
    assert str(LIMIT) in response.json()["detail"]


@pytest.mark.parametrize("channel", sorted(WEBHOOKS))
def test_ten_mb_with_content_length_is_413(
    default_limit_client: TestClient, session_factory: sessionmaker[Session], channel: str
) -> None:
    path, headers = WEBHOOKS[channel]
    response = default_limit_client.post(path, content=ten_mb_body(channel), headers=headers)
    check_response(response, session_factory, "limits.content_length")
    assert_413(response)
    assert stored_count(session_factory) == 0
    assert_alive(default_limit_client)


@pytest.mark.parametrize("channel", sorted(WEBHOOKS))
def test_ten_mb_chunked_without_content_length_is_413(
    default_limit_client: TestClient, session_factory: sessionmaker[Session], channel: str
) -> None:
    path, headers = WEBHOOKS[channel]
    body = ten_mb_body(channel)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), CHUNK):
            yield body[start : start + CHUNK]

    response = default_limit_client.post(path, content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    check_response(response, session_factory, "limits.chunked")
    assert_413(response)
    assert stored_count(session_factory) == 0
    assert_alive(default_limit_client)


async def _asgi_post(
    app: Any, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, bytes, int]:
    """Drive the ASGI app directly, one ``http.request`` message per chunk; count the chunks it pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= len(chunks):
            await asyncio.sleep(3600)  # a client that went quiet; the app must not wait for it
        pulled += 1
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=60)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, pulled


@pytest.mark.parametrize("channel", sorted(WEBHOOKS))
@pytest.mark.parametrize(
    "declared", [None, "100", "abc", "-1", "1" * 30], ids=["none", "lie", "junk", "neg", "huge"]
)
def test_streamed_body_stops_at_the_limit(
    default_limit_client: TestClient,
    session_factory: sessionmaker[Session],
    channel: str,
    declared: str | None,
) -> None:
    """10 MB in 64 kB messages, with no, a lying or a junk Content-Length: 413 after ~limit bytes read."""
    path, headers = WEBHOOKS[channel]
    headers = dict(headers)
    if declared is not None:
        headers["content-length"] = declared
    body = ten_mb_body(channel)
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    status, raw, pulled = asyncio.run(_asgi_post(default_limit_client.app, path, headers, chunks))
    from tests.hostile.support import OUTCOMES, TRIED

    TRIED["limits.streamed"] += 1
    OUTCOMES[str(status)] += 1
    if declared == "1" * 30:  # declared over the limit: refused before reading anything
        assert status == 413 and pulled == 0
    else:
        assert status == 413, (status, raw[:200])
        assert pulled <= LIMIT // CHUNK + 2, f"read {pulled} chunks for a {LIMIT}-byte limit"
    assert json.loads(raw)["detail"]
    assert stored_count(session_factory) == 0
    assert_alive(default_limit_client)


def test_a_body_just_under_the_limit_is_not_413(
    default_limit_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    message = "please call me back about my bill " * 1000
    body = json.dumps({"submission_id": "near-limit", "message": message, "pad": "x" * 10})
    body += " " * (LIMIT - len(body))
    assert len(body) == LIMIT
    headers = WEBHOOKS["form"][1]
    response = default_limit_client.post("/v1/inbound/form", content=body.encode(), headers=headers)
    assert check_response(response, session_factory, "limits.at_limit") == 202


def test_a_near_limit_email_of_hostile_headers_is_answered_quickly(
    default_limit_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    """~1 MB of From addresses / Content-Type parameters once cost minutes of CPU in the stdlib parser."""
    import time

    headers = WEBHOOKS["email"][1]
    bodies = [
        b"From: " + b"a@b.c, " * 140_000 + b"\r\n\r\nhi there",
        b"From: a\r\nContent-Type: text/plain" + b"; p=1" * 190_000 + b"\r\n\r\nhi there",
        b"From: a\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        + (b"--B\r\nContent-Type: text/plain" + b"; p=1" * 1600 + b"\r\n\r\nhi\r\n") * 120
        + b"--B--\r\n",
    ]
    for raw in bodies:
        assert len(raw) < LIMIT
        started = time.perf_counter()
        response = default_limit_client.post("/v1/inbound/email", content=raw, headers=headers)
        elapsed = time.perf_counter() - started
        assert check_response(response, session_factory, "email.huge_headers") == 422
        assert elapsed < 10, f"{elapsed:.1f}s for one email"
