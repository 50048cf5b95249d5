"""Hostile JSON on POST /v1/inbound/form: 202 and stored, or a 4xx with a reason; never a 5xx."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from router import store
from tests.hostile.strategies import dumps, hostile_bytes, json_values, nasty_text, short_nasty_text
from tests.hostile.support import assert_alive, check_response, hostile_settings
from tests.router.api.conftest import bearer

HEADERS = {"content-type": "application/json", **bearer("k-inbound")}
FIELDS = ("submission_id", "message", "name", "email", "phone", "location")


def post(client: TestClient, body: bytes):  # type: ignore[no-untyped-def]
    return client.post("/v1/inbound/form", content=body, headers=HEADERS)


def test_arbitrary_bytes_as_a_form(
    client: TestClient, db_url: str, session_factory: sessionmaker[Session]
) -> None:
    @hostile_settings(db_url)
    @given(body=st.one_of(st.binary(max_size=2000), hostile_bytes))
    @example(body=b'{"submission_id": "s", "message": "caf\xe9"}')  # latin-1 inside JSON
    @example(body=b"\xef\xbb\xbf{}")  # a UTF-8 BOM
    @example(body=b'{"submission_id": "s", "message": "hi"}\x00')
    @example(body=b'{"submission_id": "s", "message": "hi"} trailing')
    @example(body=b"\x00" * 100)
    def run(body: bytes) -> None:
        check_response(post(client, body), session_factory, "form.bytes")

    run()
    assert_alive(client)


def test_any_json_value(client: TestClient, db_url: str, session_factory: sessionmaker[Session]) -> None:
    """Non-object JSON, and objects of anything: a 4xx unless it is a usable submission."""

    @hostile_settings(db_url)
    @given(value=json_values)
    @example(value=[1, 2])
    @example(value="a string")
    @example(value=None)
    @example(value=float("nan"))
    def run(value: object) -> None:
        check_response(post(client, dumps(value)), session_factory, "form.any_json")

    run()
    assert_alive(client)


@st.composite
def hostile_forms(draw: st.DrawFn) -> dict[str, object]:
    """Every known field present or not, as hostile text or as any JSON value; hostile extra fields."""
    form: dict[str, object] = {}
    for name in FIELDS:
        choice = draw(st.sampled_from(["absent", "text", "text", "json"]))
        if choice == "text":
            form[name] = draw(nasty_text)
        elif choice == "json":
            form[name] = draw(json_values)
    form.update(draw(st.dictionaries(short_nasty_text, json_values, max_size=8)))
    return form


def test_hostile_fields(client: TestClient, db_url: str, session_factory: sessionmaker[Session]) -> None:
    @hostile_settings(db_url)
    @given(form=hostile_forms())
    @example(form={"submission_id": "a\x00b", "message": "hi\x00 there", "phone": "+1\x00555"})
    @example(form={"submission_id": "s\x00", "message": "\x00\x01\x02\x1b[31m\x7f", "name": "\x00" * 50})
    @example(form={"submission_id": "s-nul-key", "message": "need an appointment", "k\x00": "v\x00"})
    @example(form={"submission_id": 12, "message": 3.5, "name": True, "email": ["x"], "phone": {"a": 1}})
    @example(form={"submission_id": "", "message": "hello"})
    @example(form={"submission_id": "s" * 256, "message": "hello"})
    @example(form={"submission_id": "s-huge-extra", "message": "hello", "x" * 10_000: "y" * 10_000})
    @example(form={"submission_id": "s-e", "message": "hello", "email": "a\x00@b.c", "location": "\u202e"})
    def run(form: dict[str, object]) -> None:
        check_response(post(client, dumps(form)), session_factory, "form.fields")

    run()
    assert_alive(client)


RAW_CASES = {
    "big_integer": b'{"submission_id": "s-int", "message": "hi", "x": ' + b"1" * 5000 + b"}",
    "big_integer_message": b'{"submission_id": "s-int2", "message": ' + b"9" * 4301 + b"}",
    "huge_float": b'{"submission_id": "s-f", "message": 1e999999}',
    "nan_message": b'{"submission_id": "s-nan", "message": NaN}',
    "lone_surrogate_id": b'{"submission_id": "\\ud800", "message": "hello there"}',
    "lone_surrogate_key": b'{"submission_id": "s-sk", "message": "hello there", "\\udfff": 1}',
    "lone_surrogate_message": b'{"submission_id": "s-sm", "message": "\\ud800\\udbff"}',
    "nul_escape_everywhere": b'{"submission_id": "\\u0000", "message": "\\u0000 hi", "\\u0000": "\\u0000"}',
    "duplicate_keys": b'{"submission_id": "s-d", "message": "a", "message": "need a refill"}',
    "10k_extra_fields": json.dumps(
        {"submission_id": "s-many", "message": "hello", **{f"f{i}": i for i in range(10_000)}}
    ).encode(),
    "190k_message": json.dumps({"submission_id": "s-190k", "message": "word " * 38_000}).encode(),
    "190k_of_nul": json.dumps({"submission_id": "s-nul190k", "message": "\x00" * 30_000}).encode(),
    "190k_one_token": json.dumps({"submission_id": "s-tok", "message": "a" * 190_000}).encode(),
    "empty_object": b"{}",
    "empty_body": b"",
    "whitespace_body": b" \n\t ",
}


@pytest.mark.parametrize("name", sorted(RAW_CASES))
def test_raw_hostile_json(client: TestClient, session_factory: sessionmaker[Session], name: str) -> None:
    check_response(post(client, RAW_CASES[name]), session_factory, "form.raw")
    assert_alive(client)


@pytest.mark.parametrize("depth", [100, 990, 5_000, 100_000])
@pytest.mark.parametrize("shape", ["list", "object", "mixed", "in_message", "in_extra"])
def test_deeply_nested_json(
    default_limit_client: TestClient, session_factory: sessionmaker[Session], depth: int, shape: str
) -> None:
    """Up to 100k levels of [[[...]]]: a 422 'nested too deeply', or accepted when shallow enough."""
    if shape == "list":
        body = b"[" * depth + b"]" * depth
    elif shape == "object":
        body = b'{"a":' * depth + b"1" + b"}" * depth
    elif shape == "mixed":
        body = b'[{"a":' * (depth // 2) + b"1" + b"}]" * (depth // 2)
    else:
        nested = b"[" * depth + b"]" * depth
        key = b"message" if shape == "in_message" else b"extra"
        message = b"" if shape == "in_message" else b'"message": "hello there", '
        body = b'{"submission_id": "deep-%d", %s"%s": %s}' % (depth, message, key, nested)
    assert len(body) < 1_000_000  # under the shipped limit: this reaches the JSON parser
    response = post(default_limit_client, body)
    code = check_response(response, session_factory, "form.deep")
    if depth >= 5_000:
        assert code == 422
    assert_alive(default_limit_client)


@pytest.mark.parametrize(
    ("message", "expect"),
    [
        ("", 422),
        ("   \n\t ", 422),
        ("\x00\x01\x02", 422),
        ("\u200b\ufeff", 422),
        ("!!! ???", 202),
        ("🙏", 202),
    ],
    ids=["empty", "blank", "controls_only", "zero_width_only", "punctuation_only", "emoji_only"],
)
def test_empty_text_is_a_4xx_or_review(
    client: TestClient, session_factory: sessionmaker[Session], message: str, expect: int
) -> None:
    response = post(client, dumps({"submission_id": f"empty-{message!r}", "message": message}))
    assert check_response(response, session_factory, "form.empty") == expect
    if expect == 202:
        with session_factory() as session:
            stored = store.get_message(session, response.json()["id"])
        assert stored is not None and stored.message.review_reason == "no_text"
