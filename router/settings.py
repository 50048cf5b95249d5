"""All configuration, read once from the environment (prefix ``FRONTDESK_``).

Defaults serve a first run on one machine: a SQLite file and an embedded broker, no server to
install. Production values (Postgres, Redis, keys) go in docker-compose.yml or the environment.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SCOPES_FIXED = ("inbound", "review", "admin")
WorkerPool = Literal["threads", "solo", "prefork"]
WORKER_POOLS: tuple[str, ...] = get_args(WorkerPool)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///frontdesk.db"
    # "embedded" = kombu's SQLAlchemy transport on a SQLite file beside the database.
    broker_url: str = "embedded"
    # one broker can serve several practices (or test runs) with a queue each
    queue_name: str = "frontdesk"
    model_dir: Path | None = None
    onnx_threads: int = 1

    # routing policy
    review_threshold: float = 0.97  # chosen on the dev set: `frontdesk tune-policy`
    review_margin: float = 0.2
    intent_thresholds: dict[str, float] = Field(default_factory=dict)

    # batching
    # messages per worker batch (one database transaction). Measured on one ONNX thread: the
    # model sorts a batch by length before padding, so bigger batches pad less: 6.9 ms/message
    # at 32, 5.4 at 128, 4.4 for one sorted pass over 2,048.
    batch_size: int = 128
    # at most this many messages per ONNX Runtime call inside it; models.classifier picks the
    # calls by a cost model (short messages share large calls, long ones get small ones)
    inference_batch_size: int = 32
    # An idle worker flushes what it has every interval; a busy one lets the next batch grow
    # until the model is free (worker.batching), so a short interval costs no throughput.
    # Pipeline bench, 3,000 messages: 0.02 s gave p50/p99 33/92 ms at 76 messages/s and 152/s
    # sustained; 0.05 s gave 56/141 ms at 77/s and 154/s.
    batch_flush_interval: float = 0.02
    # worker: two threads, so one batch's database and broker work overlaps the next one's
    # inference (inference itself runs one batch at a time, on onnx_threads threads)
    worker_pool: WorkerPool = "threads"
    worker_concurrency: int = 2
    worker_warm_up: bool = True  # meet every inference shape at start, so memory stays flat
    # sweeper: messages left 'received' longer than this are enqueued again
    sweep_after_seconds: float = 30.0
    sweep_interval_seconds: float = 10.0
    max_attempts: int = 3  # classification failures before a message goes to review
    max_deliveries: int = 20  # re-enqueues without any result before it goes to review

    # queues
    claim_lease_seconds: float = 300.0

    # HTTP
    # the API gathers the ids stored within this many seconds into one broker message
    # (router.enqueue.CoalescingEnqueuer); 0 publishes each as soon as the publisher thread is free
    enqueue_linger_seconds: float = 0.005
    db_pool_size: int = 32  # the API's database connections kept open
    api_keys: dict[str, list[str]] = Field(default_factory=dict)
    twilio_auth_token: str = ""
    public_base_url: str | None = None
    max_body_bytes: int = 1_000_000
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @property
    def resolved_broker_url(self) -> str:
        """The embedded default is a SQLite file beside a SQLite database (or in the working dir)."""
        if self.broker_url != "embedded":
            return self.broker_url
        return "sqla+sqlite:///frontdesk-broker.db"


@lru_cache
def get_settings() -> Settings:
    return Settings()
