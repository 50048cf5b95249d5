"""The pipeline benchmark's CPU accounting, on this process."""

from __future__ import annotations

import os
import time

from router.process_cpu import cpu_ms_per_message, cpu_snapshot


def test_cpu_spent_here_shows_up_in_this_process_and_the_total() -> None:
    groups = {"me": [os.getpid()]}
    before = cpu_snapshot(groups)
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # burn 0.2 s of CPU
        pass
    per_message = cpu_ms_per_message(before, cpu_snapshot(groups), messages=10)

    assert per_message["me"] >= 15  # 200 ms over 10 messages, less clock-tick rounding
    assert per_message["load_generator"] >= 15
    assert {"postgres", "redis"} <= per_message.keys()
    parts = sum(v for k, v in per_message.items() if k != "total")
    assert abs(per_message["total"] - parts) < 1e-9
