"""Schemathesis over the app's own OpenAPI spec: no operation answers 5xx, valid or invalid input.

Runs on SQLite and Postgres with an admin key (so requests get past auth into the handlers), with
a bounded number of examples per operation and per mode (positive: fits the schema; negative:
does not). The spec is loaded from the running app, so a new route is covered without edits here.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from router import store
from tests.hostile.support import OUTCOMES, TRIED, assert_alive
from tests.router.api.conftest import bearer

EXAMPLES = int(os.environ.get("FRONTDESK_SCHEMATHESIS_EXAMPLES", "40"))


@pytest.fixture
def seeded(client: TestClient, session_factory: sessionmaker[Session], make_inbound, make_decision) -> None:  # type: ignore[no-untyped-def]
    """A few messages with decisions, some in review, so queue and review operations have data."""
    with session_factory() as session:
        for i, (route, review) in enumerate([("billing", False), ("clinical", False), ("review", True)]):
            message_id, _ = store.store_inbound(session, make_inbound(text=f"seeded message {i}"))
            store.record_decisions(
                session, [make_decision(message_id, route=route, needs_review=review, reason="model")]
            )


def operations(client: TestClient) -> list[object]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 10, [op.label for op in ops]
    return ops


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_no_operation_answers_5xx(
    client: TestClient, db_url: str, seeded: None, mode: GenerationMode
) -> None:
    headers = bearer("k-admin")
    examples = EXAMPLES if db_url.startswith("sqlite") else max(10, EXAMPLES // 3)
    tried: dict[str, int] = {}
    for operation in operations(client):

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))  # type: ignore[attr-defined]
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            TRIED[f"schemathesis.{mode.value}"] += 1
            OUTCOMES[str(response.status_code)] += 1
            tried[case.operation.label] = tried.get(case.operation.label, 0) + 1
            case.validate_response(response, checks=[not_a_server_error], headers=headers)

        try:
            run()
        except Exception as exc:
            # negative mode cannot always make an invalid request for an operation with no inputs
            if "unsatisfiable" not in type(exc).__name__.lower() and "Unsatisfiable" not in repr(exc):
                raise
    assert sum(tried.values()) >= 10, tried
    assert_alive(client)
