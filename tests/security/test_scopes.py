"""API-key scopes on every route: a matrix over app.routes × {none, unknown, inbound, billing, clinical,
review, admin}, and keys compared in constant time.

The matrix is built from the app's own route table, so a route added later without an entry in
EXPECTED fails ``test_every_route_is_in_the_matrix`` until someone decides who may call it.
"""

from __future__ import annotations

import ast
import hmac
import inspect
import itertools
import textwrap
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.api import auth
from router.channels import compute_twilio_signature
from router.schemas import Department, InboundMessage, RoutingDecision
from tests.router.api.conftest import KEYS, TWILIO_TOKEN

KEY_NAMES = ("none", "unknown", "inbound", "billing", "clinical", "review", "admin")
TOKENS = {"none": None, "unknown": "k-unknown", **{name: f"k-{name}" for name in KEY_NAMES[2:]}}
SCOPES = {name: set(KEYS.get(f"k-{name}", [])) for name in KEY_NAMES}
DEPARTMENTS = [d.value for d in Department]
UNAUTHENTICATED = ("none", "unknown")


def headers_for(key: str) -> dict[str, str]:
    token = TOKENS[key]
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def may(key: str, scope: str) -> bool:
    return "admin" in SCOPES[key] or scope in SCOPES[key]


def outcome(key: str, allowed: bool, success: set[int], denied: set[int]) -> set[int]:
    """401 without a valid key; else ``success`` when the key may, ``denied`` when it may not."""
    return {401} if key in UNAUTHENTICATED else (success if allowed else denied)


class World:
    """Seeds messages for one matrix cell and performs its requests."""

    def __init__(
        self,
        client: TestClient,
        session_factory: sessionmaker[Session],
        make_inbound: Callable[..., InboundMessage],
    ) -> None:
        self.client = client
        self.session_factory = session_factory
        self.make_inbound = make_inbound
        self.counter = itertools.count()

    def routed(self, route: Department, text: str, needs_review: bool = False) -> str:
        with self.session_factory() as session:
            message_id, _ = store.store_inbound(session, self.make_inbound(text=text))
            store.record_decisions(
                session,
                [
                    RoutingDecision(
                        message_id=message_id,
                        intent="billing_inquiry",
                        scores={"billing_inquiry": 0.4},
                        confidence=0.4,
                        margin=0.1,
                        route=route,
                        needs_review=needs_review,
                        model_version="v-test",
                        reason="low_confidence" if needs_review else "model",
                    )
                ],
            )
        return message_id

    def signed(self, path: str, key: str) -> Response:
        sid = f"SM{next(self.counter)}{key}"
        params = {
            "MessageSid": sid,
            "TranscriptionSid": sid,
            "Body": "running late",
            "TranscriptionText": "hi",
        }
        signature = compute_twilio_signature(TWILIO_TOKEN, "http://testserver" + path, params)
        return self.client.post(
            path,
            content=urlencode(params).encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                **headers_for(key),
            },
        )


# --------------------------------------------------------------------------- matrix cells
# Each cell performs the route's requests for one key and asserts the outcome itself.

Cell = Callable[[World, str], None]


def expect(response: Response, allowed: set[int], what: str) -> None:
    assert response.status_code in allowed, (
        f"{what}: {response.status_code} not in {allowed}: {response.text[:200]}"
    )
    if response.status_code >= 400:
        assert response.json().get("detail"), what


def public(path: str) -> Cell:
    def cell(world: World, key: str) -> None:
        expect(world.client.get(path, headers=headers_for(key)), {200}, f"GET {path} as {key}")

    return cell


def inbound(path: str) -> Cell:
    def cell(world: World, key: str) -> None:
        n = next(world.counter)
        if path.endswith("email"):
            kwargs = {
                "content": f"From: a@b.c\r\nMessage-ID: <m{n}{key}@x>\r\n\r\nmove my visit".encode(),
                "headers": {"content-type": "message/rfc822", **headers_for(key)},
            }
        else:
            kwargs = {
                "json": {"submission_id": f"s{n}{key}", "message": "move my visit"},
                "headers": headers_for(key),
            }
        allowed = {401} if key in UNAUTHENTICATED else ({202} if may(key, "inbound") else {403})
        expect(world.client.post(path, **kwargs), allowed, f"POST {path} as {key}")  # type: ignore[arg-type]

    return cell


