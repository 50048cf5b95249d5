"""``frontdesk demo``: sample webhooks of all four channels through the real API, queue, worker and policy.

The worker is started by the caller (the CLI, the composition root), so this module never imports
``worker``; it posts through FastAPI's test client, waits on the database until every stored
message has a decision, and prints what happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from router import store
from router.demo_samples import SampleWebhook, all_samples
from router.queues import queue_sizes

BASE_URL = "http://testserver"


@dataclass
class DemoRow:
    sample: SampleWebhook
    message_id: str


def post_sample(client: TestClient, sample: SampleWebhook) -> str:
    request = sample.request
    response = client.post(
        request.path, headers=request.headers, content=request.content, json=request.json, data=request.form
    )
    response.raise_for_status()
    return str(response.json()["id"])


def wait_until_decided(
    session_factory: sessionmaker[Session], ids: list[str], timeout: float = 120.0
) -> list[store.StoredMessage]:
    deadline = time.monotonic() + timeout
    while True:
        with session_factory() as session:
            stored = store.get_messages(session, ids)
        if all(m.decision is not None for m in stored) or time.monotonic() > deadline:
            return stored
        time.sleep(0.05)


def run_demo(
    app: FastAPI, session_factory: sessionmaker[Session], console: Console
) -> list[store.StoredMessage]:
    with TestClient(app, base_url=BASE_URL) as client:
        rows = [DemoRow(sample, post_sample(client, sample)) for sample in all_samples(BASE_URL)]
    started = time.perf_counter()
    stored = wait_until_decided(session_factory, [r.message_id for r in rows])
    elapsed = time.perf_counter() - started
    by_id = {m.message.id: m for m in stored}
    table = Table(title="frontdesk demo: routing decisions")
    for column in ("channel", "sample", "intent", "confidence", "route", "priority", "reason"):
        table.add_column(column)
    for row in rows:
        decision = by_id[row.message_id].decision
        if decision is None:
            table.add_row(
                row.sample.request.path.rsplit("/", 1)[-1], row.sample.label, "(undecided)", "", "", "", ""
            )
            continue
        table.add_row(
            by_id[row.message_id].message.channel.value,
            row.sample.label,
            decision.intent or "-",
            f"{decision.confidence:.2f}",
            decision.route.value,
            decision.priority.value,
            decision.reason,
        )
    console.print(table)
    with session_factory() as session:
        sizes = queue_sizes(session)
    console.print("queues (open items): " + ", ".join(f"{k}={v}" for k, v in sorted(sizes.items())))
    decided = sum(m.decision is not None for m in stored)
    console.print(f"{decided}/{len(stored)} messages decided, {elapsed:.2f}s after the last webhook")
    return stored
