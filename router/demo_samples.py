"""Sample webhooks of all four channels for ``frontdesk demo`` (invented people, 555 numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from router.webhook_payloads import (
    WebhookRequest,
    email_request,
    form_request,
    sms_request,
    voicemail_request,
)

DEMO_TWILIO_TOKEN = "demo-twilio-token"


@dataclass(frozen=True)
class SampleWebhook:
    label: str  # a short description for the demo's table, never the message text
    request: WebhookRequest


QUOTED_REPLY = (
    "\n\nOn Mon, Jan 6, 2025 at 9:14 AM Front Desk wrote:\n> Your statement is ready in the portal."
)


def all_samples(base_url: str) -> list[SampleWebhook]:
    token = DEMO_TWILIO_TOKEN
    return [
        SampleWebhook(
            "email, quoted reply",
            email_request(
                "Hi, I got a statement for $182 for my visit on the 3rd but I already paid my copay at "
                "the desk. Can someone look into it?\n\nThanks,\nDana" + QUOTED_REPLY,
                "demo-email-1",
                subject="Statement question",
            ),
        ),
        SampleWebhook(
            "email",
            email_request(
                "We just moved to the area. Are you taking new patients, and do you accept Aetna?",
                "demo-email-2",
                subject="New patient?",
            ),
        ),
        SampleWebhook(
            "web form",
            form_request("How much is a teeth cleaning without insurance? Just comparing prices.", "f-1001"),
        ),
        SampleWebhook(
            "web form",
            form_request(
                "I waited over an hour past my appointment time and nobody told me why. Unacceptable.",
                "f-1002",
            ),
        ),
        SampleWebhook(
            "web form", form_request("Can I get a refill on my lisinopril? Same dose, no problems.", "f-1003")
        ),
        SampleWebhook(
            "SMS",
            sms_request(
                "need to move my cleaning thursday to next week, mornings best", "SM0001", token, base_url
            ),
        ),
        SampleWebhook(
            "SMS",
            sms_request(
                "my dad has chest pain and his left arm feels numb what do we do", "SM0002", token, base_url
            ),
        ),
        SampleWebhook("SMS", sms_request("hey", "SM0003", token, base_url)),
        SampleWebhook(
            "voicemail",
            voicemail_request(
                "hi um this is about my son he's had a fever of 102 since last night and he's not keeping "
                "fluids down can a nurse call me back at five five five oh one two three",
                "TR0001",
                token,
                base_url,
            ),
        ),
        SampleWebhook(
            "voicemail (failed transcript)", voicemail_request("", "TR0002", token, base_url, status="failed")
        ),
    ]
