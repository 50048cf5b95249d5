"""Twilio webhooks: the signature is required, checked in constant time, and a replay is one message."""

from __future__ import annotations

import ast
import hmac
import inspect
import textwrap
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from router.api.app import create_app
from router.channels import compute_twilio_signature, twilio_signature
from router.settings import Settings
from router.tables import Message
from tests.router.api.conftest import KEYS, TWILIO_TOKEN, bearer

URL = "http://testserver"
CALLBACKS = {
    "sms": ("/v1/inbound/sms", {"MessageSid": "SMsig1", "From": "+15555550100", "Body": "running late"}),
    "voicemail": (
        "/v1/inbound/voicemail",
        {"TranscriptionSid": "TRsig1", "From": "+15555550100", "TranscriptionText": "please call me back"},
    ),
}


def post(client: TestClient, path: str, params: dict[str, str], signature: str | None):  # type: ignore[no-untyped-def]
    headers: dict[str, str | bytes] = {"content-type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature.encode("latin-1")  # a raw byte header, as a proxy may pass
    return client.post(path, content=urlencode(params).encode(), headers=headers)


def rows(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def bad_signatures(path: str, params: dict[str, str]) -> dict[str, str | None]:
    good = compute_twilio_signature(TWILIO_TOKEN, URL + path, params)
    other_path = "/v1/inbound/voicemail" if path.endswith("sms") else "/v1/inbound/sms"
    return {
        "missing": None,
        "empty": "",
        "blank": "   ",
        "wrong_token": compute_twilio_signature("not-the-token", URL + path, params),
        "empty_token": compute_twilio_signature("", URL + path, params),
        "other_url": compute_twilio_signature(TWILIO_TOKEN, URL + other_path, params),
        "other_host": compute_twilio_signature(TWILIO_TOKEN, "http://evil.example" + path, params),
        "tampered_params": compute_twilio_signature(TWILIO_TOKEN, URL + path, {**params, "Body": "x"}),
        "no_params": compute_twilio_signature(TWILIO_TOKEN, URL + path, {}),
        "truncated": good[:-4],
        "extended": good + "AAAA",
        "lowercased": good.lower(),
        "hex_instead_of_base64": good.encode().hex(),
        "non_ascii": good[:-1] + "é",
        "api_key_instead": "k-admin",
    }


@pytest.mark.parametrize("channel", sorted(CALLBACKS))
def test_only_the_right_signature_is_accepted(
    client: TestClient, session_factory: sessionmaker[Session], channel: str
) -> None:
    path, params = CALLBACKS[channel]
    for name, signature in bad_signatures(path, params).items():
        response = post(client, path, params, signature)
        assert response.status_code == 403, (name, response.status_code, response.text)
        assert "signature" in response.json()["detail"].lower()
    assert rows(session_factory) == 0
    # an API key, even admin, is no substitute for the signature
    response = client.post(path, data=params, headers=bearer("k-admin"))
    assert response.status_code == 403
    good = compute_twilio_signature(TWILIO_TOKEN, URL + path, params)
    assert post(client, path, params, good).status_code == 202
    assert rows(session_factory) == 1


@pytest.mark.parametrize("channel", sorted(CALLBACKS))
def test_a_parameter_added_after_signing_is_refused(client: TestClient, channel: str) -> None:
    path, params = CALLBACKS[channel]
    signature = compute_twilio_signature(TWILIO_TOKEN, URL + path, params)
    assert post(client, path, {**params, "NumMedia": "1"}, signature).status_code == 403
    changed = {**params, "From": "+15555550199"}
    assert post(client, path, changed, signature).status_code == 403


def test_without_a_configured_token_twilio_webhooks_are_closed(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    settings = Settings(database_url=db_url, api_keys=KEYS, twilio_auth_token="")
    app = create_app(settings, session_factory, lambda ids: len(ids))
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, params in CALLBACKS.values():
            for signature in (None, "", compute_twilio_signature("", URL + path, params)):
                assert post(client, path, params, signature).status_code == 403
    assert rows(session_factory) == 0


def test_signatures_are_compared_with_hmac_compare_digest(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check goes through hmac.compare_digest, once per URL variant, also when the first matches."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(twilio_signature.hmac, "compare_digest", spy)
    path, params = CALLBACKS["sms"]
    good = compute_twilio_signature(TWILIO_TOKEN, URL + path, params)
    variants = len(twilio_signature._url_variants(URL + path))
    assert variants == 2  # http://testserver and http://testserver:80

    assert post(client, path, params, good).status_code == 202
    assert len(calls) == variants and (good.encode(), good.encode()) in calls
    calls.clear()
    assert post(client, path, params, "A" + good[1:]).status_code == 403
    assert len(calls) == variants and all(given == ("A" + good[1:]).encode() for _, given in calls)


def test_signature_code_has_no_plain_equality_on_secrets() -> None:
    """Code inspection: no ==/!= on the signature values, and no early return inside the loop."""
    source = textwrap.dedent(inspect.getsource(twilio_signature.is_valid_twilio_signature))
    tree = ast.parse(source)
    secrets = {"expected", "given", "signature", "candidate_signature"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & secrets, ast.unparse(node)
        if isinstance(node, ast.For):
            assert not any(isinstance(n, ast.Return | ast.Break) for n in ast.walk(node)), ast.unparse(node)
    assert "hmac.compare_digest(" in source


@pytest.mark.parametrize("channel", sorted(CALLBACKS))
def test_replayed_signed_webhook_is_one_message(
    client: TestClient, session_factory: sessionmaker[Session], enqueued: list[str], channel: str
) -> None:
    path, params = CALLBACKS[channel]
    signature = compute_twilio_signature(TWILIO_TOKEN, URL + path, params)
    responses = [post(client, path, params, signature) for _ in range(5)]
    assert [r.status_code for r in responses] == [202] * 5
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert [r.json().get("duplicate", False) for r in responses] == [False, True, True, True, True]
    assert rows(session_factory) == 1 and enqueued == [ids.pop()]


@pytest.mark.parametrize("channel", sorted(CALLBACKS))
def test_concurrent_replays_are_one_message(
    client: TestClient, session_factory: sessionmaker[Session], enqueued: list[str], channel: str
) -> None:
    path, params = CALLBACKS[channel]
    signature = compute_twilio_signature(TWILIO_TOKEN, URL + path, params)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: post(client, path, params, signature), range(12)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert rows(session_factory) == 1 and len(enqueued) == 1


def test_replayed_email_and_form_are_one_message_each(
    client: TestClient, session_factory: sessionmaker[Session], enqueued: list[str]
) -> None:
    email = (
        b"From: Pat <pat@example.com>\r\nMessage-ID: <replay@example.com>\r\nSubject: hi\r\n\r\nmove my visit"
    )
    form = {"submission_id": "replay-1", "message": "move my visit"}
    email_ids = {
        client.post(
            "/v1/inbound/email",
            content=email,
            headers={"content-type": "message/rfc822", **bearer("k-inbound")},
        ).json()["id"]
        for _ in range(3)
    }
    form_ids = {
        client.post("/v1/inbound/form", json=form, headers=bearer("k-inbound")).json()["id"] for _ in range(3)
    }
    assert len(email_ids) == 1 and len(form_ids) == 1
    assert rows(session_factory) == 2 and len(enqueued) == 2
