"""Email: a raw RFC 822 message (as a mail gateway posts it) to an :class:`InboundMessage`.

Mail in the wild is malformed more often than not: wrong or unknown charsets, raw 8-bit headers,
HTML-only bodies, broken base64. The parser therefore degrades instead of failing (a wrong charset
gives a few replacement characters, never an exception) and rejects only what has nothing to
route: no headers at all, or neither a body nor a subject. A subject-only email is accepted (the
model reads the subject with the text); one whose only content is an emoji is flagged for review.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Any

import html2text

from router.channels import ChannelPayloadError
from router.channels.cleaning import clean_subject, clean_text, has_words, normalise_text
from router.schemas import Channel, InboundMessage

# Headers at least one of which any real message carries; without them the bytes are not mail.
_MAIL_HEADERS = ("from", "date", "message-id", "subject", "to", "received", "mime-version")
# Senders label windows-1252 text (curly quotes, euro sign) as latin-1 or ASCII; browsers decode
# those labels as windows-1252 for the same reason.
_CP1252_LABELS = frozenset(
    {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"}
)
_MAX_EXTERNAL_ID = 255
_MAX_NAME = 200
_ADDR_SPEC = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|])")
# The stdlib's header parser costs ~10 µs per byte, again on every access: a 1 MB From or
# Content-Type (or many parts with long ones) would pin a CPU for minutes. The headers read here
# are short in real mail, so their size is checked on the raw bytes before anything is parsed.
_PARSED_FIELD = re.compile(
    rb"(?:\A|(?<=[\r\n]))(?i:from|subject|message-id|date|in-reply-to|"
    rb"content-type|content-disposition|content-transfer-encoding)[ \t]*:"
)
_FIELD_END = re.compile(rb"\r\n(?![ \t])|\n(?![ \t])|\r(?![\n \t])")
_MAX_PARSED_FIELD = 8_192
_MAX_PARSED_FIELDS_TOTAL = 65_536


class _ParseOnceHeaders(HeaderRegistry):
    """The default policy's header classes, but each header parsed once per message.

    The stdlib parses a header again on every access: one email's parse read Content-Type seven
    times and spent 80% of its 0.6 ms in the header parser. One instance per message, so nothing
    of one message's headers outlives it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name.lower(), value)
        header = self._parsed.get(key)
        if header is None:
            header = self._parsed[key] = super().__call__(name, value)
        return header


def _check_header_sizes(raw: bytes) -> None:
    total = 0
    for match in _PARSED_FIELD.finditer(raw):
        end = _FIELD_END.search(raw, match.end())
        size = (end.start() if end else len(raw)) - match.start()
        total += size
        if size > _MAX_PARSED_FIELD or total > _MAX_PARSED_FIELDS_TOTAL:
            name = match.group().rstrip(b": \t").decode("ascii").title()
            raise ChannelPayloadError(f"email header {name} is too large")


