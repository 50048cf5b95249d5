"""The load-aware flush: a tick waits while a batch is in the model, so batches grow under load.

Driven directly (a stub pool that records batches, stub requests in the buffer), so each tick is
a call and nothing depends on timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery import Celery
from celery.concurrency.prefork import TaskPool as PreforkPool

from worker import batching
from worker.batching import LoadAwareBatches


@dataclass
class StubRequest:
    id: str
    eta: None = None
    name: str = "classify"
    delivery_info: dict[str, Any] = field(default_factory=dict)
    hostname: str = "test"
    reply_to: None = None
    correlation_id: None = None
    request_dict: dict[str, Any] = field(default_factory=dict)
    acked: bool = False

    @property
    def _payload(self) -> tuple[tuple[str], dict[str, Any], dict[str, Any]]:
        return (self.id,), {}, {}

    @property
    def task(self) -> Any:
        return type("T", (), {"acks_late": True})

    def acknowledge(self) -> None:
        self.acked = True


@dataclass
class RecordingPool:
    """Takes batches and runs none until the test says so."""

    submitted: list[tuple[Any, ...]] = field(default_factory=list)

    def apply_async(self, target: Any, args: tuple[Any, ...], **callbacks: Any) -> None:
        self.submitted.append((target, args, callbacks))

    def batch_ids(self, index: int) -> list[str]:
        return [request.args[0] for request in self.submitted[index][1][1][0]]

    def run(self, index: int) -> None:
        target, args, callbacks = self.submitted[index]
        callbacks["callback"](target(*args))


@pytest.fixture
def task() -> Iterator[LoadAwareBatches]:
    app = Celery("batching-test", set_as_current=False)

    @app.task(name="classify", base=LoadAwareBatches, flush_every=5, flush_interval=0.05, bind=True)
    def classify(self: LoadAwareBatches, requests: list[Any]) -> None:
        self.model_done()

    instance = app.tasks["classify"]
    instance._pool = RecordingPool()
    yield instance


def receive(task: LoadAwareBatches, *ids: str) -> None:
    for message_id in ids:
        task._buffer.put(StubRequest(message_id))


def test_an_idle_worker_flushes_what_it_has_at_the_first_tick(task: LoadAwareBatches) -> None:
    receive(task, "a")
    task._do_flush()
    assert task._pool.batch_ids(0) == ["a"]
    assert task.batches_in_flight == 1


def test_while_a_batch_is_in_the_model_ticks_let_the_next_batch_grow(task: LoadAwareBatches) -> None:
    receive(task, "a")
    task._do_flush()
    receive(task, "b")
    task._do_flush()
    receive(task, "c", "d")
    task._do_flush()
    assert len(task._pool.submitted) == 1, "a tick flushed while the first batch was in the model"
    task._pool.run(0)  # the task calls model_done(); then the batch returns
    assert task.batches_in_flight == 0
    task._do_flush()
    assert task._pool.batch_ids(1) == ["b", "c", "d"]


def test_a_full_buffer_flushes_even_while_busy(task: LoadAwareBatches) -> None:
    receive(task, "a")
    task._do_flush()
    receive(task, *"bcdef")  # flush_every = 5
    task._do_flush()
    assert task._pool.batch_ids(1) == list("bcdef")
    assert task.batches_in_flight == 2


def test_a_batch_that_never_reports_back_delays_the_flush_only_up_to_the_cap(
    task: LoadAwareBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr(batching.time, "monotonic", lambda: clock[0])
    receive(task, "a")
    task._do_flush()  # in flight, and never run
    receive(task, "b")
    task._do_flush()
    clock[0] += task.max_defer_seconds - 0.01
    task._do_flush()
    assert len(task._pool.submitted) == 1
    clock[0] += 0.02
    task._do_flush()
    assert task._pool.batch_ids(1) == ["b"]


def test_a_batch_frees_its_slot_once_and_its_messages_are_acked_when_it_returns(
    task: LoadAwareBatches,
) -> None:
    first = StubRequest("a")
    task._buffer.put(first)
    task._do_flush()
    receive(task, *"bcdef")
    task._do_flush()  # full: a second batch in flight
    task._pool.run(0)  # model_done() and then the task's own end: one slot, not two
    assert task.batches_in_flight == 1
    assert first.acked


class RecordingPreforkPool(PreforkPool, RecordingPool):  # type: ignore[misc]
    """A prefork pool that starts no processes: the task would run in a child."""

    def __init__(self) -> None:
        RecordingPool.__init__(self)

    def apply_async(self, target: Any, args: tuple[Any, ...], **callbacks: Any) -> None:
        RecordingPool.apply_async(self, target, args, **callbacks)


def test_under_prefork_every_tick_flushes_as_stock_celery_batches_does(task: LoadAwareBatches) -> None:
    task._pool = RecordingPreforkPool()
    receive(task, "a")
    task._do_flush()
    receive(task, "b")
    task._do_flush()  # a child could never report "a" done to this process: no waiting for it
    assert [task._pool.batch_ids(i) for i in (0, 1)] == [["a"], ["b"]]
    assert task.batches_in_flight == 0
