"""Handing stored message ids to the broker, without ever making the webhook fail.

The database, not the broker, is the record of what is still to do: if the broker is down the
message stays ``received`` and the sweeper enqueues it again later. So a failed publish is logged
(by id only) and swallowed.

One broker message carries up to ``MAX_IDS_PER_MESSAGE`` ids (the task's positional arguments):
publishing and consuming a Celery message over Redis costs ~0.2 ms of CPU in the API and
~0.4 ms in the worker (kombu's consume loop) whatever it carries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from kombu.transport import redis as kombu_redis

from router.task_names import CLASSIFY_TASK, DEFAULT_QUEUE

log = logging.getLogger(__name__)
MAX_IDS_PER_MESSAGE = 16
Enqueue = Callable[[list[str]], int]


class TaskSender(Protocol):
    def send_task(self, name: str, args: list[Any] | None = None, **options: Any) -> Any: ...


class _OneClientChannel(kombu_redis.Channel):
    """kombu's Redis channel, keeping one client object for publishing instead of one per message.

    kombu builds a new ``redis.Redis`` for every publish (copying ~170 response callbacks), which
    was a third of Celery's publish cost in the API. A client object is safe to share: each
    command takes its own connection from the channel's pool.
    """

    _publish_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        if self._publish_client is None:
            self._publish_client = self._create_client()
        yield self._publish_client


class PublishingRedisTransport(kombu_redis.Transport):
    Channel = _OneClientChannel


def broker_client(broker_url: str, queue: str = DEFAULT_QUEUE) -> TaskSender:
    """A publish-only Celery client that fails fast when the broker is unreachable."""
    from celery import Celery

    client = Celery("frontdesk-client", broker=broker_url, set_as_current=False)
    client.conf.update(
        broker_connection_timeout=1.0,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        task_default_queue=queue,
    )
    if broker_url.startswith(("redis://", "rediss://")):
        # Redis-only options (kombu's SQLAlchemy transport hands its options to create_engine)
        client.conf.broker_transport = f"{__name__}:PublishingRedisTransport"
        client.conf.broker_transport_options = {
            "socket_connect_timeout": 1.0,
            "socket_timeout": 2.0,
            "max_retries": 0,
        }
    return client


def make_enqueuer(sender: TaskSender, queue: str = DEFAULT_QUEUE) -> Enqueue:
    """A function that enqueues ids for classification and returns how many were handed over."""

    def enqueue(message_ids: list[str]) -> int:
        sent = 0
        for start in range(0, len(message_ids), MAX_IDS_PER_MESSAGE):
            chunk = list(message_ids[start : start + MAX_IDS_PER_MESSAGE])
            try:
                sender.send_task(CLASSIFY_TASK, args=chunk, queue=queue, retry=False)
                sent += len(chunk)
            except Exception as exc:  # broker down: the sweeper will enqueue them again
                log.warning(
                    "enqueue failed for %d message(s) from %s (%s); left for the sweeper",
                    len(chunk),
                    chunk[0],
                    type(exc).__name__,
                )
        return sent

    return enqueue


class CoalescingEnqueuer:
    """Publishes from one background thread, gathering the ids that arrive within ``linger`` seconds.

    The API's webhooks each store one message; published one by one, every id costs a broker
    message. Gathered for a few milliseconds they share one (up to ``MAX_IDS_PER_MESSAGE``), and
    the request no longer waits for the publish: its 202 means "stored", as before, and an id
    lost with the process (or with the broker) is re-enqueued by the sweeper.
    """

    def __init__(self, enqueue: Enqueue, linger: float) -> None:
        self._enqueue = enqueue
        self._linger = linger
        self._pending: list[str] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="frontdesk-enqueue", daemon=True)
        self._thread.start()

    def __call__(self, message_ids: list[str]) -> int:
        with self._wake:
            if not self._closed:
                self._pending.extend(message_ids)
                self._wake.notify()
                return len(message_ids)
        return self._enqueue(message_ids)  # closed: publish on the caller's thread

    def _next_chunk(self) -> list[str] | None:
        """Waits for an id, then up to ``linger`` for more; None once closed and drained."""
        with self._wake:
            while not self._pending and not self._closed:
                self._wake.wait()
            deadline = time.monotonic() + self._linger
            while len(self._pending) < MAX_IDS_PER_MESSAGE and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            chunk = self._pending[:MAX_IDS_PER_MESSAGE]
            del self._pending[:MAX_IDS_PER_MESSAGE]
            return chunk or None

    def _run(self) -> None:
        while (chunk := self._next_chunk()) is not None:
            try:
                self._enqueue(chunk)
            except Exception as exc:  # make_enqueuer's never raises; another callable must not stop us
                log.warning(
                    "enqueue of %d message(s) failed (%s); left for the sweeper",
                    len(chunk),
                    type(exc).__name__,
                )

    def close(self, timeout: float = 5.0) -> None:
        """Publishes what is pending, then stops the thread; later calls publish directly."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout)
