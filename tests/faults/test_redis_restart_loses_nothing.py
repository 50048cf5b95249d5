"""The broker restarts (with no persistence) while webhooks arrive and the worker works: nothing lost.

While Redis is down the API still answers 202 at once (the message is committed first; the failed
publish is logged and swallowed), the worker and beat reconnect by themselves, and the sweeper
re-enqueues whatever the restart wiped from the queue or never reached it.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.support import (
    WARM_UP,
    Poster,
    audit_pipeline,
    drained,
    log_count,
    percentile,
    post_through_outage,
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
    outage = post_through_outage(
        stack,
        sessions,
        poster,
        answered_before=60,
        burst=BURST,
        outage_answers=OUTAGE_ANSWERS,
        go_down=redis_server.stop,
        come_back=redis_server.restart,
        what="Redis is down",
    )
    posted, during, up_at = outage.posted, outage.during, outage.up_at
    drain = wait_for(
        drained(sessions, WARM_UP + BURST + MESSAGES), 120, "every message to be decided after Redis is back"
    )
    drained_at = time.monotonic()

    sent = {p.message_id for p in [*warm, *outage.burst, *posted] if p.message_id}
    result = audit_pipeline(sessions, sent)
    figures = {
        "messages": MESSAGES + BURST,
        "rate_per_s": RATE,
        "outage_seconds": round(up_at - outage.down_at, 2),
        "in_flight_at_outage": outage.in_flight,
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