def _desurrogate(text: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes; most such mail is UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8", "replace")


def _decode_raw_header(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # the stdlib's header decoder has many failure modes on hostile input
        return value


def _header(msg: Message, name: str) -> str | None:
    """A header's decoded text, falling back to the raw value when the policy's parser fails."""
    try:
        value = msg.get(name)
        text = None if value is None else str(value)
    except Exception:
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
        text = None if raw is None else _decode_raw_header(raw)
    if text is None:
        return None
    return _desurrogate(text)


def _sender(msg: Message) -> tuple[str | None, str | None]:
    raw = _header(msg, "From")
    if not raw:
        return None, None
    name, address = "", ""
    try:
        addresses = getattr(msg["From"], "addresses", ())
        if addresses:
            name, address = addresses[0].display_name, addresses[0].addr_spec
    except Exception:
        pairs = getaddresses([raw])
        if pairs:
            name, address = pairs[0]
    name = " ".join(normalise_text(_desurrogate(name)).split())[:_MAX_NAME]
    address = _desurrogate(address).strip()
    return (name or None), (address if _ADDR_SPEC.match(address) and len(address) <= 254 else None)


def _decode_bytes(payload: bytes, charset: str | None) -> str:
    """Text from bytes under a possibly wrong charset label; never raises."""
    label = (charset or "").strip().strip("\"'").lower()
    attempts: list[str] = []
    if label in _CP1252_LABELS:
        attempts.append("cp1252")
    if label:
        attempts.append(label)
    attempts += ["utf-8", "cp1252"]
    for encoding in attempts:
        try:
            codecs.lookup(encoding)
            return payload.decode(encoding)
        except Exception:  # unknown label, a non-text codec ("base64"), or bytes it cannot decode
            continue
    return payload.decode("latin-1")


def _html_to_text(markup: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    try:
        text = converter.handle(markup)
    except Exception:  # html2text on hostile markup: fall back to dropping the tags
        text = html.unescape(re.sub(r"(?s)<(script|style)\b.*?</\1\s*>|<[^>]*>", " ", markup))
    return _MD_ESCAPE.sub(r"\1", text)


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = _decode_bytes(payload, charset)
    return _html_to_text(text) if part.get_content_type() == "text/html" else text


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:
        return False


def _body(part: Message, depth: int = 0) -> tuple[str, str | None]:
    """The message's own text and where it came from ("text/plain" or "text/html").

    Inside multipart/alternative plain text wins (it is what the sender typed, without markup);
    other multiparts contribute every inline text part, so Apple Mail's text-image-text split
    keeps both halves. Attachments, forwarded messages and non-text parts are skipped.
    """
    if depth > 20:
        return "", None
    content_type = part.get_content_type()
    if content_type.startswith("message/"):
        return "", None
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if content_type == "multipart/alternative":
            ranked = sorted(children, key=lambda c: c.get_content_type() != "text/plain")
            options = [_body(child, depth + 1) for child in ranked]
            usable = [o for o in options if has_words(o[0])] or [o for o in options if o[0].strip()]
            return usable[0] if usable else ("", None)
        texts = [_body(child, depth + 1) for child in children]
        kept = [(text, source) for text, source in texts if text.strip()]
        if not kept:
            return "", None
        source = "text/plain" if any(s == "text/plain" for _, s in kept) else kept[0][1]
        return "\n\n".join(text for text, _ in kept), source
    if _is_attachment(part) or content_type not in ("text/plain", "text/html"):
        return "", None
    return _part_text(part), content_type


def _forwarded_body(msg: Message) -> str:
    """Text of an attached message/rfc822: the last resort for a forward sent with no comment."""
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            for inner in part.get_payload():
                if isinstance(inner, Message):
                    text, _ = _body(inner, 1)
                    if has_words(text):
                        return text
    return ""


def _fallback_id(msg: Message, raw: bytes) -> str:
    """An id for mail without a Message-ID that a relay's added trace headers do not change."""
    split = re.search(rb"\r?\n\r?\n", raw)
    body = raw[split.end() :] if split else b""
    digest = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject"):
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")
        digest.update(name.encode() + b":" + value.encode("utf-8", "surrogateescape") + b"\n")
    digest.update(b"\n" + body if split else raw)
    return "sha256:" + digest.hexdigest()


def _external_id(msg: Message, raw: bytes) -> str:
    message_id = " ".join((_header(msg, "Message-ID") or "").split())
    if not message_id or not has_words(message_id):
        return _fallback_id(msg, raw)
    if len(message_id) > _MAX_EXTERNAL_ID:
        return "msgid-sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return message_id


def _metadata(msg: Message, source: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"body_source": source}
    for key, name in (("date", "Date"), ("in_reply_to", "In-Reply-To")):
        value = _header(msg, name)
        if value and value.strip():
            meta[key] = " ".join(value.split())[:300]
    meta["has_attachments"] = any(_is_attachment(part) for part in msg.walk())
    return meta


def parse_email(raw: bytes) -> InboundMessage:
    """One raw RFC 822 message as a mail gateway posts it; raises :class:`ChannelPayloadError`.

    The external id is the Message-ID, or a hash of the message when it has none, so that a
    redelivered message is recognised as the same one.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ChannelPayloadError("email must be raw RFC 822 bytes")
    raw = bytes(raw)
    if not raw.strip():
        raise ChannelPayloadError("email is empty")
    _check_header_sizes(raw)
    try:
        parse_policy = policy.default.clone(header_factory=_ParseOnceHeaders())
        msg = message_from_bytes(raw, _class=EmailMessage, policy=parse_policy)
    except Exception as exc:  # the feed parser is lenient; this is a guard, not a path
        raise ChannelPayloadError("email could not be parsed as RFC 822") from exc
    if not any(name.lower() in _MAIL_HEADERS for name, _ in msg.raw_items()):
        raise ChannelPayloadError("not an RFC 822 message: no mail headers")
    try:
        return _build(msg, raw)
    except ChannelPayloadError:
        raise
    except Exception as exc:  # invariant: bad mail is a 4xx, never a 500; the cause is kept chained
        raise ChannelPayloadError(f"email could not be parsed ({type(exc).__name__})") from exc


def _build(msg: Message, raw: bytes) -> InboundMessage:
    subject = clean_subject(_header(msg, "Subject"))
    body, source = _body(msg)
    if not body.strip():
        body, source = _forwarded_body(msg), "message/rfc822"
    text = clean_text(Channel.email, body, subject)
    if not text and not subject:
        raise ChannelPayloadError("email has no text body")
    sender_name, sender_email = _sender(msg)
    routable = has_words(text) or has_words(subject)
    return InboundMessage(
        channel=Channel.email,
        external_id=_external_id(msg, raw),
        sender_name=sender_name,
        sender_email=sender_email,
        subject=subject,
        text=text,
        raw_metadata=_metadata(msg, source if text else None),
        review_reason=None if routable else "no_text",
    )
