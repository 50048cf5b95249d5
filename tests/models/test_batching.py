"""Inference batches: length-sorted, every index once, and closed early rather than mostly padding."""

from __future__ import annotations

import random

import pytest

from models.batching import sorted_batches


def _padding(batch: list[int], lengths: list[int]) -> float:
    width = max(lengths[i] for i in batch)
    return 1 - sum(lengths[i] for i in batch) / (width * len(batch))


@pytest.mark.parametrize("max_padding", [None, 0.0, 0.2, 0.5])
def test_every_index_appears_once_in_length_order(max_padding: float | None) -> None:
    lengths = [random.Random(seed).randint(1, 200) for seed in range(300)]
    batches = sorted_batches(lengths, 8, max_padding)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(300))
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert all(1 <= len(batch) <= 8 for batch in batches)


def test_without_a_padding_cap_batches_are_full() -> None:
    lengths = [5, 100, 6, 90, 7, 80, 8, 70, 9]
    assert [len(b) for b in sorted_batches(lengths, 4)] == [4, 4, 1]


def test_a_batch_closes_before_it_would_be_more_than_the_cap_padding() -> None:
    # four short messages and two long ones: padding the short ones to 100 tokens would be ~90% padding
    lengths = [10, 11, 12, 10, 100, 98]
    batches = sorted_batches(lengths, 8, max_padding=0.2)
    assert [sorted(lengths[i] for i in b) for b in batches] == [[10, 10, 11, 12], [98, 100]]
    assert all(_padding(b, lengths) <= 0.2 for b in batches)


def test_the_cap_holds_for_every_multi_message_batch() -> None:
    rng = random.Random(7)
    lengths = [rng.randint(1, 256) for _ in range(500)]
    for batch in sorted_batches(lengths, 8, max_padding=0.2):
        assert len(batch) == 1 or _padding(batch, lengths) <= 0.2
