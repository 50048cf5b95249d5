"""API fixtures: the real app on the test database, with an enqueue spy in place of the broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router.api.app import create_app
from router.settings import Settings

TWILIO_TOKEN = "test-twilio-token"
KEYS = {
    "k-inbound": ["inbound"],
    "k-billing": ["billing"],
    "k-clinical": ["clinical"],
    "k-review": ["review"],
    "k-admin": ["admin"],
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def enqueued() -> list[str]:
    return []


@pytest.fixture
def api_settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, api_keys=KEYS, twilio_auth_token=TWILIO_TOKEN, max_body_bytes=200_000
    )


@pytest.fixture
def client(
    api_settings: Settings, session_factory: sessionmaker[Session], enqueued: list[str]
) -> Iterator[TestClient]:
    def enqueue(ids: list[str]) -> int:
        enqueued.extend(ids)
        return len(ids)

    app = create_app(api_settings, session_factory, enqueue)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
