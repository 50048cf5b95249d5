"""Sample webhooks of all four channels for ``frontdesk demo`` (invented people, 555 numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from router.channels import compute_twilio_signature

DEMO_TWILIO_TOKEN = "demo-twilio-token"


@dataclass(frozen=True)
class SampleWebhook:
    path: str
    content_type: str
    body: bytes | dict[str, str]
    label: str  # a short description for the demo's table, never the message text


def _email(subject: str, body: str, html: bool = False, quoted: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Dana Example <dana@example.com>"
    msg["To"] = "frontdesk@practice.example"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    text = body + (f"\n\nOn Mon, Jan 6, 2025 at 9:14 AM Front Desk wrote:\n> {quoted}" if quoted else "")
    if html:
        msg.set_content("<html><body><p>" + body.replace("\n", "<br>") + "</p></body></html>", subtype="html")
    else:
        msg.set_content(text)
    return msg.as_bytes()


def email_samples() -> list[SampleWebhook]:
    return [
        SampleWebhook(
            "/v1/inbound/email",
            "message/rfc822",
            _email(
                "Statement question",
                "Hi, I got a statement for $182 for my visit on the 3rd but I already paid my copay at "
                "the desk. Can someone look into it?\n\nThanks,\nDana",
                quoted="Your statement is ready to view in the portal.",
            ),
            "email, quoted reply",
        ),
        SampleWebhook(
            "/v1/inbound/email",
            "message/rfc822",
            _email(
                "New patient?",
                "We just moved to the area. Are you taking new patients, and do you accept Aetna?",
                html=True,
            ),
            "email, HTML only",
        ),
    ]


def form_samples() -> list[SampleWebhook]:
    rows = [
        ("f-1001", "How much is a teeth cleaning without insurance? Just comparing prices."),
        ("f-1002", "I waited over an hour past my appointment time and nobody told me why. Unacceptable."),
        ("f-1003", "Can I get a refill on my lisinopril? Same dose, no problems."),
    ]
    return [
        SampleWebhook(
            "/v1/inbound/form",
            "application/json",
            {"submission_id": sid, "message": text, "name": "Sam Example", "phone": "555-0100"},
            "web form",
        )
        for sid, text in rows
    ]


def _signed(path: str, params: dict[str, str], base_url: str) -> dict[str, str]:
    return {**params, "__signature__": compute_twilio_signature(DEMO_TWILIO_TOKEN, base_url + path, params)}


def sms_samples(base_url: str) -> list[SampleWebhook]:
    texts = [
        ("SM0001", "need to move my cleaning thursday to next week, mornings best"),
        ("SM0002", "my dad has chest pain and his left arm feels numb what do we do"),
        ("SM0003", "hey"),
    ]
    return [
        SampleWebhook(
            "/v1/inbound/sms",
            "application/x-www-form-urlencoded",
            _signed(
                "/v1/inbound/sms",
                {
                    "MessageSid": sid,
                    "AccountSid": "AC00",
                    "From": "+15555550123",
                    "To": "+15555550100",
                    "Body": body,
                },
                base_url,
            ),
            "SMS",
        )
        for sid, body in texts
    ]


def voicemail_samples(base_url: str) -> list[SampleWebhook]:
    calls = [
        (
            "TR0001",
            "completed",
            "hi um this is about my son he's had a fever of 102 since last night and "
            "he's not keeping fluids down can a nurse call me back at five five five oh one two three",
        ),
        ("TR0002", "failed", ""),
    ]
    return [
        SampleWebhook(
            "/v1/inbound/voicemail",
            "application/x-www-form-urlencoded",
            _signed(
                "/v1/inbound/voicemail",
                {
                    "TranscriptionSid": sid,
                    "TranscriptionStatus": status,
                    "TranscriptionText": text,
                    "RecordingSid": "RE" + sid,
                    "CallSid": "CA" + sid,
                    "From": "+15555550199",
                    "To": "+15555550100",
                },
                base_url,
            ),
            "voicemail" + (" (failed transcript)" if status == "failed" else ""),
        )
        for sid, status, text in calls
    ]


def all_samples(base_url: str) -> list[SampleWebhook]:
    return email_samples() + form_samples() + sms_samples(base_url) + voicemail_samples(base_url)
