"""Shared oracle and bookkeeping for the hostile-input tests (invariant 4 of DESIGN.md).

The oracle for every hostile request is the same: either ``202`` and the message really is in the
database (status ``received``, nothing a database would refuse, and routable: words to classify
or a reason a human must look), or a ``4xx`` whose JSON body carries a ``detail`` reason. Never a
5xx, and the service answers ``GET /healthz`` afterwards.

Every hostile request is counted (by category) in :data:`TRIED`; the session writes the totals to
``bench/results/hostile.json`` (see ``conftest.py``) so the count can be reported.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.channels import has_words
from router.channels.cleaning import MAX_SUBJECT_CHARS, MAX_TEXT_CHARS

TRIED: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()

# Examples per property on SQLite; Postgres runs a third of that (each example is a real commit).
EXAMPLES = int(os.environ.get("FRONTDESK_HOSTILE_EXAMPLES", "150"))


def hostile_settings(db_url: str, examples: int = EXAMPLES) -> settings:
    """Moderate, deadline-free hypothesis settings; fewer examples on the Postgres param."""
    if not db_url.startswith("sqlite"):
        examples = max(20, examples // 3)
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
        database=None,
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def check_response(response: Response, session_factory: sessionmaker[Session], category: str) -> int:
    """Assert the hostile-input oracle on one response; count it; return the status code."""
    TRIED[category] += 1
    code = response.status_code
    OUTCOMES[str(code)] += 1
    assert code < 500, f"{category}: server error {code}: {response.text[:300]}"
    if code == 202:
        body = response.json()
        assert body["status"] == "received" and isinstance(body["id"], str)
        with session_factory() as session:
            stored = store.get_message(session, body["id"])
        assert stored is not None, f"{category}: 202 but no stored row"
        assert stored.status == "received"
        m = stored.message
        for value in _strings(m.model_dump(mode="json")):
            assert "\x00" not in value, f"{category}: NUL stored"
        assert len(m.text) <= MAX_TEXT_CHARS
        assert m.subject is None or len(m.subject) <= MAX_SUBJECT_CHARS
        # routable: the worker has words to classify, or knows to send it to a human
        assert has_words(m.text) or has_words(m.subject) or m.review_reason is not None, category
        return code
    assert 400 <= code < 500, f"{category}: unexpected status {code}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    detail = response.json().get("detail")
    assert detail, f"{category}: {code} without a detail reason"
    return code


def assert_alive(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
