"""Queues, message reads and review never hand a key another department's messages (or their text)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.api.app import create_app
from router.schemas import Department, InboundMessage, Priority, RoutingDecision
from router.settings import Settings
from tests.router.api.conftest import TWILIO_TOKEN

ROUTED = [d for d in Department if d is not Department.review]
KEYS = {
    **{f"k-{d.value}": [d.value] for d in ROUTED},
    "k-billing-scheduling": ["billing", "scheduling"],
    "k-review": ["review"],
    "k-inbound": ["inbound"],
    "k-admin": ["admin"],
}
PER_DEPARTMENT = 3


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def iso_client(db_url: str, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, api_keys=KEYS, twilio_auth_token=TWILIO_TOKEN)
    with TestClient(create_app(settings, session_factory, len), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def seeded(
    session_factory: sessionmaker[Session], make_inbound: Callable[..., InboundMessage]
) -> dict[str, dict[str, str]]:
    """PER_DEPARTMENT messages per department (text 'CANARY-<dept>-<i>'), and as many waiting for review."""
    by_department: dict[str, dict[str, str]] = {}
    with session_factory() as session:
        for department in [*ROUTED, Department.review]:
            for i in range(PER_DEPARTMENT):
                text = f"CANARY-{department.value}-{i}"
                message_id, _ = store.store_inbound(session, make_inbound(text=text))
                review = department is Department.review
                store.record_decisions(
                    session,
                    [
                        RoutingDecision(
                            message_id=message_id,
                            intent="complaint",
                            scores={"complaint": 0.9},
                            confidence=0.4 if review else 0.9,
                            margin=0.1 if review else 0.8,
                            route=department,
                            priority=Priority.urgent if i == 0 else Priority.normal,
                            needs_review=review,
                            model_version="v-test",
                            reason="low_confidence" if review else "model",
                        )
                    ],
                )
                by_department.setdefault(department.value, {})[message_id] = text
    return by_department


def drain(client: TestClient, department: str, key: str) -> list[dict]:  # type: ignore[type-arg]
    items = []
    for _ in range(10 * PER_DEPARTMENT):
        response = client.post(f"/v1/queues/{department}/claim", headers=bearer(key))
        if response.status_code == 204:
            return items
        assert response.status_code == 200, response.text
        items.append(response.json())
    raise AssertionError("queue never drained")


@pytest.mark.parametrize("department", [d.value for d in ROUTED])
def test_a_department_key_claims_only_its_own_messages(
    iso_client: TestClient, seeded: dict[str, dict[str, str]], department: str
) -> None:
    key = f"k-{department}"
    for other in [d.value for d in Department if d.value != department]:
        denied = iso_client.post(f"/v1/queues/{other}/claim", headers=bearer(key))
        assert denied.status_code == 403 and "CANARY" not in denied.text
    items = drain(iso_client, department, key)
    assert {item["message"]["id"] for item in items} == set(seeded[department])
    assert {item["department"] for item in items} == {department}
    assert all(item["message"]["text"] == seeded[department][item["message"]["id"]] for item in items)
    # what it holds it may ack; nobody else may
    for item in items:
        for other_key in (k for k in KEYS if k != key):
            assert iso_client.post(
                f"/v1/queues/items/{item['item_id']}/ack", headers=bearer(other_key)
            ).status_code in (
                403,
                409,
            )
        assert (
            iso_client.post(f"/v1/queues/items/{item['item_id']}/ack", headers=bearer(key)).status_code == 200
        )


def test_a_two_department_key_gets_exactly_its_two_departments(
    iso_client: TestClient, seeded: dict[str, dict[str, str]]
) -> None:
    key = "k-billing-scheduling"
    got = {d: {i["message"]["id"] for i in drain(iso_client, d, key)} for d in ("billing", "scheduling")}
    assert got == {"billing": set(seeded["billing"]), "scheduling": set(seeded["scheduling"])}
    for other in ("clinical", "front_desk", "manager", "review"):
        assert iso_client.post(f"/v1/queues/{other}/claim", headers=bearer(key)).status_code == 403


def test_message_reads_follow_the_route(iso_client: TestClient, seeded: dict[str, dict[str, str]]) -> None:
    for department, messages in seeded.items():
        for message_id, text in messages.items():
            for key, scopes in KEYS.items():
                response = iso_client.get(f"/v1/messages/{message_id}", headers=bearer(key))
                allowed = "admin" in scopes or department in scopes
                assert response.status_code == (200 if allowed else 404), (key, department)
                assert (text in response.text) == allowed
                if not allowed:  # the same answer as for an id that does not exist
                    missing = iso_client.get("/v1/messages/does-not-exist", headers=bearer(key))
                    assert response.json() == missing.json()


def test_review_lists_only_messages_waiting_for_review(
    iso_client: TestClient, seeded: dict[str, dict[str, str]]
) -> None:
    listed = iso_client.get("/v1/review", params={"limit": 500}, headers=bearer("k-review"))
    assert listed.status_code == 200
    assert {item["message_id"] for item in listed.json()} == set(seeded["review"])
    for department in (d.value for d in ROUTED):
        for text in seeded[department].values():
            assert text not in listed.text
    for key in KEYS:
        if key not in ("k-review", "k-admin"):
            denied = iso_client.get("/v1/review", headers=bearer(key))
            assert denied.status_code == 403 and "CANARY" not in denied.text


def test_a_labelled_message_leaves_review_and_reaches_only_its_new_department(
    iso_client: TestClient, seeded: dict[str, dict[str, str]]
) -> None:
    message_id = next(iter(seeded["review"]))
    assert iso_client.get(f"/v1/messages/{message_id}", headers=bearer("k-clinical")).status_code == 404
    labelled = iso_client.post(
        f"/v1/review/{message_id}", json={"label": "clinical_concern"}, headers=bearer("k-review")
    )
    assert labelled.status_code == 200 and labelled.json()["route"] == "clinical"
    listed = iso_client.get("/v1/review", params={"limit": 500}, headers=bearer("k-review")).json()
    assert message_id not in {item["message_id"] for item in listed}
    assert iso_client.get(f"/v1/messages/{message_id}", headers=bearer("k-clinical")).status_code == 200
    assert iso_client.get(f"/v1/messages/{message_id}", headers=bearer("k-billing")).status_code == 404
    # a billing key can neither claim it nor read it; the clinical key claims it (and its clinical peers)
    assert iso_client.post("/v1/queues/clinical/claim", headers=bearer("k-billing")).status_code == 403
    assert message_id not in {i["message"]["id"] for i in drain(iso_client, "billing", "k-billing")}
    assert message_id in {i["message"]["id"] for i in drain(iso_client, "clinical", "k-clinical")}
    # labelling again is refused: it is no longer waiting for review
    again = iso_client.post(
        f"/v1/review/{message_id}", json={"label": "complaint"}, headers=bearer("k-review")
    )
    assert again.status_code == 409
