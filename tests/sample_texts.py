"""A handful of ordinary patient messages, one or two per intent, for tests that need text, not the corpus."""

from __future__ import annotations

SAMPLE_TEXTS = (
    "need to move my cleaning thursday to next week",
    "why was I charged $382 when my copay is $40",
    "are you accepting new patients? just moved here",
    "my rash is spreading and now it's blistering",
    "how much is a cleaning without insurance",
    "nobody has called me back in 3 days, this is ridiculous",
    "can you send my records to my new employer's form",
)
