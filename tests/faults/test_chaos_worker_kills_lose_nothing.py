"""Chaos: webhooks at a steady rate while a background thread kill -9s and restarts the two workers
at random intervals. Afterwards every 202 id is decided, exactly once (one current decision, one
'decided' audit event), whatever batches were cut short and whatever the broker still held unacked.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest

from router.local_stack import LocalStack
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

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.timeout(300)]

RATE = float(os.environ.get("FRONTDESK_FAULT_CHAOS_RATE", "20"))
SECONDS = float(os.environ.get("FRONTDESK_FAULT_CHAOS_SECONDS", "20"))
WORKERS = 2
KILL_EVERY = (1.5, 4.0)  # seconds between kills, uniform


class Killer(threading.Thread):
    """Every few seconds: SIGKILL a random live worker and start its replacement at once."""

    def __init__(self, stack: LocalStack, live: list, poster: Poster, sessions, seed: int) -> None:
        super().__init__(name="killer", daemon=True)
        self.stack = stack
        self.live = live
        self.poster = poster
        self.sessions = sessions
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.kills: list[dict[str, float]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.wait(self.random.uniform(*KILL_EVERY)):  # pacing, not synchronisation
                victim = self.live.pop(self.random.randrange(len(self.live)))
                answered = self.poster.count(lambda p: p.status == 202)
                decided = decided_count(self.sessions)
                self.stack.kill(victim)
                at = round(time.monotonic() - self.poster.started_at, 2)
                self.kills.append({"at_s": at, "in_flight": answered + WARM_UP - decided})
                self.live.append(self.stack.start_worker())
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def test_chaos_worker_kills_lose_nothing(make_stack, sessions) -> None:
    stack = make_stack()
    warm, live = start_warmed_stack(stack, sessions, workers=WORKERS)

    messages = int(RATE * SECONDS)
    seed = int(os.environ.get("FRONTDESK_FAULT_CHAOS_SEED", str(int(time.time()))))
    poster = Poster(stack.base_url, webhook_requests(stack, messages, "chaos"), rate=RATE).start()
    killer = Killer(stack, live, poster, sessions, seed)
    killer.start()
    posted = poster.join(SECONDS + 60)
    killer.stop.set()
    killer.join(60)
    assert killer.error is None, f"the killer thread failed: {killer.error!r}"
    assert not killer.is_alive()
    assert len(killer.kills) >= 3, "chaos needs a few kills to mean anything"
    drain = wait_for(
        drained(sessions, WARM_UP + messages), 180, "every message to be decided after the chaos"
    )

    sent = {p.message_id for p in [*warm, *posted] if p.message_id}
    result = audit_pipeline(sessions, sent)
    post_seconds = poster.finished_at - poster.started_at
    figures = {
        "messages": messages,
        "rate_per_s": RATE,
        "post_seconds": round(post_seconds, 2),
        "seed": seed,
        "workers": WORKERS,
        "kills": len(killer.kills),
        "kill_log": killer.kills,
        "max_in_flight_at_a_kill": max(k["in_flight"] for k in killer.kills),
        "http_errors": sum(p.status != 202 for p in posted),
        "drain_seconds_after_last_post": round(drain, 2),
        "sweeper_requeue_log_lines": log_count(stack, "sweeper: re-enqueued"),
        **result.figures(),
    }
    record_figures("chaos_worker_kills", figures)
    assert all(p.status == 202 for p in posted), sorted(
        {(p.status, p.error) for p in posted if p.status != 202}
    )
    result.assert_exactly_once()
    assert result.sent == result.decided
    spot_check_audit_trail(sessions, sorted(sent)[:20])
