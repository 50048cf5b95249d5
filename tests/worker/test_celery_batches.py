"""The real worker process (``frontdesk worker``, celery-batches) on the real local Redis.

A subprocess, as in production: one Celery app per process (celery-batches keeps per-app state
that a second app in the same process does not get cleanly).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.enqueue import broker_client, make_enqueuer
from router.local_stack import LocalStack, wait_until
from router.settings import Settings

pytestmark = pytest.mark.integration
BATCH_LINE = re.compile(r"batch of (\d+): decided (\d+)")


def all_decided(session_factory: sessionmaker[Session], ids: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        with session_factory() as session:
            return all(m.decision is not None for m in store.get_messages(session, ids))

    return check


@pytest.fixture
def worker_stack(redis_broker: str, settings: Settings, tmp_path: Path) -> Iterator[LocalStack]:
    env = {
        "FRONTDESK_QUEUE_NAME": settings.queue_name,
        "FRONTDESK_BATCH_SIZE": str(settings.batch_size),
        "FRONTDESK_BATCH_FLUSH_INTERVAL": str(settings.batch_flush_interval),
        "FRONTDESK_SWEEP_AFTER_SECONDS": "0",
    }
    with LocalStack(settings.database_url, redis_broker, tmp_path / "stack", extra_env=env) as stack:
        stack.start_worker()
        yield stack


def test_enqueued_messages_are_decided_in_batches_with_the_model_version(
    worker_stack: LocalStack,
    settings: Settings,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
    classifier_version: str,
) -> None:
    ids = stored_messages(100)
    enqueue = make_enqueuer(
        broker_client(settings.resolved_broker_url, settings.queue_name), settings.queue_name
    )
    assert enqueue(ids) == 100
    wait_until(all_decided(session_factory, ids), 120, "not all messages were decided")
    with session_factory() as session:
        decisions = [m.decision for m in store.get_messages(session, ids)]
    assert all(d is not None and d.model_version == classifier_version for d in decisions)
    batches = [int(size) for size, _ in BATCH_LINE.findall(worker_stack.logs())]
    assert sum(batches) == 100
    assert max(batches) > 1, "celery-batches should have grouped messages"
    assert max(batches) <= settings.batch_size


def test_a_lost_broker_message_is_recovered_by_the_sweeper(
    worker_stack: LocalStack,
    settings: Settings,
    stored_messages: Callable[[int], list[str]],
    session_factory: sessionmaker[Session],
) -> None:
    """Stored but never enqueued (a publish lost to a broker outage): the sweep task finds it."""
    ids = stored_messages(5)
    broker_client(settings.resolved_broker_url, settings.queue_name).send_task(
        "frontdesk.sweep", queue=settings.queue_name
    )
    wait_until(all_decided(session_factory, ids), 120, "the sweeper did not recover the messages")


def test_unreachable_broker_does_not_fail_the_enqueue() -> None:
    enqueue = make_enqueuer(broker_client("redis://127.0.0.1:1/0"))
    started = time.monotonic()
    assert enqueue(["m1"]) == 0
    assert time.monotonic() - started < 10


def test_the_embedded_broker_accepts_an_enqueue(tmp_path: Path) -> None:
    """The no-Redis default (kombu's SQLAlchemy transport on SQLite) works for the API's client."""
    url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    assert make_enqueuer(broker_client(url, "embedded-test"), "embedded-test")(["m1"]) == 1


def test_publishes_from_many_threads_reuse_the_channels_redis_client(
    redis_broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API publishes from its thread pool; kombu's stock channel built a client per message."""
    import redis
    from kombu.transport import redis as kombu_redis

    created = 0
    stock = kombu_redis.Channel._create_client

    def counting(self: kombu_redis.Channel, asynchronous: bool = False) -> object:
        nonlocal created
        created += 1
        return stock(self, asynchronous=asynchronous)

    monkeypatch.setattr(kombu_redis.Channel, "_create_client", counting)
    enqueue = make_enqueuer(broker_client(redis_broker, "share-test"), "share-test")
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(lambda i: enqueue([f"m{i}"]), range(80))) == 80
    assert redis.Redis.from_url(redis_broker).llen("share-test") == 80
    # a few per channel (one channel per thread at most: publishing, declaring the queue), not
    # one per publish as with the stock channel (104 for these 80)
    assert 1 <= created <= 2 * 8, f"{created} redis clients for 80 publishes"
