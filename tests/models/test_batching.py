"""Inference batches: every index once, length-sorted, within the bounds, and the cheapest split."""

from __future__ import annotations

import itertools
import random

import pytest

from models.batching import CallCost, cost_partitioned_batches, sorted_batches


def _total_cost(batches: list[list[int]], lengths: list[int], cost: CallCost) -> float:
    return sum(cost.of(len(b), max(lengths[i] for i in b)) for b in batches)


def _cheapest_by_brute_force(lengths: list[int], max_rows: int, cost: CallCost) -> float:
    """Every split of the length-sorted order into consecutive runs."""
    widths = sorted(lengths)
    n = len(widths)
    best = float("inf")
    for cuts in itertools.product([False, True], repeat=n - 1):
        bounds = [0, *(i + 1 for i, cut in enumerate(cuts) if cut), n]
        runs = list(itertools.pairwise(bounds))
        if any(end - start > max_rows for start, end in runs):
            continue
        best = min(best, sum(cost.of(end - start, widths[end - 1]) for start, end in runs))
    return best


def test_sorted_batches_are_full_and_in_length_order() -> None:
    lengths = [5, 100, 6, 90, 7, 80, 8, 70, 9]
    batches = sorted_batches(lengths, 4)
    assert [len(b) for b in batches] == [4, 4, 1]
    assert [lengths[i] for b in batches for i in b] == sorted(lengths)


@pytest.mark.parametrize(
    ("max_rows", "max_tokens"), [(1, None), (8, None), (32, None), (32, 1024), (64, 300)]
)
def test_every_index_appears_once_in_length_order_within_the_bounds(
    max_rows: int, max_tokens: int | None
) -> None:
    rng = random.Random(max_rows)
    lengths = [rng.randint(1, 128) for _ in range(300)]
    batches = cost_partitioned_batches(lengths, max_rows, max_tokens=max_tokens)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(300))
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert all(1 <= len(batch) <= max_rows for batch in batches)
    if max_tokens is not None:
        for batch in batches:
            assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= max_tokens


@pytest.mark.parametrize("seed", range(12))
def test_the_split_is_the_cheapest_one(seed: int) -> None:
    rng = random.Random(seed)
    lengths = [rng.choice([rng.randint(3, 20), rng.randint(20, 128)]) for _ in range(rng.randint(1, 11))]
    cost = CallCost()
    batches = cost_partitioned_batches(lengths, 4, cost)
    assert _total_cost(batches, lengths, cost) == pytest.approx(_cheapest_by_brute_force(lengths, 4, cost))


def test_short_messages_share_one_call_and_a_long_one_is_not_padded_with_them() -> None:
    lengths = [12] * 20 + [120]
    batches = cost_partitioned_batches(lengths, 32)
    assert sorted(len(b) for b in batches) == [1, 20]
    assert [lengths[i] for i in batches[-1]] == [120]


def test_no_messages_no_batches() -> None:
    assert cost_partitioned_batches([], 32) == []
