"""The real Celery worker (celery-batches) on the real local Redis, writing to the test database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from sqlalchemy.orm import Session, sessionmaker

from models.classifier import Prediction
from router import store
from router.enqueue import broker_client, make_enqueuer
from router.settings import Settings
from worker.celery_app import create_celery_app
from worker.context import WorkerContext

pytestmark = pytest.mark.integration


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def all_decided(session_factory: sessionmaker[Session], ids: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        with session_factory() as session:
            return all(m.decision is not None for m in store.get_messages(session, ids))

    return check


@pytest.fixture
def running_worker(
    redis_broker: str, settings: Settings, context: WorkerContext
) -> Iterator[tuple[Celery, list[int]]]:
    """A worker thread consuming from Redis; yields the app and the sizes of the batches it ran."""
    batch_sizes: list[int] = []
    predict = context.predict

    def counting(texts: Sequence[str]) -> list[Prediction]:
        batch_sizes.append(len(texts))
        return predict(texts)

    context.predict_override = counting
    app = create_celery_app(settings, context)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app, batch_sizes


def test_enqueued_messages_are_decided_in_batches(
    running_worker: tuple[Celery, list[int]],
    settings: Settings,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
    context: WorkerContext,
) -> None:
    _, batch_sizes = running_worker
    ids = stored_messages(100)
    enqueue = make_enqueuer(broker_client(settings.resolved_broker_url))
    assert enqueue(ids) == 100
    assert wait_for(all_decided(session_factory, ids))
    with session_factory() as session:
        decisions = [m.decision for m in store.get_messages(session, ids)]
    assert all(d is not None and d.model_version == context.classifier.version for d in decisions)
    assert sum(batch_sizes) == 100
    assert max(batch_sizes) > 1, "celery-batches should have grouped messages"
    assert max(batch_sizes) <= settings.batch_size


def test_a_lost_broker_message_is_recovered_by_the_sweeper(
    running_worker: tuple[Celery, list[int]],
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
) -> None:
    """Stored but never enqueued (a publish lost to a broker outage): the sweep task finds it."""
    app, _ = running_worker
    ids = stored_messages(5)
    app.send_task("frontdesk.sweep")
    assert wait_for(all_decided(session_factory, ids))


def test_unreachable_broker_does_not_fail_the_enqueue() -> None:
    enqueue = make_enqueuer(broker_client("redis://127.0.0.1:1/0"))
    started = time.monotonic()
    assert enqueue(["m1"]) == 0
    assert time.monotonic() - started < 10
