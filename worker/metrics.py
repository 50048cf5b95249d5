"""Prometheus metrics of the worker: counts and timings only, never message content."""

from prometheus_client import Counter, Histogram

DECISIONS = Counter("frontdesk_decisions_total", "Routing decisions written", ["route", "reason"])
CLASSIFY_ERRORS = Counter("frontdesk_classify_errors_total", "Messages whose classification raised")
BATCH_SIZE = Histogram(
    "frontdesk_batch_size", "Messages per classify batch", buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)
BATCH_SECONDS = Histogram("frontdesk_batch_seconds", "Time to classify and record one batch")
SWEPT = Counter("frontdesk_swept_total", "Messages re-enqueued by the sweeper")
GAVE_UP = Counter("frontdesk_gave_up_total", "Messages sent to review after max attempts")
