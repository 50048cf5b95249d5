"""Handing a stored message id to the broker, without ever making the webhook fail.

The database, not the broker, is the record of what is still to do: if the broker is down the
message stays ``received`` and the sweeper enqueues it again later. So a failed publish is logged
(by id only) and swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from kombu.transport import redis as kombu_redis

from router.task_names import CLASSIFY_TASK, DEFAULT_QUEUE

log = logging.getLogger(__name__)


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


def make_enqueuer(sender: TaskSender, queue: str = DEFAULT_QUEUE) -> Callable[[list[str]], int]:
    """A function that enqueues ids for classification and returns how many were handed over."""

    def enqueue(message_ids: list[str]) -> int:
        sent = 0
        for message_id in message_ids:
            try:
                sender.send_task(CLASSIFY_TASK, args=[message_id], queue=queue, retry=False)
                sent += 1
            except Exception as exc:  # broker down: the sweeper will enqueue it again
                log.warning(
                    "enqueue failed for message %s (%s); left for the sweeper", message_id, type(exc).__name__
                )
        return sent

    return enqueue
