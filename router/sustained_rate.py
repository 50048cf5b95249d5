"""The highest arrival rate a pipeline keeps up with: a bisection over open-loop trials.

Why not just post as fast as possible and divide: a burst measures something else. The load
generator then takes as much CPU as the API can answer, the worker falls behind while the API
runs, and the backlog is drained afterwards with the API's cores idle, so the figure mixes the
pipeline's cost with how the operating system shared the cores during the burst. A practice's
traffic arrives at a rate; the question is the highest rate at which decisions keep pace.

A trial posts at a fixed rate and passes when every message is decided within
``max_drain_seconds`` of the last post: a pipeline that keeps up has only its latency left to
drain, one that does not has a backlog that grows with the trial's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RateTrial:
    rate: float  # messages per second offered
    messages: int
    http_errors: int
    drain_seconds: float  # from the last answered post to the last decision
    end_to_end_messages_per_s: float  # messages / (last decision - first post)
    passed: bool
    cpu_ms_per_message: dict[str, float] = field(default_factory=dict)  # by process group

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_sustained_rate(
    trial: Callable[[float], RateTrial], low: float, high: float, steps: int
) -> tuple[RateTrial | None, list[RateTrial]]:
    """Bisect between ``low`` and ``high`` messages/s; return the best passing trial and all trials.

    The best trial is the passing one with the highest offered rate, or None when none passed
    (the pipeline could not keep up even near ``low``).
    """
    trials: list[RateTrial] = []
    best: RateTrial | None = None
    for _ in range(steps):
        middle = (low + high) / 2
        result = trial(middle)
        trials.append(result)
        if result.passed:
            best, low = result, middle
        else:
            high = middle
    return best, trials
