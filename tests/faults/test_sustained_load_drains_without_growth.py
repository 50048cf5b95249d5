"""Sustained webhooks over HTTP for a fixed time with the worker at full speed: no HTTP error, the
queue drains (every message decided once), and neither the API nor the worker grows in memory.

Rate and duration default to what a busy 2-core box sustains alongside everything else
(``FRONTDESK_FAULT_LOAD_RATE``, ``FRONTDESK_FAULT_LOAD_SECONDS`` override them).
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from router import store
from router.local_stack import rss_mb
from tests.faults.support import (
    Poster,
    audit_pipeline,
    drained,
    log_count,
    percentile,
    post_all,
    record_figures,
    sample_texts,
    wait_for,
    webhook_requests,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.timeout(300)]

RATE = float(os.environ.get("FRONTDESK_FAULT_LOAD_RATE", "25"))
SECONDS = float(os.environ.get("FRONTDESK_FAULT_LOAD_SECONDS", "30"))
RSS_GROWTH_LIMIT_MB = 50.0  # or 25 % of the starting size, whichever is larger
RSS_GROWTH_LIMIT_FRACTION = 0.25
WARM = 256
WARM_LONGEST = 64


class RssSampler(threading.Thread):
    """Resident memory of the given processes about once a second while the load runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pids = pids
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.done = threading.Event()

    def start(self) -> RssSampler:
        super().start()
        return self

    def run(self) -> None:
        started = time.monotonic()
        while True:
            self.samples.append((time.monotonic() - started, {k: rss_mb(p) for k, p in self.pids.items()}))
            if self.done.wait(1.0):  # sampling period, not synchronisation
                return

    def finish(self) -> list[tuple[float, dict[str, float]]]:
        self.done.set()
        self.join(10)
        return self.samples


def test_sustained_load_drains_without_growth(make_stack, sessions) -> None:
    # One ONNX thread is full speed on a 2-core box shared with the API (two threads spin against each
    # other and halve throughput). The sweeper only watches here: no fault, so a 10 s grace, not 2 s.
    stack = make_stack(FRONTDESK_ONNX_THREADS="1", FRONTDESK_SWEEP_AFTER_SECONDS="10")
    stack.start_api()
    stack.start_beat()
    assert stack.api is not None
    # Warm-up until memory is at working size: the model loaded, and ONNX Runtime's arena grown for
    # the largest batch shape (full batches of the longest texts: queued before the worker starts, so
    # they reach it 16 at a time) and a spread of ordinary ones. The arena may still extend once or
    # twice later (a step of 20-40 MB, then flat: see rss_mb_mid_load and rss_mb_peak), so the bound
    # is the larger of 50 MB and 25 %: a leak under this load would pass it within the 30 s.
    texts = sample_texts(2000)
    longest = sorted(set(texts), key=len, reverse=True)[:WARM_LONGEST]
    warm_requests = [
        *webhook_requests(stack, WARM_LONGEST, "warmlong", edit=lambda i, _: longest[i]),
        *webhook_requests(stack, WARM - WARM_LONGEST, "warm", edit=lambda i, _: texts[-1 - i]),
    ]
    warm = post_all(stack.base_url, warm_requests)
    assert {p.status for p in warm} == {202}
    worker = stack.start_worker()
    wait_for(drained(sessions, WARM), 120, "the warm-up messages to be decided")
    rss_start = {"api": rss_mb(stack.api.pid), "worker": rss_mb(worker.pid)}
    sampler = RssSampler({"api": stack.api.pid, "worker": worker.pid}).start()

    messages = int(RATE * SECONDS)
    poster = Poster(stack.base_url, webhook_requests(stack, messages, "load"), rate=RATE).start()
    posted = poster.join(SECONDS + 90)
    post_seconds = poster.finished_at - poster.started_at
    drain = wait_for(drained(sessions, WARM + messages), 180, "the queue to drain after the load")
    end_to_end_seconds = time.monotonic() - poster.started_at
    rss_end = {"api": rss_mb(stack.api.pid), "worker": rss_mb(worker.pid)}
    samples = sampler.finish()
    rss_mid = samples[len(samples) // 2][1]

    sent = {p.message_id for p in [*warm, *posted] if p.message_id}
    result = audit_pipeline(sessions, sent)
    with sessions() as session:
        latencies = store.decision_latencies(session, [p.message_id for p in posted if p.message_id])
    http = [p.latency for p in posted]
    growth = {name: round(rss_end[name] - rss_start[name], 1) for name in rss_start}
    growth_second_half = {name: round(rss_end[name] - rss_mid[name], 1) for name in rss_start}
    figures = {
        "messages": messages,
        "target_rate_per_s": RATE,
        "duration_s": SECONDS,
        "post_seconds": round(post_seconds, 2),
        "achieved_rate_per_s": round(len(posted) / post_seconds, 1),
        "end_to_end_rate_per_s": round(messages / end_to_end_seconds, 1),
        "drain_seconds_after_last_post": round(drain, 2),
        "http_errors": sum(p.status != 202 for p in posted),
        "http_latency_ms": {q: round(percentile(http, q) * 1000, 1) for q in (50, 95, 99)},
        "decision_latency_ms": {q: round(percentile(latencies, q) * 1000, 1) for q in (50, 95, 99)},
        "rss_mb_start": {k: round(v, 1) for k, v in rss_start.items()},
        "rss_mb_end": {k: round(v, 1) for k, v in rss_end.items()},
        "rss_mb_mid_load": {k: round(v, 1) for k, v in rss_mid.items()},
        "rss_mb_peak": {k: round(max(v[k] for _, v in samples), 1) for k in rss_start},
        "rss_growth_mb": growth,
        "rss_growth_second_half_mb": growth_second_half,
        "warmup_messages": WARM,
        "sweeper_requeue_log_lines": log_count(stack, "sweeper: re-enqueued"),
        **result.figures(),
    }
    record_figures("sustained_load", figures)

    assert all(p.status == 202 for p in posted), sorted(
        {(p.status, p.error) for p in posted if p.status != 202}
    )
    assert len(posted) == messages
    result.assert_exactly_once()
    for name, grew in growth.items():
        limit = max(RSS_GROWTH_LIMIT_MB, RSS_GROWTH_LIMIT_FRACTION * rss_start[name])
        assert grew < limit, f"{name} grew {grew} MB under load ({rss_start[name]:.0f} MB at start)"
