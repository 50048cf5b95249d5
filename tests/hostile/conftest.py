"""Hostile-input fixtures: the API app of tests/router/api on the test database, and the counter file."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router.api.app import create_app
from router.settings import Settings
from tests.hostile.support import OUTCOMES, TRIED
from tests.router.api.conftest import KEYS, TWILIO_TOKEN, api_settings, client, enqueued  # noqa: F401  (fixtures)

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "hostile.json"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write how many hostile inputs were tried (by category and by status) for the lead's report."""
    if not TRIED:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "inputs_tried": sum(TRIED.values()),
        "by_category": dict(sorted(TRIED.items())),
        "by_status": dict(sorted(OUTCOMES.items())),
        "server_errors": sum(n for code, n in OUTCOMES.items() if code.startswith("5")),
        "pytest_exit_status": int(exitstatus),
        "python": platform.python_version(),
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")


@pytest.fixture
def default_limit_client(db_url: str, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """The app with the shipped body limit (Settings().max_body_bytes, 1 MB), not the 200 kB of api tests."""
    settings = Settings(database_url=db_url, api_keys=KEYS, twilio_auth_token=TWILIO_TOKEN)
    assert settings.max_body_bytes == Settings.model_fields["max_body_bytes"].default
    app = create_app(settings, session_factory, len)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
