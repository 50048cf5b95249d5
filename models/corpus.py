"""Loading the labelled corpus and the fixed train/dev split.

The dev split is chosen once, stratified by label and by kind (realism mix vs. hard), and the
chosen message hashes are checked in (``data/dev_split.txt``) so that every run, on every
machine, evaluates on exactly the same held-out messages and training never sees them.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from models.labels import INTENTS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEV_SPLIT_FILE = DATA_DIR / "dev_split.txt"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message; ``hard`` is the corpus's hard-case tag ("1".."7") or None."""

    text: str
    label: str
    channel: str | None = None
    style: str | None = None
    subject: str | None = None
    hard: str | None = None
    source: str | None = None

    @property
    def model_text(self) -> str:
        return compose_text(self.text, self.subject)

    @property
    def key(self) -> str:
        return message_key(self.model_text)


def compose_text(text: str, subject: str | None = None) -> str:
    """The exact string the model sees: an email's subject line counts as part of its text."""
    text = text.strip()
    subject = (subject or "").strip()
    return f"{subject}\n{text}" if subject else text


def message_key(model_text: str) -> str:
    """A stable id for a message: duplicated texts share a key and so land on the same side."""
    normalised = " ".join(model_text.lower().split())
    return hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:16]


def read_jsonl(path: Path) -> Iterator[Example]:
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("label") not in INTENTS:
                raise ValueError(f"{path}:{line_no}: unknown label {row.get('label')!r}")
            yield Example(
                text=row["text"],
                label=row["label"],
                channel=row.get("channel"),
                style=row.get("style"),
                subject=row.get("subject") or None,
                hard=row.get("hard"),
                source=row.get("source"),
            )


def load_corpus(data_dir: Path = DATA_DIR) -> list[Example]:
    """Every corpus part (``part*.jsonl``) in file order."""
    examples: list[Example] = []
    for path in sorted(data_dir.glob("part*.jsonl")):
        examples.extend(read_jsonl(path))
    return examples


def choose_dev_keys(examples: Iterable[Example], fraction: float = 0.1, seed: int = 13) -> set[str]:
    """Stratified by (label, hard or not): about ``fraction`` of each stratum goes to dev."""
    strata: dict[tuple[str, bool], list[str]] = defaultdict(list)
    seen: set[str] = set()
    for example in examples:
        if example.key in seen:
            continue
        seen.add(example.key)
        strata[(example.label, example.hard is not None)].append(example.key)
    rng = random.Random(seed)
    chosen: set[str] = set()
    for stratum in sorted(strata):
        keys = sorted(strata[stratum])
        rng.shuffle(keys)
        chosen.update(keys[: round(len(keys) * fraction)])
    return chosen


def read_dev_keys(path: Path = DEV_SPLIT_FILE) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def split_corpus(
    examples: list[Example], dev_keys: set[str] | None = None
) -> tuple[list[Example], list[Example]]:
    """(train, dev) by the checked-in dev keys."""
    keys = read_dev_keys() if dev_keys is None else dev_keys
    train = [e for e in examples if e.key not in keys]
    dev = [e for e in examples if e.key in keys]
    return train, dev
