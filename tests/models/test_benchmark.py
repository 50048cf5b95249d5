"""The classifier benchmark's timing helpers, on stand-in predictors with known relative cost."""

from __future__ import annotations

from collections.abc import Sequence

from models.benchmark import paired_speedup, time_batched


def work(units: int) -> object:
    def predict(texts: Sequence[str]) -> list[int]:
        return [sum(range(units)) for _ in texts]

    return predict


def test_paired_speedup_brackets_each_slow_pass_with_fast_ones() -> None:
    texts = ["message"] * 40
    result = paired_speedup(work(2_000), work(40_000), texts, rounds=3)

    assert len(result["ratios"]) == 3
    assert len(result["fast_runs_ms_per_message"]) == 4
    assert len(result["slow_batched"]["runs_ms_per_message"]) == 3
    assert 5 < result["median_ratio"] < 80  # 20× the work, on a shared machine


def test_time_batched_reports_the_median_pass() -> None:
    result = time_batched(work(1_000), ["m"] * 20, repeats=5)
    runs = sorted(result["runs_ms_per_message"])
    assert len(runs) == 5
    assert result["ms_per_message"] == runs[2]
    assert abs(result["messages_per_s"] - 1000 / runs[2]) < 1e-6
