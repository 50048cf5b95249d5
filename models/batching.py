"""Length-bucketed batches: padding dominates the cost of short messages on a CPU.

Sorting by length inside shuffled mega-batches keeps batches homogeneous in length (little
padding, about twice as fast on this corpus) while the batch order stays random.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, bucket_factor: int = 50
) -> list[list[int]]:
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    mega = batch_size * bucket_factor
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def random_batches(count: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    order = list(range(count))
    rng.shuffle(order)
    return [order[i : i + batch_size] for i in range(0, count, batch_size)]


def sorted_batches(
    lengths: Sequence[int], batch_size: int, max_padding: float | None = None
) -> list[list[int]]:
    """Deterministic length-sorted batches for inference; callers restore the input order.

    ``max_padding`` closes a batch early when adding the next (longer) message would make more
    than that fraction of the batch's tokens padding. Why: a worker's batch under light load
    holds a handful of messages of unrelated lengths, and padding eight of them to the longest
    cost more than running them in smaller groups (measured on one ONNX thread, batches of 8
    random dev messages: 10.4 ms/message in one group of 8, 5.9 one by one).
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if max_padding is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i in order:
        width = max(lengths[i], 1)
        padded = (len(current) + 1) * width
        if current and (len(current) == batch_size or 1 - (tokens + width) / padded > max_padding):
            batches.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += width
    if current:
        batches.append(current)
    return batches
