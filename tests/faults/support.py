"""Tools of the fault tests: a private Redis, a TCP proxy that can cut Postgres off, a paced webhook
poster, the database audit behind "nothing lost, nothing duplicated", and the figures file.

Everything here waits on conditions (database counts, answered requests) with a timeout; the only
sleeps are the poster's pacing and the polling interval of :func:`wait_for`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.local_stack import LocalStack, free_port
from router.webhook_payloads import WebhookRequest, request_for
from tests.sample_texts import SAMPLE_TEXTS

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "faults.json"


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> float:
    """Poll ``condition`` until true; return the seconds it took, or fail saying what did not happen."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic() - started
        time.sleep(every)
    if condition():
        return time.monotonic() - started
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# --------------------------------------------------------------------------- services


class RedisServer:
    """Our own ``redis-server`` on a free loopback port, which the tests may stop and restart."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.ping, timeout, f"redis-server on port {self.port} to answer PING")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """Stop it: the queue and every unacked message in it are gone (no persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.start()
        self.restarts += 1


class TcpProxy:
    """A loopback TCP proxy (asyncio, in its own thread) that can simulate a database outage.

    ``outage()`` aborts every proxied connection (both sides, so the server rolls back whatever was
    open) and closes the listening socket, so new connections are refused; ``recover()`` listens on
    the same port again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.accepted = 0
        self.aborted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()
        self._generation = 0  # bumped by every outage

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        generation = self._generation
        self._transports.add(writer.transport)  # an outage while we dial upstream aborts it too
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            self._transports.discard(writer.transport)
            return
        if generation != self._generation or self._server is None:
            # accepted just before an outage began: it must not outlive it
            up_writer.transport.abort()
            writer.transport.abort()
            self._transports.discard(writer.transport)
            return
        self.accepted += 1
        pair = (writer.transport, up_writer.transport)
        self._transports.update(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._transports.difference_update(pair)

    async def _cut(self) -> None:
        self._generation += 1
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()  # type: ignore[attr-defined]
            self.aborted += 1
        self._transports.clear()

    def outage(self) -> None:
        self._call(self._cut())

    def recover(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._cut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


# --------------------------------------------------------------------------- posting


def sample_texts(n: int) -> list[str]:
    """Real corpus texts (varied lengths, as in production), or a few fixed ones without the corpus."""
    try:
        from router.pipeline_bench import bench_texts

        return bench_texts(n)
    except Exception:  # pragma: no cover - corpus missing: the invariants do not depend on the text
        return [SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)] for i in range(n)]


def webhook_requests(
    stack: LocalStack, n: int, tag: str, edit: Callable[[int, str], str] | None = None
) -> list[WebhookRequest]:
    """``n`` new webhooks, round-robin over the four channels, each with a fresh external id
    (alphanumeric, as Twilio SIDs must be; ``tag`` only makes the ids easy to spot). ``edit``
    may change the text of request ``i`` (signatures are computed after it)."""
    texts = sample_texts(n)
    if edit is not None:
        texts = [edit(i, t) for i, t in enumerate(texts)]
    return [
        request_for(
            i, texts[i], f"{tag}{i}x{uuid4().hex}", "bench-inbound", stack.twilio_token, stack.base_url
        )
        for i in range(n)
    ]


@dataclass
class Posted:
    index: int
    request: WebhookRequest
    sent_at: float  # time.monotonic()
    latency: float
    status: int  # -1: no HTTP answer (transport error)
    message_id: str | None = None
    retry_after: str | None = None
    error: str | None = None
    duplicate: bool = False  # 202 for a webhook already stored (a redelivery)


async def post_one(client: httpx.AsyncClient, index: int, request: WebhookRequest) -> Posted:
    sent = time.monotonic()
    try:
        response = await client.post(
            request.path,
            headers=request.headers,
            content=request.content,
            json=request.json,
            data=request.form,
        )
    except httpx.HTTPError as exc:
        return Posted(index, request, sent, time.monotonic() - sent, -1, error=type(exc).__name__)
    body = response.json() if response.status_code == 202 else {}
    return Posted(
        index,
        request,
        sent,
        time.monotonic() - sent,
        response.status_code,
        body.get("id"),
        response.headers.get("retry-after"),
        duplicate=bool(body.get("duplicate")),
    )


class Poster:
    """Posts webhooks at a fixed rate from a background thread; each request is its own task, so a
    slow answer never slows the rate. ``answered`` grows as answers arrive (safe to read meanwhile)."""

    def __init__(self, base_url: str, requests: Sequence[WebhookRequest], rate: float, timeout: float = 30.0):
        self.base_url = base_url
        self.requests = list(requests)
        self.rate = rate
        self.timeout = timeout
        self.answered: list[Posted] = []
        self.started_at = 0.0
        self.finished_at = 0.0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="poster", daemon=True)

    def start(self) -> Poster:
        self._thread.start()
        return self

    def join(self, timeout: float) -> list[Posted]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"poster still running after {timeout:.0f}s")
        return sorted(self.answered, key=lambda p: p.index)

    def count(self, predicate: Callable[[Posted], bool] = lambda p: True) -> int:
        return sum(1 for p in list(self.answered) if predicate(p))

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, limits=limits) as client:

            async def one(index: int, request: WebhookRequest) -> None:
                self.answered.append(await post_one(client, index, request))

            self.started_at = time.monotonic()
            tasks = []
            for i, request in enumerate(self.requests):
                delay = self.started_at + i / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing, not synchronisation
                tasks.append(asyncio.create_task(one(i, request)))
            await asyncio.gather(*tasks)
            self.finished_at = time.monotonic()


def post_all(base_url: str, requests: Sequence[WebhookRequest], concurrency: int = 16) -> list[Posted]:
    """Post as fast as ``concurrency`` allows, and wait for every answer."""

    async def run() -> list[Posted]:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as client:
            gate = asyncio.Semaphore(concurrency)

            async def one(i: int, r: WebhookRequest) -> Posted:
                async with gate:
                    return await post_one(client, i, r)

            return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(requests))))

    return asyncio.run(run())


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))])


# --------------------------------------------------------------------------- the audit


def status_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return store.status_counts(session)


def decided_count(sessions: sessionmaker[Session]) -> int:
    return status_counts(sessions).get("decided", 0)


def drained(sessions: sessionmaker[Session], at_least: int) -> Callable[[], bool]:
    """True once every stored message is decided and at least ``at_least`` are stored."""

    def check() -> bool:
        counts = status_counts(sessions)
        total = sum(counts.values())
        return total >= at_least and counts.get("decided", 0) == total

    return check


@dataclass
class PipelineAudit:
    """What the database says about every stored message, against the ids the clients were given."""

    stored: set[str]
    decided: set[str]
    sent: set[str]
    # messages whose rows break "exactly one": id -> what is wrong
    anomalies: dict[str, str] = field(default_factory=dict)
    decided_by: dict[str, int] = field(default_factory=dict)
    classification_failed: int = 0
    max_attempts_seen: int = 0

    @property
    def lost(self) -> set[str]:
        """Answered 202 but not decided (or not even stored)."""
        return self.sent - self.decided

    @property
    def not_stored(self) -> set[str]:
        return self.sent - self.stored

    @property
    def duplicated(self) -> set[str]:
        return {i for i, what in self.anomalies.items() if "decisions" in what or "events" in what}

    def figures(self) -> dict[str, Any]:
        return {
            "sent_202": len(self.sent),
            "stored": len(self.stored),
            "decided": len(self.decided),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "anomalies": len(self.anomalies),
            "decided_by": dict(self.decided_by),
            "classification_failed": self.classification_failed,
            "max_attempts_seen": self.max_attempts_seen,
        }

    def assert_exactly_once(self) -> None:
        assert not self.not_stored, f"{len(self.not_stored)} messages answered 202 are not in the database"
        assert not self.lost, f"{len(self.lost)} messages answered 202 were never decided"
        undecided = self.stored - self.decided
        assert not undecided, f"{len(undecided)} stored messages are not decided"
        sample = dict(list(self.anomalies.items())[:5])
        assert not self.anomalies, f"{len(self.anomalies)} messages not decided exactly once, e.g. {sample}"


AUDIT_SQL = text(
    """
    SELECT m.id, m.status, m.attempts,
      (SELECT count(*) FROM decisions d WHERE d.message_id = m.id AND d.is_current) AS current,
      (SELECT count(*) FROM decisions d WHERE d.message_id = m.id) AS decisions,
      (SELECT count(*) FROM queue_items q WHERE q.message_id = m.id) AS items,
      (SELECT count(*) FROM queue_items q WHERE q.message_id = m.id AND q.status <> 'done') AS live_items,
      (SELECT count(*) FROM audit a WHERE a.message_id = m.id AND a.event = 'decided') AS decided_events,
      (SELECT d.decided_by FROM decisions d WHERE d.message_id = m.id AND d.is_current) AS decided_by,
      (SELECT d.reason FROM decisions d WHERE d.message_id = m.id AND d.is_current) AS reason
    FROM messages m
    """
)


def audit_pipeline(sessions: sessionmaker[Session], sent_ids: set[str]) -> PipelineAudit:
    """One query over every message: decisions, queue items and 'decided' audit events per message.

    Nobody claims or reviews in these tests, so a decided message must have exactly one decision
    (current), exactly one queue item (live), exactly one 'decided' audit event; an undecided
    one none of them.
    """
    with sessions() as session:
        rows = session.execute(AUDIT_SQL).all()
    result = PipelineAudit(stored=set(), decided=set(), sent=set(sent_ids))
    for row in rows:
        result.stored.add(row.id)
        result.max_attempts_seen = max(result.max_attempts_seen, row.attempts)
        if row.status == "decided":
            result.decided.add(row.id)
            expected = {"current": 1, "decisions": 1, "items": 1, "live_items": 1, "decided_events": 1}
            result.decided_by[row.decided_by] = result.decided_by.get(row.decided_by, 0) + 1
            if row.reason == "classification_failed":
                result.classification_failed += 1
        else:
            expected = {"current": 0, "decisions": 0, "items": 0, "live_items": 0, "decided_events": 0}
        wrong = [f"{k}={getattr(row, k)}" for k, v in expected.items() if getattr(row, k) != v]
        if wrong:
            result.anomalies[row.id] = f"status={row.status} " + " ".join(wrong)
    return result


def spot_check_audit_trail(sessions: sessionmaker[Session], ids: Sequence[str]) -> None:
    """The same property through the store's own API, on a few messages."""
    with sessions() as session:
        for message_id in ids:
            events = [event for event, _ in store.audit_events(session, message_id)]
            assert events.count("received") == 1, (message_id, events)
            assert events.count("decided") == 1, (message_id, events)
            stored = store.get_message(session, message_id)
            assert stored is not None and stored.status == "decided" and stored.decision is not None


def log_count(stack: LocalStack, needle: str) -> int:
    return stack.logs().count(needle)


# --------------------------------------------------------------------------- figures


# Set by the conftest once the model is chosen, so every figure says which model produced it.
MODEL_INFO: dict[str, str] = {}


def record_figures(test_name: str, figures: dict[str, Any]) -> None:
    """Print the figures and merge them into bench/results/faults.json under ``test_name``."""
    figures = {**figures, "model": dict(MODEL_INFO), "cpu_count": os.cpu_count()}
    print(f"\n[{test_name}] " + json.dumps(figures, indent=2, sort_keys=True))
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        existing = json.loads(RESULTS_FILE.read_text())
        if not isinstance(existing, dict):
            existing = {}
    except (OSError, ValueError):
        existing = {}
    existing[test_name] = {**figures, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    RESULTS_FILE.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


WARM_UP = 16  # webhooks decided before any fault (``start_warmed_stack``)


def start_warmed_stack(
    stack: LocalStack, sessions: sessionmaker[Session], workers: int = 1
) -> tuple[list[Posted], list[subprocess.Popen[bytes]]]:
    """API, ``workers`` workers and beat, then ``WARM_UP`` webhooks decided: faults hit a loaded model.

    Returns the warm-up webhooks (they count as sent) and the worker processes (to kill).
    """
    stack.start_api()
    started = [stack.start_worker() for _ in range(workers)]
    stack.start_beat()
    warm = post_all(stack.base_url, webhook_requests(stack, WARM_UP, "warm"))
    assert {p.status for p in warm} == {202}
    wait_for(drained(sessions, WARM_UP), 90, "the warm-up messages to be decided (worker start + model load)")
    return warm, started


@dataclass
class Outage:
    """What a steady poster saw around a fault: the burst before it, its window, every answer."""

    burst: list[Posted]
    down_at: float
    up_at: float
    in_flight: int  # acknowledged but not yet decided when the fault began
    posted: list[Posted]

    @property
    def during(self) -> list[Posted]:
        return [p for p in self.posted if self.down_at <= p.sent_at < self.up_at]


def post_through_outage(
    stack: LocalStack,
    sessions: sessionmaker[Session],
    poster: Poster,
    *,
    answered_before: int,
    burst: int,
    outage_answers: int,
    go_down: Callable[[], None],
    come_back: Callable[[], None],
    what: str,
) -> Outage:
    """Fault a warmed stack under load: ``go_down`` with a backlog queued, ``come_back`` once
    ``outage_answers`` webhooks were answered meanwhile; returns when the poster is done."""
    wait_for(
        lambda: poster.count(lambda p: p.status == 202) >= answered_before,
        30,
        f"{answered_before} webhooks answered before the outage",
    )
    # a burst on top, so the fault hits with a backlog queued and a batch in the worker's hands
    burst_posted = post_all(stack.base_url, webhook_requests(stack, burst, "burst"))
    assert {p.status for p in burst_posted} == {202}
    go_down()
    down_at = time.monotonic()
    in_flight = poster.count(lambda p: p.status == 202) + burst - (decided_count(sessions) - WARM_UP)
    wait_for(
        lambda: poster.count(lambda p: p.sent_at >= down_at) >= outage_answers,
        30,
        f"{outage_answers} webhooks answered while {what}",
    )
    come_back()
    up_at = time.monotonic()
    return Outage(burst_posted, down_at, up_at, in_flight, poster.join(60))
