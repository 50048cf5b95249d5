"""kill -9 of the only worker while it works through a backlog: every message is still decided once.

The killed worker held a batch being classified and up to ``prefetch`` more messages unacked in
Redis (redelivered only after the hour-long visibility timeout): the sweeper must re-enqueue them,
and the replacement worker must not decide anything twice.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.faults.support import (
    WARM_UP,
    Poster,
    audit_pipeline,
    decided_count,
    drained,
    log_count,
    record_figures,
    spot_check_audit_trail,
    start_warmed_stack,
    wait_for,
    webhook_requests,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.timeout(240)]

MESSAGES = 200


def test_worker_killed_mid_batch_loses_nothing(make_stack, sessions, broker_url) -> None:
    stack = make_stack()
    warm, (worker,) = start_warmed_stack(stack, sessions)

    poster = Poster(stack.base_url, webhook_requests(stack, MESSAGES, "kill"), rate=100).start()
    # kill while the backlog is being worked through: some of this run decided, far from all
    wait_for(lambda: decided_count(sessions) >= WARM_UP + 40, 60, "the worker to decide 40 of the run")
    stack.kill(worker)
    killed_at = time.monotonic()
    decided_at_kill = decided_count(sessions) - WARM_UP
    answered_at_kill = poster.count(lambda p: p.status == 202)
    # what the dead worker had taken from the queue and not acked (kombu's Redis transport keeps
    # it in the 'unacked' hash until the visibility timeout, an hour): only the sweeper saves these
    stranded = redis.Redis.from_url(broker_url).hlen("unacked")
    posted = poster.join(60)
    assert all(p.status == 202 for p in posted), {p.status for p in posted}
    assert decided_count(sessions) - WARM_UP == decided_at_kill, "nothing is decided with no worker running"

    stack.start_worker()
    recovery = wait_for(
        drained(sessions, WARM_UP + MESSAGES), 120, "every message to be decided after the restart"
    )

    sent = {p.message_id for p in [*warm, *posted] if p.message_id}
    result = audit_pipeline(sessions, sent)
    figures = {
        "messages": MESSAGES,
        "decided_before_kill": decided_at_kill,
        "in_flight_at_kill": answered_at_kill - decided_at_kill,
        "unacked_in_broker_after_kill": stranded,
        "undecided_at_kill_incl_not_yet_posted": MESSAGES - decided_at_kill,
        "recovery_seconds_after_restart": round(recovery, 2),
        "seconds_from_kill_to_drained": round(time.monotonic() - killed_at, 2),
        "sweeper_requeue_log_lines": log_count(stack, "sweeper: re-enqueued"),
        **result.figures(),
    }
    record_figures("worker_killed_mid_batch", figures)
    result.assert_exactly_once()
    assert result.classification_failed == 0, "no message should have been given up on"
    spot_check_audit_trail(sessions, sorted(sent)[:10])