def twilio(path: str) -> Cell:
    def cell(world: World, key: str) -> None:
        # our API keys play no part: the Twilio signature is the credential
        expect(world.signed(path, key), {202}, f"signed POST {path} as {key}")
        unsigned = world.client.post(path, data={"MessageSid": "SMx", "Body": "hi"}, headers=headers_for(key))
        expect(unsigned, {403}, f"unsigned POST {path} as {key}")

    return cell


def read_message(world: World, key: str) -> None:
    targets = {
        "billing": world.routed(Department.billing, "CANARY-BILLING-TEXT"),
        "clinical": world.routed(Department.clinical, "CANARY-CLINICAL-TEXT"),
        "review": world.routed(Department.review, "CANARY-REVIEW-TEXT", needs_review=True),
    }
    for department, message_id in targets.items():
        response = world.client.get(f"/v1/messages/{message_id}", headers=headers_for(key))
        allowed = outcome(key, may(key, department), {200}, {404})
        expect(response, allowed, f"read {department} message as {key}")
        if response.status_code != 200:
            assert "CANARY" not in response.text
        else:
            assert f"CANARY-{department.upper()}-TEXT" in response.text
    missing = world.client.get("/v1/messages/no-such-id", headers=headers_for(key))
    expect(missing, {401} if key in UNAUTHENTICATED else {404}, f"read missing as {key}")


def claim(world: World, key: str) -> None:
    for department in DEPARTMENTS:
        if department != "review":
            world.routed(Department(department), f"for {department}")
        response = world.client.post(f"/v1/queues/{department}/claim", headers=headers_for(key))
        allowed = outcome(key, may(key, department), {200, 204}, {403})
        expect(response, allowed, f"claim {department} as {key}")
        if response.status_code == 200:
            assert response.json()["department"] == department
    bogus = world.client.post("/v1/queues/not-a-department/claim", headers=headers_for(key))
    expect(bogus, {401} if key in UNAUTHENTICATED else {422}, f"claim bogus as {key}")


def ack(world: World, key: str) -> None:
    world.routed(Department.billing, "to be acked")
    held = world.client.post("/v1/queues/billing/claim", headers=headers_for("admin")).json()
    response = world.client.post(f"/v1/queues/items/{held['item_id']}/ack", headers=headers_for(key))
    allowed = outcome(key, key == "admin", {200}, {409})  # only the claimer may ack
    expect(response, allowed, f"ack admin's item as {key}")


def list_review(world: World, key: str) -> None:
    world.routed(Department.review, "waiting for a human", needs_review=True)
    response = world.client.get("/v1/review", headers=headers_for(key))
    allowed = {401} if key in UNAUTHENTICATED else ({200} if may(key, "review") else {403})
    expect(response, allowed, f"list review as {key}")
    if response.status_code != 200:
        assert "waiting for a human" not in response.text


def label(world: World, key: str) -> None:
    message_id = world.routed(Department.review, "label me", needs_review=True)
    response = world.client.post(
        f"/v1/review/{message_id}", json={"label": "billing_inquiry"}, headers=headers_for(key)
    )
    allowed = {401} if key in UNAUTHENTICATED else ({200} if may(key, "review") else {403})
    expect(response, allowed, f"label as {key}")


EXPECTED: dict[tuple[str, str], Cell] = {
    ("GET", "/healthz"): public("/healthz"),
    ("GET", "/readyz"): public("/readyz"),
    ("GET", "/metrics"): public("/metrics"),
    ("GET", "/openapi.json"): public("/openapi.json"),
    ("GET", "/docs"): public("/docs"),
    ("GET", "/docs/oauth2-redirect"): public("/docs/oauth2-redirect"),
    ("GET", "/redoc"): public("/redoc"),
    ("POST", "/v1/inbound/email"): inbound("/v1/inbound/email"),
    ("POST", "/v1/inbound/form"): inbound("/v1/inbound/form"),
    ("POST", "/v1/inbound/sms"): twilio("/v1/inbound/sms"),
    ("POST", "/v1/inbound/voicemail"): twilio("/v1/inbound/voicemail"),
    ("GET", "/v1/messages/{message_id}"): read_message,
    ("POST", "/v1/queues/{department}/claim"): claim,
    ("POST", "/v1/queues/items/{item_id}/ack"): ack,
    ("GET", "/v1/review"): list_review,
    ("POST", "/v1/review/{message_id}"): label,
}


