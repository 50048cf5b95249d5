"""Counts and realism statistics of the corpus, for its data card (``data/README.md``).

The card is generated from the data (``frontdesk data-card``) so that its numbers cannot drift
from the files they describe.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from models.corpus import Example

GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|dear|greetings)\b", re.I)
ABBREVIATION = re.compile(r"\b(u|ur|appt|tmrw|yr|pls|thx|rx|ins)\b", re.I)
ALL_CAPS_PHRASE = re.compile(r"\b[A-Z]{3,}(\s+[A-Z]{2,})+\b")


@dataclass(frozen=True)
class RealismStats:
    n: int
    greeting: float
    no_greeting: float
    abbreviations: float
    no_final_punctuation: float
    all_caps: float
    mean_words: float


def realism_stats(examples: Sequence[Example]) -> RealismStats:
    n = len(examples) or 1
    greeting = sum(bool(GREETING.search(e.text)) for e in examples) / n
    return RealismStats(
        n=len(examples),
        greeting=greeting,
        no_greeting=1 - greeting,
        abbreviations=sum(bool(ABBREVIATION.search(e.text)) for e in examples) / n,
        no_final_punctuation=sum(e.text.strip()[-1:] not in ".!?" for e in examples) / n,
        all_caps=sum(bool(ALL_CAPS_PHRASE.search(e.text)) for e in examples) / n,
        mean_words=sum(len(e.text.split()) for e in examples) / n,
    )


def count_table(title: str, rows: dict[str, Counter[str]], keys: Sequence[str]) -> str:
    columns = list(rows)
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key in keys:
        lines.append(f"| `{key}` | " + " | ".join(str(rows[c].get(key, 0)) for c in columns) + " |")
    lines.append("| **total** | " + " | ".join(str(sum(rows[c].values())) for c in columns) + " |")
    return "\n".join(lines)
