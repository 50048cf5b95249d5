"""Email adapter: real-world MIME shapes, charsets and reply clutter."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from router.channels import ChannelPayloadError, parse_email
from router.schemas import Channel


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


def test_plain_email_keeps_subject_sender_and_message_id() -> None:
    raw = _crlf(
        "From: Maria Lopez <maria.lopez@example.com>\n"
        "To: frontdesk@clinic.example\n"
        "Subject: Reschedule my cleaning\n"
        "Date: Tue, 04 Mar 2025 09:12:00 -0500\n"
        "Message-ID: <CAF1234@mail.example.com>\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Can I move my cleaning from Thursday to next Monday morning?\n"
    )
    message = parse_email(raw)
    assert message.channel is Channel.email
    assert message.external_id == "<CAF1234@mail.example.com>"
    assert message.sender_name == "Maria Lopez"
    assert message.sender_email == "maria.lopez@example.com"
    assert message.subject == "Reschedule my cleaning"
    assert message.text == "Can I move my cleaning from Thursday to next Monday morning?"
    assert message.review_reason is None
    assert message.raw_metadata["body_source"] == "text/plain"


def test_html_only_alternative_is_converted_to_text() -> None:
    raw = _crlf(
        "From: pat@example.com\n"
        "Subject: Bill question\n"
        "Message-ID: <html-1@example.com>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b1"\n'
        "\n"
        "--b1\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Hi,</p><p>Why was I charged <b>$85</b> for my visit on 2/14?</p>"
        "<script>track()</script></body></html>\n"
        "--b1--\n"
    )
    message = parse_email(raw)
    assert "Why was I charged $85 for my visit on 2/14?" in message.text
    assert "<" not in message.text and "color" not in message.text and "track" not in message.text
    assert message.raw_metadata["body_source"] == "text/html"


def test_alternative_prefers_plain_text_over_html() -> None:
    raw = _crlf(
        "From: pat@example.com\n"
        "Subject: Refill\n"
        "Message-ID: <alt-2@example.com>\n"
        'Content-Type: multipart/alternative; boundary="b2"\n'
        "\n"
        "--b2\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "PLAIN: please refill my lisinopril\n"
        "--b2\n"
        "Content-Type: text/html; charset=us-ascii\n"
        "\n"
        "<p>HTML: please refill my lisinopril</p>\n"
        "--b2--\n"
    )
    assert parse_email(raw).text == "PLAIN: please refill my lisinopril"


def test_latin1_quoted_printable_body_decodes_accents() -> None:
    raw = _crlf(
        "From: =?iso-8859-1?q?Jos=E9_Mu=F1oz?= <jose@example.com>\n"
        "Subject: Cita\n"
        "Message-ID: <qp-1@example.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Necesito cambiar mi cita del mi=E9rcoles, se=F1ora. Gracias =\n"
        "por todo.\n"
    )
    message = parse_email(raw)
    assert message.sender_name == "José Muñoz"
    assert message.text == "Necesito cambiar mi cita del miércoles, señora. Gracias por todo."


def test_windows_1252_labelled_latin1_keeps_curly_quotes() -> None:
    body = "I\u2019m confused \u2013 the \u201cbalance due\u201d is \u20ac0?".encode("cp1252")
    raw = (
        _crlf(
            "From: a@example.com\nSubject: balance\nMessage-ID: <cp-1@example.com>\n"
            "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
        )
        + body
    )
    assert parse_email(raw).text == "I\u2019m confused \u2013 the \u201cbalance due\u201d is \u20ac0?"


@pytest.mark.parametrize("charset", ["x-unknown-charset", "base64", "utf-8"])
def test_wrong_or_unknown_charset_never_raises(charset: str) -> None:
    raw = (
        _crlf(
            f"From: a@example.com\nSubject: x\nMessage-ID: <cs@example.com>\n"
            f"Content-Type: text/plain; charset={charset}\n\n"
        )
        + b"caf\xe9 appointment please \xff\xfe"
    )
    message = parse_email(raw)
    assert message.text.startswith("caf")
    assert "appointment please" in message.text


def test_base64_utf8_body_and_encoded_word_subject() -> None:
    body = base64.b64encode("Résultats de mon analyse de sang ?".encode()).decode()
    raw = _crlf(
        "From: =?utf-8?b?w4lsb2TDrWU=?= <elodie@example.fr>\n"
        "Subject: =?utf-8?q?R=C3=A9sultats_d=27analyse?= =?utf-8?q?_urgent?=\n"
        "Message-ID: <b64@example.fr>\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n" + body + "\n"
    )
    message = parse_email(raw)
    assert message.subject == "Résultats d'analyse urgent"
    assert message.sender_name == "Élodíe"
    assert message.text == "Résultats de mon analyse de sang ?"


def test_quoted_reply_and_signature_are_stripped() -> None:
    raw = _crlf(
        "From: Jane Roe <jane@example.com>\n"
        "Subject: Re: Appointment reminder\n"
        "Message-ID: <reply-1@example.com>\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Hi, I can't make it tomorrow. Can we do Friday afternoon instead?\n"
        "\n"
        "Thanks,\n"
        "Jane\n"
        "\n"
        "Sent from my iPhone\n"
        "\n"
        "On Mon, Mar 3, 2025 at 9:14 AM Sunrise Dental <\n"
        "reminders@sunrise.example> wrote:\n"
        "> This is a reminder of your appointment on Tuesday at 10:00.\n"
        "> Reply C to confirm.\n"
    )
    message = parse_email(raw)
    assert message.text == "Hi, I can't make it tomorrow. Can we do Friday afternoon instead?"
    assert message.subject == "Re: Appointment reminder"


def test_outlook_reply_block_is_stripped() -> None:
    raw = _crlf(
        "From: bob@example.com\nSubject: RE: statement\nMessage-ID: <ol@example.com>\n\n"
        "I already paid this in January, please check.\n\n"
        "________________________________\n"
        "From: Billing Office <billing@clinic.example>\n"
        "Sent: Monday, March 3, 2025 8:00 AM\n"
        "To: Bob\n"
        "Subject: statement\n\n"
        "Your balance of $120 is past due.\n"
    )
    message = parse_email(raw)
    assert message.text == "I already paid this in January, please check."
    assert "past due" not in message.text


def test_all_quote_forward_still_yields_text() -> None:
    raw = _crlf(
        "From: bob@example.com\nSubject: Fwd: results\nMessage-ID: <fw@example.com>\n\n"
        "On Mon, Mar 3, 2025, Lab <lab@example.com> wrote:\n"
        "> Your lipid panel results are ready.\n"
    )
    assert parse_email(raw).text == "Your lipid panel results are ready."


def test_missing_message_id_is_idempotent_and_distinct() -> None:
    raw = _crlf("From: a@example.com\nSubject: hi\nDate: Tue, 04 Mar 2025 09:12:00 -0500\n\nneed a refill\n")
    other = raw.replace(b"refill", b"referral")
    first, again = parse_email(raw), parse_email(raw)
    assert first.external_id == again.external_id
    assert first.external_id.startswith("sha256:")
    assert first.id != again.id
    assert parse_email(other).external_id != first.external_id


def test_missing_message_id_survives_an_added_trace_header() -> None:
    raw = _crlf("From: a@example.com\nSubject: hi\nDate: Tue, 04 Mar 2025 09:12:00 -0500\n\nneed a refill\n")
    relayed = b"Received: from mx2.example.net by mx.clinic.example\r\n" + raw
    assert parse_email(relayed).external_id == parse_email(raw).external_id


def test_attachment_text_is_not_the_body() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["Subject"] = "insurance card"
    msg["Message-ID"] = "<att@example.com>"
    msg.set_content("Attached is my new insurance card, please update my file.")
    msg.add_attachment(b"MEMBER ID 998877 GROUP 42", maintype="text", subtype="plain", filename="card.txt")
    message = parse_email(msg.as_bytes())
    assert message.text == "Attached is my new insurance card, please update my file."
    assert message.raw_metadata["has_attachments"] is True


def test_subject_only_email_is_accepted_with_empty_text() -> None:
    raw = _crlf("From: a@example.com\nSubject: Need refill of metformin\nMessage-ID: <s@example.com>\n\n\n")
    message = parse_email(raw)
    assert message.text == ""
    assert message.subject == "Need refill of metformin"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"just some bytes without any headers", "no mail headers"),
        (b"From: a@example.com\r\nMessage-ID: <e@example.com>\r\n\r\n   \r\n", "no text body"),
    ],
)
def test_unusable_email_is_rejected_with_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ChannelPayloadError, match=reason):
        parse_email(raw)


def test_non_bytes_is_rejected() -> None:
    with pytest.raises(ChannelPayloadError):
        parse_email("From: a@example.com\n\nhi")  # type: ignore[arg-type]


def test_raw_8bit_utf8_header_is_decoded() -> None:
    raw = (
        "From: Zoë <zoe@example.com>\nSubject: Überweisung\nMessage-ID: <8b@example.com>\n\nhello\n".encode()
    )
    message = parse_email(raw)
    assert message.subject == "Überweisung"
    assert message.sender_name == "Zoë"


def test_error_message_does_not_echo_content() -> None:
    secret = b"From: a@example.com\r\nSubject: \r\n\r\n\r\n"
    with pytest.raises(ChannelPayloadError) as info:
        parse_email(secret)
    assert "a@example.com" not in str(info.value)


def test_each_header_is_parsed_once_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stdlib re-parses a header on every read; parse_email's policy parses each once."""
    from email.headerregistry import HeaderRegistry

    parsed: list[str] = []
    stock = HeaderRegistry.__call__

    def counting(self: HeaderRegistry, name: str, value: str) -> object:
        parsed.append(name.lower())
        return stock(self, name, value)

    monkeypatch.setattr(HeaderRegistry, "__call__", counting)
    raw = _crlf(
        "From: Pat <pat@example.com>\nSubject: Bill\nMessage-ID: <a@b>\n"
        "Content-Type: text/plain; charset=utf-8\n\nWhy was I charged twice for my visit?\n"
    )
    first = parse_email(raw)
    assert parsed.count("content-type") == 1 and parsed.count("from") == 1
    # a second message gets its own headers: nothing is shared between messages
    second = parse_email(raw.replace(b"Pat <pat@", b"Lee <lee@"))
    assert parsed.count("content-type") == 2
    assert (first.sender_name, second.sender_name) == ("Pat", "Lee")
