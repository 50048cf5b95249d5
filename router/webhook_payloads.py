"""Building realistic webhook requests for each channel: for the demo, the benchmarks and the fault tests."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from router.channels import compute_twilio_signature


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    headers: dict[str, str]
    content: bytes | None = None
    json: dict[str, str] | None = None
    form: dict[str, str] | None = None


def email_request(
    text: str, external_id: str, subject: str = "", api_key: str | None = None
) -> WebhookRequest:
    msg = EmailMessage()
    msg["From"] = "Pat Example <pat@example.com>"
    msg["To"] = "frontdesk@practice.example"
    msg["Subject"] = subject or "Message from the website"
    msg["Message-ID"] = f"<{external_id}@example.com>"
    msg.set_content(text)
    headers = {"content-type": "message/rfc822"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return WebhookRequest("/v1/inbound/email", headers, content=msg.as_bytes())


def form_request(text: str, external_id: str, api_key: str | None = None) -> WebhookRequest:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    return WebhookRequest(
        "/v1/inbound/form",
        headers,
        json={"submission_id": external_id, "message": text, "name": "Sam Example", "phone": "555-0100"},
    )


def _signed(path: str, params: dict[str, str], token: str, base_url: str) -> WebhookRequest:
    signature = compute_twilio_signature(token, base_url.rstrip("/") + path, params)
    return WebhookRequest(path, {"x-twilio-signature": signature}, form=params)


def sms_request(text: str, external_id: str, token: str, base_url: str) -> WebhookRequest:
    params = {
        "MessageSid": external_id,
        "AccountSid": "AC0",
        "From": "+15555550123",
        "To": "+15555550100",
        "Body": text,
    }
    return _signed("/v1/inbound/sms", params, token, base_url)


def voicemail_request(
    text: str, external_id: str, token: str, base_url: str, status: str = "completed"
) -> WebhookRequest:
    params = {
        "TranscriptionSid": external_id,
        "TranscriptionStatus": status,
        "TranscriptionText": text,
        "RecordingSid": "RE" + external_id,
        "CallSid": "CA" + external_id,
        "From": "+15555550199",
        "To": "+15555550100",
    }
    return _signed("/v1/inbound/voicemail", params, token, base_url)


def request_for(
    index: int, text: str, external_id: str, api_key: str, twilio_token: str, base_url: str
) -> WebhookRequest:
    """Round-robin over the four channels, so every benchmark and fault run covers all of them."""
    match index % 4:
        case 0:
            return email_request(text, external_id, api_key=api_key)
        case 1:
            return form_request(text, external_id, api_key=api_key)
        case 2:
            return sms_request(text, external_id, twilio_token, base_url)
        case _:
            return voicemail_request(text, external_id, twilio_token, base_url)
