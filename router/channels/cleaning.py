"""Per-channel text cleaning shared by the channel adapters and ``frontdesk classify``.

The model was trained on the ask alone: no quoted history, signatures, form-field labels or SMS
opt-out footers. Every path into the classifier goes through :func:`clean_text`, so a message
classifies the same whether it arrived as a webhook or as a line on the CLI.

The rules are deliberately conservative: a rule only removes what it recognises, and when the
rules leave no words behind the whitespace-normalised original is returned instead, because an
imperfect text still routes better than an empty one.
"""

from __future__ import annotations

import re
import unicodedata

from router.schemas import Channel

MAX_TEXT_CHARS = 5_000
MAX_SUBJECT_CHARS = 500
# Cleaning is linear, but a megabyte of pasted log need not be walked to keep its first 5,000 chars.
MAX_INPUT_CHARS = 200_000

# --------------------------------------------------------------------------- generic

# C0/C1 controls go (they carry no meaning and break some tokenizers and terminals); line and
# paragraph separators become newlines, tabs become spaces; zero-width and BOM characters go.
_CONTROL_TABLE: dict[int, str | None] = {code: None for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_CONTROL_TABLE.update(
    {
        ord("\n"): "\n",
        ord("\t"): " ",
        ord("\v"): "\n",
        ord("\f"): "\n",
        0x85: "\n",
        0x2028: "\n",
        0x2029: "\n",
        0x200B: None,
        0x2060: None,
        0xFEFF: None,
        0x00AD: None,
    }
)
_SURROGATES = re.compile("[\ud800-\udfff]")
_HSPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_WORD = re.compile(r"[^\W_]")


def has_words(text: str | None) -> bool:
    """A letter or digit anywhere: punctuation and whitespace alone give the model nothing."""
    return bool(text) and _WORD.search(text or "") is not None


def _strip_controls(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATES.sub("", text.translate(_CONTROL_TABLE))
    return unicodedata.normalize("NFC", text)


def _collapse(text: str) -> str:
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _cap(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip()


def normalise_text(text: str) -> str:
    """Controls stripped, whitespace collapsed, capped: the floor every channel gets."""
    return _cap(_collapse(_strip_controls(text)))


def clean_subject(subject: str | None) -> str | None:
    """An email subject as stored and shown to the model; None when it has nothing in it."""
    if subject is None:
        return None
    cleaned = _cap(" ".join(_strip_controls(subject).split()), MAX_SUBJECT_CHARS)
    return cleaned or None


# --------------------------------------------------------------------------- email

_WROTE_START = re.compile(r"^\s*On\s", re.IGNORECASE)
_WROTE_END = re.compile(r"\bwrote\s*:\s*$", re.IGNORECASE)
_SEPARATOR_HEADER = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Forwarded message)\s*-*|Begin forwarded message\s*:)\s*$",
    re.IGNORECASE,
)
_FROM_HEADER = re.compile(r"^\s*\**\s*From\s*\**\s*:\s*\S", re.IGNORECASE)
_SENT_HEADER = re.compile(r"^\s*\**\s*(?:Sent|Date)\s*\**\s*:\s*\S", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>")
_QUOTE_MARKERS = re.compile(r"^\s*(?:>\s?)+")
_RULE_LINE = re.compile(r"^\s*[-_=*~]{2,}\s*$")

_SIG_DELIMITER = re.compile(r"^\s*(?:--|__)\s*$")
_SENT_FROM = re.compile(
    r"^\s*(?:Sent from my\b|Sent from (?:Yahoo Mail|Outlook|Mail for Windows|AOL)\b|Get Outlook for\b"
    r"|Sent via\b|Sent with\b|Sent using\b)",
    re.IGNORECASE,
)
_NOTICE = re.compile(
    r"^\s*\**\s*(?:"
    r"(?:CONFIDENTIALITY|PRIVACY|HIPAA)(?:\s+(?:NOTICE|STATEMENT|WARNING))?\s*[:\-]"
    r"|CONFIDENTIAL(?:ITY)?\s+NOTICE"
    r"|(?:PRIVILEGED\s+(?:AND|&)\s+)?CONFIDENTIAL\s*:"
    r"|DISCLAIMER\s*:"
    r"|This\s+(?:e-?mail|message|communication|transmission)\b.{0,160}?"
    r"\b(?:confidential|privileged|intended\s+(?:only\s+)?for)"
    r"|The\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message|communication)"
    r"|If\s+you\s+(?:are\s+not|have\s+received\s+this)\b.{0,60}?\b(?:intended\s+recipient|in\s+error)"
    r")",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:thanks|thank\s+you|thanks\s+(?:again|so\s+much)|thank\s+you\s+(?:again|so\s+much)"
    r"|many\s+thanks|thx|best|best\s+regards|best\s+wishes|regards|kind\s+regards|warm\s+regards"
    r"|warmly|sincerely|yours\s+truly|cheers|respectfully|take\s+care|with\s+thanks)\s*[,.!]*\s*$",
    re.IGNORECASE,
)
_SIGNATURE_TAIL_MAX_LINES = 4
_SIGNATURE_LINE_MAX_CHARS = 40


def _is_wrote_header(lines: list[str], i: int) -> bool:
    """The "On <date>, <name> wrote:" line, which clients wrap over up to three lines."""
    if not _WROTE_START.match(lines[i]):
        return False
    window = lines[i : i + 3]
    return len(" ".join(window)) <= 400 and any(_WROTE_END.search(line) for line in window)


def _is_outlook_header(lines: list[str], i: int) -> bool:
    """Outlook's "From: ... / Sent: ..." block: a From line with a Sent or Date line just below."""
    return bool(_FROM_HEADER.match(lines[i])) and any(
        _SENT_HEADER.match(line) for line in lines[i + 1 : i + 5]
    )


def _quote_cut(lines: list[str]) -> int:
    """Index of the first line of quoted history (reply header, separator, Outlook block)."""
    for i, line in enumerate(lines):
        if _SEPARATOR_HEADER.match(line) or _is_wrote_header(lines, i) or _is_outlook_header(lines, i):
            return i
    return len(lines)


def _looks_like_signature_tail(tail: list[str]) -> bool:
    """What follows a sign-off is a name, a title or a phone number, not a further question."""
    content = [line.strip() for line in tail if line.strip()]
    return len(content) <= _SIGNATURE_TAIL_MAX_LINES and all(
        len(line) <= _SIGNATURE_LINE_MAX_CHARS and len(line.split()) <= 6 and not line.endswith("?")
        for line in content
    )


def _signature_cut(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if i == 0:
            continue
        if _SIG_DELIMITER.match(line) or _NOTICE.match(line):
            return i
        if _SENT_FROM.match(line) and len(line.strip()) <= 80:
            return i
        if _SIGN_OFF.match(line) and _looks_like_signature_tail(lines[i + 1 :]):
            return i
    return len(lines)


def _same_line(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _without_reply_headers(lines: list[str]) -> list[str]:
    """Every line but quotes, separators and (possibly wrapped) "On ... wrote:" headers."""
    kept: list[str] = []
    skip_until = -1
    for i, line in enumerate(lines):
        if i <= skip_until or _QUOTED.match(line) or _SEPARATOR_HEADER.match(line):
            continue
        if _is_wrote_header(lines, i):
            skip_until = next(j for j in range(i, i + 3) if _WROTE_END.search(lines[j]))
            continue
        kept.append(line)
    return kept


def _clean_email(text: str, subject: str | None) -> str:
    all_lines = text.split("\n")
    lines = [line for line in all_lines[: _quote_cut(all_lines)] if not _QUOTED.match(line)]
    if not has_words("\n".join(lines)):
        # Bottom-posted reply: the answer sits below the quote it answers.
        lines = _without_reply_headers(all_lines)
    lines = lines[: _signature_cut(lines)]
    while lines and (not lines[-1].strip() or _RULE_LINE.match(lines[-1])):
        lines.pop()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    # Some clients repeat the subject as the first body line; the model sees the subject anyway.
    if first is not None and subject and _same_line(lines[first], subject):
        del lines[first]
    return _collapse("\n".join(lines))


def _dequoted_email(text: str) -> str:
    """Fallback for a message that is all quote (a bare forward): the quoted words themselves."""
    lines = [_QUOTE_MARKERS.sub("", line) for line in text.split("\n")]
    lines = [
        line
        for line in lines
        if not (_WROTE_START.match(line) and _WROTE_END.search(line)) and not _SEPARATOR_HEADER.match(line)
    ]
    return _collapse("\n".join(lines))


# --------------------------------------------------------------------------- web form

_LABEL_LINE = re.compile(
    r"^\s*[*_]*\s*(?P<label>[A-Za-z][A-Za-z0-9 .'/&()#-]{0,40}?)\s*[*_]*\s*[:：]\s*[*_]*\s*(?P<value>.*)$"
)
_FORM_MESSAGE_LABELS = frozenset(
    {
        "message",
        "your message",
        "comments",
        "comment",
        "question",
        "questions",
        "your question",
        "details",
        "additional details",
        "additional information",
        "additional comments",
        "how can we help",
        "how can we help you",
        "inquiry",
        "enquiry",
        "notes",
        "description",
        "body",
    }
)
# Topic pickers carry a little signal ("Billing question"), unless they were left at a default.
_FORM_TOPIC_LABELS = frozenset(
    {
        "reason",
        "reason for contact",
        "reason for contacting us",
        "reason for inquiry",
        "reason for visit",
        "subject",
        "topic",
        "inquiry type",
        "request type",
        "department",
    }
)
_FORM_TOPIC_DEFAULTS = frozenset({"", "other", "general", "none", "n/a", "na", "-", "select", "select one"})
_FORM_DROPPED_LABELS = frozenset(
    {
        "name",
        "full name",
        "first name",
        "last name",
        "patient name",
        "patient's name",
        "your name",
        "parent name",
        "guardian name",
        "phone",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "home phone",
        "work phone",
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "your email",
        "date of birth",
        "dob",
        "d.o.b",
        "birth date",
        "birthdate",
        "birthday",
        "patient dob",
        "address",
        "street address",
        "street",
        "city",
        "state",
        "zip",
        "zip code",
        "zipcode",
        "postal code",
        "country",
        "location",
        "preferred location",
        "office",
        "clinic",
        "practice",
        "preferred contact",
        "preferred contact method",
        "contact method",
        "best way to contact",
        "best way to reach you",
        "best time to call",
        "best time to contact",
        "submitted",
        "submitted on",
        "submitted at",
        "date submitted",
        "submission date",
        "submission id",
        "form",
        "form name",
        "page",
        "page url",
        "source",
        "referrer",
        "ip",
        "ip address",
        "user agent",
        "new patient",
        "existing patient",
        "are you a new patient",
        "are you an existing patient",
        "mrn",
        "medical record number",
        "account number",
    }
)
_FORM_BOILERPLATE = re.compile(
    r"^\s*(?:submitted|sent|received)\s+(?:via|from|through|using)\b.{0,60}\b(?:form|website|site|portal)\W*$",
    re.IGNORECASE,
)


def _form_label(raw: str) -> str:
    label = re.sub(r"\(.*?\)", "", raw).replace("*", "")
    return " ".join(label.lower().split()).rstrip(".")


def _clean_web_form(text: str) -> str:
    kept: list[str] = []
    for line in text.split("\n"):
        if _FORM_BOILERPLATE.match(line):
            continue
        match = _LABEL_LINE.match(line)
        if match is None:
            kept.append(line)
            continue
        label, value = _form_label(match["label"]), match["value"].strip()
        if label in _FORM_DROPPED_LABELS:
            continue
        if label in _FORM_MESSAGE_LABELS:
            kept.append(value)
        elif label in _FORM_TOPIC_LABELS:
            if value.lower().rstrip(".") not in _FORM_TOPIC_DEFAULTS:
                kept.append(value)
        else:
            kept.append(line)
    return _collapse("\n".join(kept))


# --------------------------------------------------------------------------- SMS / voicemail

_SMS_BOILERPLATE = re.compile(
    r"(?:\b(?:reply|text|txt|send|respond)\s+[\"'“]?stop[\"'”]?\s+(?:to|2)\s+"
    r"(?:opt[\s-]?out|unsubscribe|end|cancel|quit|stop)\b"
    r"(?:\s+(?:of|from)\s+(?:future\s+|these\s+|all\s+)?(?:messages|texts|msgs|alerts))?[.!]?"
    r"|\bmsg\s*(?:&|and)\s*data\s+rates\s+(?:may\s+)?apply[.!]?"
    r"|\b(?:message|msg)\s+frequency\s+varies[.!]?"
    r"|\breply\s+help\s+for\s+(?:help|info|more\s+info)[.!]?"
    r"|\bstop\s*2\s*(?:end|quit)\b[.!]?)",
    re.IGNORECASE,
)


def _clean_sms(text: str) -> str:
    return _collapse(_SMS_BOILERPLATE.sub(" ", text))


def _clean_voicemail(text: str) -> str:
    # A transcript has no line structure worth keeping; its line breaks are the engine's.
    return _collapse(" ".join(_SMS_BOILERPLATE.sub(" ", text).split()))


# --------------------------------------------------------------------------- entry point


def clean_text(channel: Channel | str | None, text: str, subject: str | None = None) -> str:
    """The text the model should see for one message of ``channel`` (None: generic rules only).

    ``subject`` is an email's subject: a first body line that only repeats it is dropped, because
    the model is given the subject beside the text (``models.corpus.compose_text``). A channel
    name that is not a :class:`Channel` raises ``ValueError``.
    """
    kind = Channel(channel) if channel is not None else None
    base = _strip_controls(text[:MAX_INPUT_CHARS])
    if kind is Channel.email:
        cleaned = _clean_email(base, clean_subject(subject))
        if not has_words(cleaned):
            cleaned = _dequoted_email(base)
    elif kind is Channel.web_form:
        cleaned = _clean_web_form(base)
    elif kind is Channel.sms:
        cleaned = _clean_sms(base)
    elif kind is Channel.voicemail:
        cleaned = _clean_voicemail(base)
    else:
        cleaned = _collapse(base)
    if not has_words(cleaned):
        cleaned = _collapse(base)
    return _cap(cleaned)
