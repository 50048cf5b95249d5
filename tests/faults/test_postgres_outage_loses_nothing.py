"""Postgres is cut off for a few seconds (a TCP proxy drops every connection and refuses new ones).

The API answers 503 with Retry-After for what it could not store, never 202; the worker's batches
back off and give up without writing half a batch; once the database is back the sweeper re-enqueues
what was left 'received', and the senders' retries of the 503s are accepted. Afterwards every 202 id
is in the database and every stored message has exactly one decision and one queue item.
"""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from tests.faults.support import (
    WARM_UP,
    Poster,
    TcpProxy,
    audit_pipeline,
    drained,
    log_count,
    post_all,
    post_through_outage,
    record_figures,
    spot_check_audit_trail,
    start_warmed_stack,
    wait_for,
    webhook_requests,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.timeout(240)]

RATE = 20.0
MESSAGES = 240  # 12 s of posting
BURST = 100  # posted as fast as the API takes them just before the fault
OUTAGE_ANSWERS = 60  # keep the database away until this many webhooks were answered meanwhile (~3 s)


@pytest.fixture
def postgres_proxy(database_url: str):
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.close()


def test_postgres_outage_loses_nothing(make_stack, sessions, postgres_proxy) -> None:
    proxy, proxied_url = postgres_proxy
    stack = make_stack(database=proxied_url)
    warm, _ = start_warmed_stack(stack, sessions)

    poster = Poster(stack.base_url, webhook_requests(stack, MESSAGES, "pg"), rate=RATE).start()
    outage = post_through_outage(
        stack,
        sessions,
        poster,
        answered_before=50,
        burst=BURST,
        outage_answers=OUTAGE_ANSWERS,
        go_down=proxy.outage,
        come_back=proxy.recover,
        what="the database is away",
    )
    posted, up_at = outage.posted, outage.up_at

    refused = [p for p in posted if p.status != 202]
    # what a webhook sender does with a 503: send the same webhook again later
    retried = post_all(stack.base_url, [p.request for p in refused]) if refused else []
    drain = wait_for(
        drained(sessions, WARM_UP + BURST + MESSAGES),
        120,
        "every message to be decided after the database is back",
    )

    during = outage.during
    # sent and answered while the database was away (a request sent late in the outage may be
    # served after the recovery: the API works through its backlog, so it may rightly get a 202)
    inside = [p for p in during if p.sent_at + p.latency <= up_at]
    sent = {p.message_id for p in [*warm, *outage.burst, *posted, *retried] if p.message_id}
    result = audit_pipeline(sessions, sent)
    figures = {
        "messages": MESSAGES + BURST,
        "rate_per_s": RATE,
        "outage_seconds": round(up_at - outage.down_at, 2),
        "connections_cut": proxy.aborted,
        "in_flight_at_outage": outage.in_flight,
        "posted_during_outage": len(during),
        "sent_and_answered_during_outage": len(inside),
        "answered_202_during_outage": sum(p.status == 202 for p in inside),
        "answered_503": sum(p.status == 503 for p in posted),
        "other_statuses": sorted({p.status for p in posted} - {202, 503}),
        "retried_503_accepted": sum(p.status == 202 for p in retried),
        "retried_503_already_stored": sum(p.duplicate for p in retried),
        "worker_db_retry_log_lines": log_count(stack, "database unavailable (attempt"),
        "worker_batches_given_up": log_count(stack, "] Error: OperationalError"),
        "sweeper_requeue_log_lines": log_count(stack, "sweeper: re-enqueued"),
        "drain_seconds_after_retries": round(drain, 2),
        **result.figures(),
    }
    record_figures("postgres_outage", figures)

    assert {p.status for p in posted} <= {202, 503}, sorted({(p.status, p.error) for p in posted})
    assert refused, "the outage should have refused some webhooks"
    assert figures["answered_202_during_outage"] == 0, "a webhook cannot be stored while the database is away"
    assert all(p.retry_after for p in refused), "every 503 must say when to retry"
    assert all(p.status == 202 for p in retried), sorted({p.status for p in retried})
    result.assert_exactly_once()
    assert result.stored == sent, "every stored message was acknowledged to its sender (after the retries)"
    assert result.classification_failed == 0
    spot_check_audit_trail(sessions, [p.message_id for p in retried[:10] if p.message_id])
