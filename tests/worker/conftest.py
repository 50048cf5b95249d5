"""Worker fixtures: a WorkerContext on the test database, and the real local Redis as broker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from uuid import uuid4

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models.classifier import Classifier, Prediction
from router import store
from router.schemas import Channel, InboundMessage
from router.settings import Settings
from tests.sample_texts import SAMPLE_TEXTS
from tests.services import unavailable
from worker.context import WorkerContext

REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(threads=1)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        broker_url=REDIS_URL,
        batch_size=16,
        batch_flush_interval=0.05,
        sweep_after_seconds=0,
        queue_name=f"frontdesk-test-{uuid4().hex[:8]}",  # concurrent test runs never share a queue
        max_attempts=2,
    )


@pytest.fixture
def context(
    settings: Settings, classifier: Classifier, session_factory: sessionmaker[Session]
) -> WorkerContext:
    ctx = WorkerContext(settings)
    ctx.__dict__["classifier"] = classifier  # share one loaded model across tests
    ctx.__dict__["session_factory"] = session_factory
    return ctx


@pytest.fixture
def redis_broker() -> Iterator[str]:
    """The real local Redis (db 15, flushed before and after), or a skip saying why."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def stored_messages(session_factory: sessionmaker[Session]) -> Callable[[int], list[str]]:
    """Stores n web-form messages (status received) and returns their ids in order."""

    def make(n: int, texts: Sequence[str] = SAMPLE_TEXTS) -> list[str]:
        ids = []
        with session_factory() as session:
            for i in range(n):
                msg = InboundMessage(
                    channel=Channel.web_form, external_id=uuid4().hex, text=texts[i % len(texts)]
                )
                ids.append(store.store_inbound(session, msg)[0])
        return ids

    return make


def raising_on(
    marker: str, inner: Callable[[Sequence[str]], list[Prediction]]
) -> Callable[[Sequence[str]], list[Prediction]]:
    """A predict function that raises whenever ``marker`` is among the texts (a poison message)."""

    def predict(texts: Sequence[str]) -> list[Prediction]:
        if any(marker in t for t in texts):
            raise RuntimeError("poison")
        return inner(texts)

    return predict


@pytest.fixture(scope="session")
def classifier_version(classifier: Classifier) -> str:
    return classifier.version
