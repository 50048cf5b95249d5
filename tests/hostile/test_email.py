"""Hostile raw emails on POST /v1/inbound/email: 202 and stored, or a 4xx with a reason; never a 5xx."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from tests.hostile.strategies import hostile_bytes, nasty_text
from tests.hostile.support import assert_alive, check_response, hostile_settings
from tests.router.api.conftest import bearer

HEADERS = {"content-type": "message/rfc822", **bearer("k-inbound")}
HEADER_NAMES = (
    "From",
    "To",
    "Subject",
    "Message-ID",
    "Date",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "In-Reply-To",
    "Content-Disposition",
    "Reply-To",
    "Sender",
    "Received",
)
CONTENT_TYPES = (
    b"text/plain",
    b"text/plain; charset=utf-8",
    b"text/plain; charset=raw-unicode-escape",
    b"text/plain; charset=utf-16",
    b"text/plain; charset=base64",
    b"text/plain; charset=x-no-such-charset",
    b'text/plain; charset="\x00"',
    b"text/html; charset=iso-8859-1",
    b"multipart/alternative; boundary=BB",
    b"multipart/mixed",
    b"multipart/mixed; boundary=",
    b"message/rfc822",
    b"application/octet-stream",
    b"\xff\xfe/\x00",
)
ENCODINGS = (None, b"base64", b"quoted-printable", b"7bit", b"8bit", b"binary", b"x-uuencode", b"\x00garbage")


def post(client: TestClient, raw: bytes):  # type: ignore[no-untyped-def]
    return client.post("/v1/inbound/email", content=raw, headers=HEADERS)


@st.composite
def hostile_emails(draw: st.DrawFn) -> bytes:
    """Mail-shaped bytes: a few real headers with hostile values, odd MIME labels, hostile bodies."""
    names = st.one_of(
        st.sampled_from(HEADER_NAMES).map(str.encode), hostile_bytes.filter(lambda b: b":" not in b)
    )
    headers = draw(st.lists(st.tuples(names, hostile_bytes), min_size=1, max_size=10))
    if draw(st.booleans()):
        headers.append((b"Content-Type", draw(st.sampled_from(CONTENT_TYPES))))
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding is not None:
        headers.append((b"Content-Transfer-Encoding", encoding))
    body = draw(st.one_of(hostile_bytes, nasty_text.map(lambda s: s.encode()), st.just(b"")))
    if encoding == b"base64" and draw(st.booleans()):
        body = base64.b64encode(body)
    if draw(st.booleans()):  # a multipart body around it
        body = b"--BB\r\nContent-Type: text/plain\r\n\r\n" + body + b"\r\n--BB--\r\n"
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    return eol.join(name + b": " + value for name, value in headers) + eol + eol + body


def nested_mime(depth: int, kinds: list[str]) -> bytes:
    """``depth`` levels of multipart (or message/rfc822) each holding the next, a text part inside."""
    head, tail = [b"From: pat@example.com\nMessage-ID: <deep-%d@x>\n" % depth], []
    for level in range(depth):
        kind = kinds[level % len(kinds)]
        if kind == "message/rfc822":
            head.append(b"Content-Type: message/rfc822\n\nSubject: l%d\n" % level)
        else:
            boundary = b"b%d" % level
            head.append(b"Content-Type: %s; boundary=%s\n\n--%s\n" % (kind.encode(), boundary, boundary))
            tail.append(b"\n--%s--\n" % boundary)
    head.append(b"Content-Type: text/plain\n\nplease move my appointment to friday\n")
    return b"".join(head) + b"".join(reversed(tail))


def test_arbitrary_bytes_as_an_email(
    client: TestClient, db_url: str, session_factory: sessionmaker[Session]
) -> None:
    @hostile_settings(db_url)
    @given(raw=st.one_of(st.binary(max_size=3000), hostile_bytes))
    @example(raw=b"\x00" * 1000)
    @example(raw=b"From: \x00\r\n\r\n\x00")
    @example(raw=b"\xff" * 500)
    @example(raw=b"\r\n\r\n\r\n")
    @example(raw=b"Subject: \x00\x00\x00\r\nMessage-ID: <\x00@x>\r\n\r\n")
    def run(raw: bytes) -> None:
        check_response(post(client, raw), session_factory, "email.bytes")

    run()
    assert_alive(client)


def test_mail_shaped_hostile_emails(
    client: TestClient, db_url: str, session_factory: sessionmaker[Session]
) -> None:
    @hostile_settings(db_url)
    @given(raw=hostile_emails())
    @example(raw=b"From: a@b.c\r\nMessage-ID: <a\x00b@x>\r\nSubject: hi\r\n\r\nhello there")
    @example(raw=b"From: Pat\x00 <a@b.c>\r\nSubject: =?utf-8?q?=00=01?=\r\n\r\n\x00\x01")
    @example(
        raw=b"From: \xff\xfe <a@b.c>\r\nMessage-ID: <\xed\xa0\x80@x>\r\nSubject: \xed\xa0\x80\r\n\r\nhi there"
    )
    @example(raw=b"Subject: =?raw-unicode-escape?q?=5Cud800?=\r\n\r\n")
    @example(raw=b"Subject: x\r\nContent-Type: text/plain; charset=raw-unicode-escape\r\n\r\n\\ud800 hi")
    @example(raw=b"From: x\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n\x00\xd8\x00\xd8")
    @example(raw=b"From: x\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64===")
    @example(raw=b"From: x\r\nContent-Type: text/html\r\n\r\n<script>" + b"<" * 5000)
    @example(raw=b'From: x\r\nContent-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n\r\n----')
    @example(raw=b"Subject:\r\n\r\n   \r\n\t\r\n")  # nothing to route: a 4xx
    def run(raw: bytes) -> None:
        check_response(post(client, raw), session_factory, "email.mail_shaped")

    run()
    assert_alive(client)


@pytest.mark.parametrize("depth", [30, 400, 1000, 5000])
@pytest.mark.parametrize(
    "kinds",
    [
        ["multipart/mixed"],
        ["multipart/alternative"],
        ["message/rfc822"],
        ["multipart/mixed", "message/rfc822"],
    ],
    ids=["mixed", "alternative", "rfc822", "mixed+rfc822"],
)
def test_deeply_nested_mime(
    client: TestClient, session_factory: sessionmaker[Session], depth: int, kinds: list[str]
) -> None:
    check_response(post(client, nested_mime(depth, kinds)), session_factory, "email.nested_mime")
    assert_alive(client)


def test_randomly_nested_mime(
    client: TestClient, db_url: str, session_factory: sessionmaker[Session]
) -> None:
    kinds = st.sampled_from(
        ["multipart/mixed", "multipart/alternative", "multipart/related", "message/rfc822"]
    )

    @hostile_settings(db_url, examples=25)
    @given(depth=st.integers(1, 600), pattern=st.lists(kinds, min_size=1, max_size=4))
    def run(depth: int, pattern: list[str]) -> None:
        check_response(post(client, nested_mime(depth, pattern)), session_factory, "email.nested_mime")

    run()
    assert_alive(client)


HUGE_HEADERS = {
    "one_190k_subject": b"From: a@b.c\r\nSubject: " + b"x" * 190_000 + b"\r\n\r\nhi there",
    "one_190k_message_id": b"From: a@b.c\r\nMessage-ID: <" + b"m" * 190_000 + b">\r\n\r\nhi there",
    "one_190k_from": b"From: " + b"Pat " * 47_000 + b"<a@b.c>\r\n\r\nhi there",
    "20k_headers": b"From: a@b.c\r\n" + b"X-A: b\r\n" * 20_000 + b"\r\nhi there",
    "50k_folded_lines": b"From: a@b.c\r\nSubject: a\r\n" + b" b\r\n" * 45_000 + b"\r\nhi there",
    "10k_encoded_words": b"From: a@b.c\r\nSubject: " + b"=?utf-8?b?w6k=?= " * 10_000 + b"\r\n\r\nhi",
    "10k_addresses": b"From: " + b"a@b.c, " * 25_000 + b"\r\n\r\nhi there",
    "nested_comments_from": b"From: " + b"(" * 50_000 + b"a@b.c\r\n\r\nhi there",
    "10k_nul_header": b"From: a@b.c\r\nSubject: " + b"\x00" * 10_000 + b"\r\n\r\n\x00\x00",
    "huge_boundary": b"From: a\r\nContent-Type: multipart/mixed; boundary=" + b"b" * 100_000 + b"\r\n\r\nhi",
    "200_params": b"From: a\r\nContent-Type: text/plain" + b"; p=1" * 20_000 + b"\r\n\r\nhi there",
}


@pytest.mark.parametrize("name", sorted(HUGE_HEADERS))
def test_huge_headers(client: TestClient, session_factory: sessionmaker[Session], name: str) -> None:
    check_response(post(client, HUGE_HEADERS[name]), session_factory, "email.huge_headers")
    assert_alive(client)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@b.c\r\nMessage-ID: <e1@x>\r\n\r\n",
        b"From: a@b.c\r\nMessage-ID: <e2@x>\r\nSubject:   \r\n\r\n   \r\n",
        b"From: a@b.c\r\nMessage-ID: <e3@x>\r\nContent-Type: text/html\r\n\r\n<p>&nbsp;</p>",
    ],
    ids=["no_body", "blank_subject_and_body", "html_nbsp_only"],
)
def test_empty_email_is_a_4xx(client: TestClient, session_factory: sessionmaker[Session], raw: bytes) -> None:
    assert 400 <= check_response(post(client, raw), session_factory, "email.empty") < 500


def test_emoji_only_email_is_stored_for_review(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    raw = (
        "From: a@b.c\r\nMessage-ID: <emoji@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n🙏🙏".encode()
    )
    response = post(client, raw)
    assert check_response(response, session_factory, "email.empty") == 202
    from router import store

    with session_factory() as session:
        stored = store.get_message(session, response.json()["id"])
    assert stored is not None and stored.message.review_reason == "no_text"
