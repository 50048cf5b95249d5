"""celery-batches with a flush that waits while a batch is still being classified.

Why: stock celery-batches flushes whatever has arrived on every ``flush_interval`` tick and, with
a thread pool, queues it behind the batch still running. Under a backlog that locks the worker
into small batches: in a 4,000-message pipeline run its batches held about 10 messages, not the
128 allowed, because each tick's handful queued behind the last and every completed handful
freed just enough prefetch room for the next. Small batches pad more inside the model and pay the
database transaction per 10 messages instead of per 128.

Here a tick that finds a batch still queued or in the model leaves the buffer to grow, so under
load each batch holds what arrived while the previous one ran (up to ``flush_every``, which still
flushes at once). When the worker is idle a tick flushes as before, so a lone message still
waits at most one interval. A tick that has deferred for ``max_defer_seconds`` flushes anyway,
so a count that went wrong cannot strand messages in the buffer.

Only for pools that run the task in the worker's own process (threads, solo): a prefork child
cannot report its batch done to the parent's count, so under prefork the stock flush applies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

from celery.concurrency.prefork import TaskPool as PreforkPool
from celery_batches import Batches


class LoadAwareBatches(Batches):
    abstract = True
    max_defer_seconds: float = 2.0

    def __init__(self) -> None:
        super().__init__()
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._deferring_since: float | None = None
        self._running = threading.local()  # a batch runs start to end on one pool thread

    @property
    def batches_in_flight(self) -> int:
        """Batches handed to the pool whose model step has not finished (queued or running)."""
        return self._in_flight

    def _counts_batches(self) -> bool:
        return not isinstance(self._pool, PreforkPool)

    def flush(self, requests: Collection[Any]) -> Any:
        if not self._counts_batches():
            return super().flush(requests)
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            return super().flush(requests)
        except BaseException:
            self._batch_finished()
            raise

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._running.holds_slot = True
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.model_done()

    def model_done(self) -> None:
        """The running batch no longer needs the model: the next batch may form now.

        The task calls this once its predictions are back, so the next batch is classified while
        this one is written to the database; otherwise it happens when the task returns. Only
        the first call of a batch counts.
        """
        if getattr(self._running, "holds_slot", False):
            self._running.holds_slot = False
            self._batch_finished()

    def _batch_finished(self) -> None:
        with self._in_flight_lock:
            # eager calls (``apply``) run without a flush: never below zero
            self._in_flight = max(0, self._in_flight - 1)

    def _do_flush(self) -> None:
        if self._should_defer():
            return  # the timer keeps ticking: the next tick looks again
        self._deferring_since = None
        super()._do_flush()

    def _should_defer(self) -> bool:
        if self._in_flight == 0 or self._buffer.qsize() >= self.flush_every:
            return False
        now = time.monotonic()
        if self._deferring_since is None:
            self._deferring_since = now
        return now - self._deferring_since < self.max_defer_seconds
