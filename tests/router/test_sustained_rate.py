"""The sustained-rate search, against pipelines whose capacity the test knows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from router.sustained_rate import RateTrial, find_sustained_rate


def pipeline_with_capacity(capacity: float, tried: list[float]) -> Callable[[float], RateTrial]:
    def trial(rate: float) -> RateTrial:
        tried.append(rate)
        keeps_up = rate <= capacity
        return RateTrial(
            rate=rate,
            messages=int(rate * 10),
            http_errors=0,
            drain_seconds=0.1 if keeps_up else 5.0,
            end_to_end_messages_per_s=min(rate, capacity) * 0.99,
            passed=keeps_up,
        )

    return trial


@pytest.mark.parametrize("capacity", [45.0, 120.0, 180.0, 199.0])
def test_the_search_ends_within_one_step_below_the_capacity(capacity: float) -> None:
    tried: list[float] = []
    best, trials = find_sustained_rate(pipeline_with_capacity(capacity, tried), 40.0, 200.0, steps=5)
    step = (200.0 - 40.0) / 2**5
    assert best is not None and best.passed
    assert capacity - step <= best.rate <= capacity
    assert [t.rate for t in trials] == tried and len(tried) == 5


def test_a_pipeline_that_never_keeps_up_has_no_sustained_rate() -> None:
    tried: list[float] = []
    best, trials = find_sustained_rate(pipeline_with_capacity(10.0, tried), 40.0, 200.0, steps=3)
    assert best is None
    assert all(not t.passed for t in trials)
    assert tried == sorted(tried, reverse=True), "each failure should move the search down"