def _walk(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every endpoint, also inside included routers (FastAPI >= 0.13x nests them)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if hasattr(route, "original_router"):  # fastapi.routing._IncludedRouter
            found |= _walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))
            continue
        methods = set(getattr(route, "methods", None) or ())
        if not isinstance(route, APIRoute):
            methods -= {"HEAD"}
        found.update((method, prefix + route.path) for method in methods)
    return found


def app_routes(client: TestClient) -> set[tuple[str, str]]:
    app: Any = client.app
    found = _walk(app.routes)
    # and every operation in the OpenAPI document, in case the route table changes shape again
    for path, operations in app.openapi()["paths"].items():
        found.update((method.upper(), path) for method in operations)
    return found


def test_every_route_is_in_the_matrix(client: TestClient) -> None:
    assert app_routes(client) == set(EXPECTED)


@pytest.fixture
def world(
    client: TestClient, session_factory: sessionmaker[Session], make_inbound: Callable[..., InboundMessage]
) -> World:
    return World(client, session_factory, make_inbound)


@pytest.mark.parametrize("key", KEY_NAMES)
@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]} {r[1]}")
def test_scope_matrix(world: World, route: tuple[str, str], key: str) -> None:
    EXPECTED[route](world, key)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic k-admin",
        "k-admin",
        "Token k-admin",
        "Bearer k-admin2",
        "Bearer k-admi",
        "Bearer K-ADMIN",
        "Bearer k-admin k-admin",
        "Bearer \tk-adminx",
        "Bearer k-inbound,k-admin",
    ],
)
def test_malformed_or_wrong_authorization_is_401(client: TestClient, header: str) -> None:
    response = client.get("/v1/review", headers={"Authorization": header} if header else {})
    assert response.status_code == 401, (header, response.status_code)
    assert response.json()["detail"] and response.headers["www-authenticate"] == "Bearer"


def test_scheme_is_case_insensitive_and_token_whitespace_is_trimmed(client: TestClient) -> None:
    for header in ("Bearer k-review", "bearer k-review", "BEARER  k-review "):
        assert client.get("/v1/review", headers={"Authorization": header}).status_code == 200, header


# --------------------------------------------------------------------------- constant-time key checks


def test_find_principal_compares_every_key_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    keys = list(KEYS)
    for presented in (keys[0], keys[-1], "k-unknown", keys[0][:-1], "", "x" * 10_000):
        calls.clear()
        principal = auth.find_principal(KEYS, presented)
        assert len(calls) == len(KEYS), presented  # no early exit on the first match
        assert {a for a, _ in calls} == {k.encode() for k in KEYS}
        assert all(b == presented.encode() for _, b in calls)
        assert (principal is not None) == (presented in KEYS)


def test_each_request_checks_all_keys_in_constant_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        counted.append(1)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    for token, status in (("k-inbound", 403), ("k-review", 200), ("k-nope", 401)):
        counted.clear()
        response = client.get("/v1/review", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status
        assert len(counted) == len(KEYS)


def test_key_lookup_code_has_no_plain_equality_or_early_exit() -> None:
    source = textwrap.dedent(inspect.getsource(auth.find_principal))
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq | ast.In) for op in node.ops
        ):
            raise AssertionError(f"plain comparison in find_principal: {ast.unparse(node)}")
        if isinstance(node, ast.For):
            assert not any(isinstance(n, ast.Return | ast.Break) for n in ast.walk(node)), ast.unparse(node)
    assert "hmac.compare_digest(" in source
    # the key id in logs and claims is a hash prefix, never the key
    assert auth.key_id("k-admin") != "k-admin" and "k-admin" not in auth.key_id("k-admin")
