"""The pipeline benchmark's memory sampler, on this process."""

from __future__ import annotations

import os

from router.local_stack import RssSampler, rss_mb, wait_until


def test_rss_sampler_reports_the_peak_of_each_quarter() -> None:
    with RssSampler(os.getpid(), every=0.01) as sampler:
        wait_until(lambda: len(sampler.samples) >= 8, 10, "sampler took no samples")
        ballast = bytearray(64 * 1024 * 1024)  # touched below, so it is resident
        ballast[::4096] = b"x" * len(ballast[::4096])
        taken = len(sampler.samples)
        wait_until(lambda: len(sampler.samples) >= 2 * taken + 8, 10, "sampler stopped sampling")
    summary = sampler.summary()

    assert summary["samples"] == len(sampler.samples)
    assert summary["peak_quarter_4"] - summary["peak_quarter_1"] > 50  # MB: the ballast arrived late
    assert summary["peak_quarter_4"] <= rss_mb(os.getpid()) + 1
    del ballast
