"""Department queues, message reads and human review through the API, with key scopes enforced."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.schemas import Department, InboundMessage, Priority, RoutingDecision
from tests.router.api.conftest import bearer


def routed(
    session_factory: sessionmaker[Session],
    make_inbound: Callable[..., InboundMessage],
    route: Department,
    text: str = "a message",
    **decision: object,
) -> str:
    with session_factory() as session:
        message_id, _ = store.store_inbound(session, make_inbound(text=text))
        fields: dict[str, object] = {
            "intent": "billing_inquiry",
            "scores": {"billing_inquiry": 0.9},
            "confidence": 0.9,
            "margin": 0.8,
            "model_version": "v-test",
            "reason": "model",
        }
        fields.update(decision)
        store.record_decisions(
            session,
            [RoutingDecision(message_id=message_id, route=route, **fields)],  # type: ignore[arg-type]
        )
    return message_id


def test_claim_and_ack_by_own_department_only(
    client: TestClient, session_factory: sessionmaker[Session], make_inbound: Callable[..., InboundMessage]
) -> None:
    billing_id = routed(session_factory, make_inbound, Department.billing, "statement question")
    clinical_id = routed(
        session_factory, make_inbound, Department.clinical, "CANARY-CLINICAL rash", intent="clinical_concern"
    )

    assert client.post("/v1/queues/clinical/claim", headers=bearer("k-billing")).status_code == 403
    denied_read = client.get(f"/v1/messages/{clinical_id}", headers=bearer("k-billing"))
    assert denied_read.status_code == 404 and "CANARY" not in denied_read.text

    claimed = client.post("/v1/queues/billing/claim", headers=bearer("k-billing"))
    assert claimed.status_code == 200
    item = claimed.json()
    assert item["message"]["id"] == billing_id and item["department"] == "billing"
    assert client.post("/v1/queues/billing/claim", headers=bearer("k-billing")).status_code == 204

    # another key cannot ack what this key holds
    assert (
        client.post(f"/v1/queues/items/{item['item_id']}/ack", headers=bearer("k-clinical")).status_code
        == 409
    )
    assert client.post(f"/v1/queues/items/{item['item_id']}/ack", headers=bearer("k-billing")).json() == {
        "acked": True
    }
    assert (
        client.post(f"/v1/queues/items/{item['item_id']}/ack", headers=bearer("k-billing")).status_code == 409
    )

    assert client.get(f"/v1/messages/{billing_id}", headers=bearer("k-billing")).status_code == 200
    assert (
        client.get(f"/v1/messages/{clinical_id}", headers=bearer("k-admin"))
        .json()["text"]
        .startswith("CANARY")
    )


def test_urgent_items_are_claimed_first(
    client: TestClient, session_factory: sessionmaker[Session], make_inbound: Callable[..., InboundMessage]
) -> None:
    routed(session_factory, make_inbound, Department.clinical, "older, normal", intent="clinical_concern")
    urgent = routed(
        session_factory,
        make_inbound,
        Department.clinical,
        "newer, urgent",
        intent="clinical_concern",
        priority=Priority.urgent,
        reason="red_flag:chest_pain",
        decided_by="rule",
    )
    first = client.post("/v1/queues/clinical/claim", headers=bearer("k-clinical")).json()
    assert first["message"]["id"] == urgent and first["priority"] == "urgent"


def test_review_lists_labels_routes_and_exports(
    client: TestClient, session_factory: sessionmaker[Session], make_inbound: Callable[..., InboundMessage]
) -> None:
    unsure = routed(
        session_factory,
        make_inbound,
        Department.review,
        "is this billing or a complaint?",
        needs_review=True,
        reason="low_margin",
    )
    assert client.get("/v1/review", headers=bearer("k-billing")).status_code == 403
    listed = client.get("/v1/review", headers=bearer("k-review")).json()
    assert [row["message_id"] for row in listed] == [unsure]

    bad = client.post(f"/v1/review/{unsure}", json={"label": "not_a_label"}, headers=bearer("k-review"))
    assert bad.status_code == 422
    done = client.post(f"/v1/review/{unsure}", json={"label": "complaint"}, headers=bearer("k-review"))
    assert done.status_code == 200
    assert done.json()["route"] == "manager" and done.json()["decided_by"] == "human"
    assert client.get("/v1/review", headers=bearer("k-review")).json() == []
    again = client.post(f"/v1/review/{unsure}", json={"label": "complaint"}, headers=bearer("k-review"))
    assert again.status_code == 409

    claimed = client.post("/v1/queues/manager/claim", headers=bearer("k-admin")).json()
    assert claimed["message"]["id"] == unsure
    with session_factory() as session:
        exported = store.list_reviewed_examples(session)
    assert exported == [
        {
            "text": "is this billing or a complaint?",
            "label": "complaint",
            "channel": "web_form",
            "subject": "Appointment",
        }
    ]
