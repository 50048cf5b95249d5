"""``frontdesk bench pipeline``: webhooks over HTTP into real Redis + Postgres, decided by a real worker.

Measured in one run, on one machine: the raw classifier's throughput on the same texts with the
same thread count; a burst (everything posted as fast as the API answers, first webhook to last
decision, all four channels) with the CPU each process spent and the worker's memory through it;
the sustained rate (the highest offered rate the pipeline keeps pace with, ``router.sustained_rate``);
and webhook-to-decision latency percentiles at half the sustained rate. The ratio of sustained to
raw throughput is what the queue, the database and the HTTP layer cost.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np
import uvloop
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from models.classifier import Classifier
from router import store
from router.db import session_factory_for_url
from router.load_client import LoadClient
from router.local_stack import LocalStack, RssSampler, rss_mb, wait_until
from router.migrate import upgrade_database
from router.process_cpu import cpu_ms_per_message, cpu_snapshot
from router.settings import Settings, get_settings
from router.sustained_rate import RateTrial, find_sustained_rate
from router.webhook_payloads import WebhookRequest, request_for


@dataclass
class PipelineBenchConfig:
    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    redis_url: str = "redis://127.0.0.1:6379/14"
    messages: int = 2000
    latency_seconds: float = 20.0
    concurrency: int = 32
    onnx_threads: int = 1
    batch_size: int = Settings.model_fields["batch_size"].default
    flush_interval: float = Settings.model_fields["batch_flush_interval"].default
    # sustained-rate search: open-loop trials between these fractions of the raw throughput
    trial_seconds: float = 15.0
    search_steps: int = 4
    search_low: float = 0.4
    search_high: float = 1.0
    max_drain_seconds: float = 1.0


async def post_requests(base_url: str, requests: Sequence[WebhookRequest], concurrency: int) -> list[int]:
    """Everything at once, ``concurrency`` in flight: as fast as the API answers."""
    async with LoadClient(base_url, concurrency) as client:
        encoded = [client.encode(r) for r in requests]
        return list(await asyncio.gather(*(client.post(raw) for raw in encoded)))


async def post_at_rate(base_url: str, requests: Sequence[WebhookRequest], rate: float) -> list[int]:
    """One request every 1/rate seconds, each in its own task, so a slow answer does not slow the rate."""
    async with LoadClient(base_url, 256) as client:
        encoded = [client.encode(r) for r in requests]
        started = time.perf_counter()
        tasks = []
        for i, raw in enumerate(encoded):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(client.post(raw)))
        return list(await asyncio.gather(*tasks))


def fresh_postgres_database(server_url: str) -> tuple[str, Any]:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"frontdesk_bench_{uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def bench_texts(n: int) -> list[str]:
    from models.corpus import load_corpus, split_corpus

    _, dev = split_corpus(load_corpus())
    texts = [e.text for e in dev]
    return [texts[i % len(texts)] for i in range(n)]


def raw_classifier_throughput(texts: Sequence[str], threads: int, batch_size: int) -> float:
    classifier = Classifier(threads=threads)
    classifier.predict(texts[:64], batch_size=batch_size)
    started = time.perf_counter()
    classifier.predict(texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - started)


def _last_decision_since(sessions: Any, since: datetime) -> datetime:
    """When the last of the messages stored since ``since`` was decided."""
    with sessions() as session:
        last = session.scalar(
            text(
                "SELECT max(d.created_at) FROM messages m "
                "JOIN decisions d ON d.message_id = m.id WHERE m.created_at >= :since"
            ),
            {"since": since},
        )
    if last is None:
        raise RuntimeError("no message of the trial was decided")
    return last if last.tzinfo else last.replace(tzinfo=UTC)


def run_rate_trial(
    base_url: str,
    make: Callable[[int, str], WebhookRequest],
    texts: Sequence[str],
    rate: float,
    seconds: float,
    undecided: Callable[[], int],
    sessions: Any,
    max_drain_seconds: float,
    cpu_groups: Mapping[str, Iterable[int]],
) -> RateTrial:
    """Post at ``rate`` for ``seconds`` (open loop), wait until all are decided, time the drain."""
    n = max(1, int(rate * seconds))
    requests = [make(i, texts[i % len(texts)]) for i in range(n)]
    cpu_before = cpu_snapshot(cpu_groups)
    started = datetime.now(UTC)
    statuses = uvloop.run(post_at_rate(base_url, requests, rate))
    last_post = datetime.now(UTC)
    accepted = sum(s == 202 for s in statuses)
    wait_until(lambda: undecided() == 0, 600, f"trial at {rate:.0f}/s not decided", every=0.05)
    cpu = cpu_ms_per_message(cpu_before, cpu_snapshot(cpu_groups), n)
    last_decision = _last_decision_since(sessions, started)
    drain = max(0.0, (last_decision - last_post).total_seconds())
    errors = n - accepted
    return RateTrial(
        rate=rate,
        messages=n,
        http_errors=errors,
        drain_seconds=drain,
        end_to_end_messages_per_s=accepted / (last_decision - started).total_seconds(),
        passed=errors == 0 and drain <= max_drain_seconds,
        cpu_ms_per_message=cpu,
    )


def run_pipeline_benchmark(config: PipelineBenchConfig, out_dir: Path, workdir: Path) -> dict[str, Any]:
    import redis

    texts = bench_texts(config.messages)
    # measured first, on the idle machine: the search below needs it for its bounds
    raw = raw_classifier_throughput(texts, config.onnx_threads, get_settings().inference_batch_size)
    redis.Redis.from_url(config.redis_url).flushdb()
    database_url, drop_database = fresh_postgres_database(config.postgres_url)
    upgrade_database(database_url)
    sessions = session_factory_for_url(database_url)
    latency_n = int(config.latency_seconds * 200)
    env = {
        "FRONTDESK_ONNX_THREADS": str(config.onnx_threads),
        "FRONTDESK_BATCH_SIZE": str(config.batch_size),
        "FRONTDESK_BATCH_FLUSH_INTERVAL": str(config.flush_interval),
    }
    try:
        with LocalStack(database_url, config.redis_url, workdir, extra_env=env) as stack:
            stack.start_api()
            worker = stack.start_worker()

            def make(i: int, text_: str) -> WebhookRequest:
                return request_for(i, text_, uuid4().hex, "bench-inbound", stack.twilio_token, stack.base_url)

            def undecided() -> int:
                """Stored and not yet decided: after every post is answered, 0 means all decided."""
                with sessions() as session:
                    return store.undecided_count(session)

            # warm-up: the worker loads its model on the first batch
            warm = [make(i, t) for i, t in enumerate(texts[:64])]
            uvloop.run(post_requests(stack.base_url, warm, config.concurrency))
            wait_until(lambda: undecided() == 0, 120, "warm-up not decided")
            rss_start = rss_mb(worker.pid)
            assert stack.api is not None
            groups = {"api": [stack.api.pid], "worker": [worker.pid]}

            requests = [make(i, t) for i, t in enumerate(texts)]
            cpu_before = cpu_snapshot(groups)
            started = time.perf_counter()
            with RssSampler(worker.pid) as rss_samples:
                statuses = uvloop.run(post_requests(stack.base_url, requests, config.concurrency))
                post_seconds = time.perf_counter() - started
                wait_until(lambda: undecided() == 0, 600, "load not decided", every=0.02)
                e2e_seconds = time.perf_counter() - started
            cpu_cost = cpu_ms_per_message(cpu_before, cpu_snapshot(groups), len(requests))
            e2e_rate = len(requests) / e2e_seconds

            def trial(rate: float) -> RateTrial:
                return run_rate_trial(
                    stack.base_url,
                    make,
                    texts,
                    rate,
                    config.trial_seconds,
                    undecided,
                    sessions,
                    config.max_drain_seconds,
                    groups,
                )

            sustained, trials = find_sustained_rate(
                trial, config.search_low * raw, config.search_high * raw, config.search_steps
            )
            sustained_rate = sustained.end_to_end_messages_per_s if sustained else None

            rate = (sustained_rate or e2e_rate) / 2
            latency_requests = [
                make(i, texts[i % len(texts)])
                for i in range(min(latency_n, int(rate * config.latency_seconds)))
            ]
            latency_statuses = uvloop.run(post_at_rate(stack.base_url, latency_requests, rate))
            wait_until(lambda: undecided() == 0, 300, "latency phase not decided")
            rss_end = rss_mb(worker.pid)
            with sessions() as session:
                all_ids = [
                    r[0] for r in session.execute(text("SELECT id FROM messages ORDER BY created_at")).all()
                ]
                latency_ids = all_ids[-len(latency_requests) :]
                latencies = np.array(store.decision_latencies(session, latency_ids)) * 1000
    finally:
        drop_database()

    result = {
        "config": config.__dict__,
        "machine": {"cpu_count": os.cpu_count()},
        "throughput": {
            "raw_classifier_messages_per_s": raw,
            "raw_classifier_cpu_ms_per_message": 1000 * config.onnx_threads / raw,
            # the highest offered rate whose messages were all decided within max_drain_seconds
            # of the last post, and the end-to-end rate achieved in that trial
            "sustained_messages_per_s": sustained_rate,
            "ratio_sustained_to_raw": sustained_rate / raw if sustained_rate else None,
            "sustained_trials": [t.as_dict() for t in trials],
            # everything posted at once, as fast as the API answers: first post to last decision
            "burst": {
                "messages": len(requests),
                "http_errors": sum(s != 202 for s in statuses),
                "post_seconds": post_seconds,
                "end_to_end_seconds": e2e_seconds,
                "end_to_end_messages_per_s": e2e_rate,
                "ratio_to_raw": e2e_rate / raw,
            },
        },
        # where the two cores went during the burst (the load generator is this process)
        "cpu_ms_per_message": cpu_cost,
        "latency_at_half_rate": {
            "rate_messages_per_s": rate,
            "messages": len(latency_requests),
            "http_errors": sum(s != 202 for s in latency_statuses),
            "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)),
            "p99_ms": float(np.percentile(latencies, 99)),
        },
        "worker_rss_mb": {"after_warmup": rss_start, "end": rss_end, **rss_samples.summary()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
