"""CPU seconds spent by each part of a local deployment, for the pipeline benchmark's cost breakdown.

On one machine the load generator, the API, the workers, Postgres and Redis share the same cores,
so throughput alone cannot say which part costs what; CPU time per message can.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psutil


def _tree_cpu(pid: int) -> float:
    """User + system seconds of a process and its live children (a Celery worker forks its pool)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _named_cpu(names: Iterable[str]) -> float:
    wanted = set(names)
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] in wanted and process.info["cpu_times"] is not None:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def cpu_snapshot(pids: Mapping[str, Iterable[int]]) -> dict[str, float]:
    """CPU seconds so far of each named group of process trees, of this process, and of the servers."""
    own = psutil.Process().cpu_times()
    snapshot = {name: sum(_tree_cpu(pid) for pid in group) for name, group in pids.items()}
    snapshot["load_generator"] = own.user + own.system
    snapshot["postgres"] = _named_cpu(["postgres"])
    snapshot["redis"] = _named_cpu(["redis-server"])
    return snapshot


def cpu_ms_per_message(
    before: Mapping[str, float], after: Mapping[str, float], messages: int
) -> dict[str, float]:
    out = {name: 1000 * (after[name] - before[name]) / messages for name in after}
    out["total"] = sum(out.values())
    return out
