"""Webhooks: stored before 202, idempotent, signed where Twilio, scoped where ours, 4xx on bad input."""

from __future__ import annotations

from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.api.app import create_app
from router.channels import compute_twilio_signature
from router.db import session_factory_for_url
from router.settings import Settings
from tests.router.api.conftest import TWILIO_TOKEN, bearer


def raw_email(message_id: str = "<m1@example.com>") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Pat Example <pat@example.com>"
    msg["To"] = "desk@practice.example"
    msg["Subject"] = "Bill question"
    msg["Message-ID"] = message_id
    msg.set_content("Why was I charged $120 for my visit on the 3rd?")
    return msg.as_bytes()


def post_signed(client: TestClient, path: str, params: dict[str, str], token: str = TWILIO_TOKEN):  # type: ignore[no-untyped-def]
    signature = compute_twilio_signature(token, "http://testserver" + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def test_email_is_stored_before_202_and_enqueued(
    client: TestClient, enqueued: list[str], session_factory: sessionmaker[Session]
) -> None:
    response = client.post(
        "/v1/inbound/email",
        content=raw_email(),
        headers={"content-type": "message/rfc822", **bearer("k-inbound")},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "received" and enqueued == [body["id"]]
    with session_factory() as session:
        stored = store.get_message(session, body["id"])
    assert stored is not None and stored.message.subject == "Bill question" and stored.status == "received"


def test_redelivered_webhook_returns_the_same_id_and_is_not_enqueued_twice(
    client: TestClient, enqueued: list[str]
) -> None:
    headers = {"content-type": "message/rfc822", **bearer("k-inbound")}
    first = client.post("/v1/inbound/email", content=raw_email(), headers=headers).json()
    second = client.post("/v1/inbound/email", content=raw_email(), headers=headers).json()
    assert first["id"] == second["id"] and second["duplicate"] is True
    assert enqueued == [first["id"]]


def test_form_webhook_and_its_errors(client: TestClient) -> None:
    ok = client.post(
        "/v1/inbound/form",
        json={
            "submission_id": "s-1",
            "message": "Do you take Aetna? Not a patient yet.",
            "phone": "555-0101",
        },
        headers=bearer("k-inbound"),
    )
    assert ok.status_code == 202
    bad_json = client.post("/v1/inbound/form", content=b"{nope", headers=bearer("k-inbound"))
    assert bad_json.status_code == 422 and "JSON" in bad_json.json()["detail"]
    not_object = client.post("/v1/inbound/form", json=[1, 2], headers=bearer("k-inbound"))
    assert not_object.status_code == 422
    empty = client.post(
        "/v1/inbound/form", json={"submission_id": "s-2", "message": "  "}, headers=bearer("k-inbound")
    )
    assert empty.status_code == 422


def test_inbound_needs_the_inbound_scope(client: TestClient) -> None:
    payload = {"submission_id": "s-9", "message": "hello there"}
    assert client.post("/v1/inbound/form", json=payload).status_code == 401
    assert client.post("/v1/inbound/form", json=payload, headers=bearer("wrong")).status_code == 401
    assert client.post("/v1/inbound/form", json=payload, headers=bearer("k-billing")).status_code == 403


def test_sms_signature_is_checked(client: TestClient, enqueued: list[str]) -> None:
    params = {
        "MessageSid": "SM1",
        "From": "+15555550123",
        "To": "+15555550100",
        "Body": "running 10 min late",
    }
    assert post_signed(client, "/v1/inbound/sms", params).status_code == 202
    forged = post_signed(client, "/v1/inbound/sms", {**params, "MessageSid": "SM2"}, token="not-the-token")
    assert forged.status_code == 403
    unsigned = client.post("/v1/inbound/sms", data={**params, "MessageSid": "SM3"})
    assert unsigned.status_code == 403
    tampered_sig = compute_twilio_signature(TWILIO_TOKEN, "http://testserver/v1/inbound/sms", params)
    tampered = client.post(
        "/v1/inbound/sms", data={**params, "Body": "changed"}, headers={"X-Twilio-Signature": tampered_sig}
    )
    assert tampered.status_code == 403
    assert len(enqueued) == 1


def test_failed_voicemail_transcript_is_stored_for_review(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    params = {
        "TranscriptionSid": "TR1",
        "TranscriptionStatus": "failed",
        "TranscriptionText": "",
        "RecordingSid": "RE1",
        "CallSid": "CA1",
        "From": "+15555550123",
    }
    response = post_signed(client, "/v1/inbound/voicemail", params)
    assert response.status_code == 202
    with session_factory() as session:
        stored = store.get_message(session, response.json()["id"])
    assert stored is not None and stored.message.review_reason == "no_transcript"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    huge = b"x" * 300_000
    response = client.post(
        "/v1/inbound/email", content=huge, headers={"content-type": "message/rfc822", **bearer("k-inbound")}
    )
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_database_down_is_503_with_retry_after_and_nothing_enqueued(api_settings: Settings) -> None:
    enqueued: list[str] = []
    down = session_factory_for_url(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    app = create_app(api_settings, down, lambda ids: enqueued.extend(ids) or len(ids))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/v1/inbound/form", json={"submission_id": "s", "message": "hello"}, headers=bearer("k-inbound")
        )
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
    assert enqueued == []
