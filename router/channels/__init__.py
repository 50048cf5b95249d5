"""Channel adapters: each turns one channel's own payload into an :class:`InboundMessage`.

Adapters are pure (no I/O, no database, no logging of message content) so the HTTP layer, the
demo and the tests all share them, and every rejection is a :class:`ChannelPayloadError` whose
message is safe to return to the caller as a 4xx reason: it never quotes the payload.
"""

from __future__ import annotations


class ChannelPayloadError(ValueError):
    """The payload cannot become a message; ``str(error)`` is a reason fit for a 4xx response."""


# The adapters import ChannelPayloadError from this package, so it is defined before them.
from router.channels.cleaning import clean_subject, clean_text, has_words  # noqa: E402
from router.channels.email import parse_email  # noqa: E402
from router.channels.sms import parse_twilio_sms  # noqa: E402
from router.channels.twilio_signature import compute_twilio_signature, is_valid_twilio_signature  # noqa: E402
from router.channels.voicemail import parse_twilio_voicemail  # noqa: E402
from router.channels.web_form import parse_web_form  # noqa: E402

__all__ = [
    "ChannelPayloadError",
    "clean_subject",
    "clean_text",
    "compute_twilio_signature",
    "has_words",
    "is_valid_twilio_signature",
    "parse_email",
    "parse_twilio_sms",
    "parse_twilio_voicemail",
    "parse_web_form",
]
