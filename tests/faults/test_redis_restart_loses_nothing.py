"""The broker restarts (with no persistence) while webhooks arrive and the worker works: nothing lost.

While Redis is down the API still answers 202 at once (the message is committed first; the failed
publish is logged and swallowed), the worker and beat reconnect by themselves, and the sweeper
re-enqueues whatever the restart wiped from the queue or never reached it.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.support import (
    Poster,
    audit_pipeline,
    decided_count,
    drained,
    log_count,
    percentile,
    post_all,
    record_figures,
    spot_check_audit_trail,
    start_warmed_stack,
    wait_for,
    webhook_requests,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.timeout(240)]

RATE = 20.0
MESSAGES = 300  # 15 s of posting
BURST = 100  # posted as fast as the API takes them just before the fault
OUTAGE_ANSWERS = 60  # keep Redis down until this many webhooks were answered meanwhile (~3 s)


def test_redis_restart_loses_nothing(make_stack, sessions, redis_server) -> None:
    stack = make_stack(broker=redis_server.url)
    warm, _ = start_warmed_stack(stack, sessions)

    poster = Poster(stack.base_url, webhook_requests(stack, MESSAGES, "redis"), rate=RATE).start()
    wait_for(
        lambda: poster.count(lambda p: p.status == 202) >= 60, 30, "60 webhooks answered before the outage"
    )
    # a burst on top, so the fault hits with a backlog queued and a batch in the worker's hands
    burst = post_all(stack.base_url, webhook_requests(stack, BURST, "burst"))
    assert {p.status for p in burst} == {202}
    redis_server.stop()
    down_at = time.monotonic()
    in_flight = poster.count(lambda p: p.status == 202) + BURST - (decided_count(sessions) - 16)
    wait_for(
        lambda: poster.count(lambda p: p.sent_at >= down_at) >= OUTAGE_ANSWERS,
        30,
        f"{OUTAGE_ANSWERS} webhooks answered while Redis is down",
    )
    redis_server.restart()
    up_at = time.monotonic()
    posted = poster.join(60)
    drain = wait_for(
        drained(sessions, 16 + BURST + MESSAGES), 120, "every message to be decided after Redis is back"
    )
    drained_at = time.monotonic()

    during = [p for p in posted if down_at <= p.sent_at < up_at]
    sent = {p.message_id for p in [*warm, *burst, *posted] if p.message_id}
    result = audit_pipeline(sessions, sent)
    figures = {
        "messages": MESSAGES + BURST,
        "rate_per_s": RATE,
        "outage_seconds": round(up_at - down_at, 2),
        "in_flight_at_outage": in_flight,
        "posted_during_outage": len(during),
        "http_errors": sum(p.status != 202 for p in posted),
        "outage_latency_p50_ms": round(percentile([p.latency for p in during], 50) * 1000, 1),
        "outage_latency_max_ms": round(max((p.latency for p in during), default=0) * 1000, 1),
        "drain_seconds_after_last_post": round(drain, 2),
        "seconds_from_broker_back_to_drained": round(drained_at - up_at, 2),
        "api_enqueue_failures_logged": log_count(stack, "left for the sweeper"),
        "sweeper_requeue_log_lines": log_count(stack, "sweeper: re-enqueued"),
        **result.figures(),
    }
    record_figures("redis_restart", figures)
    assert all(p.status == 202 for p in posted), sorted(
        {(p.status, p.error) for p in posted if p.status != 202}
    )
    assert len(during) >= OUTAGE_ANSWERS
    assert max(p.latency for p in during) < 3.0, "webhooks must not hang on a dead broker"
    result.assert_exactly_once()
    assert result.classification_failed == 0
    spot_check_audit_trail(sessions, [p.message_id for p in during[:10] if p.message_id])
