"""Fixtures for the model tests: a tiny encoder and a tiny corpus, so training takes seconds on CPU."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from models.corpus import load_corpus
from models.labels import INTENTS


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-wide BERT with the real MiniLM tokenizer, saved as a local HF folder."""
    transformers = pytest.importorskip("transformers")
    from models.training_args import default_base_model

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_encoder")
    config = transformers.BertConfig(
        vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128
    )
    transformers.BertModel(config).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(default_base_model()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight messages per intent for training, three per intent for dev, from the real corpus."""
    folder = tmp_path_factory.mktemp("tiny_corpus")
    rng = random.Random(0)
    examples = load_corpus()
    rng.shuffle(examples)
    rows, dev_keys = [], []
    for label in INTENTS:
        chosen = [e for e in examples if e.label == label][:11]
        for i, e in enumerate(chosen):
            row = {"text": e.text, "label": e.label, "channel": e.channel, "style": e.style}
            if e.subject:
                row["subject"] = e.subject
            if e.hard:
                row["hard"] = e.hard
            rows.append(row)
            if i >= 8:
                dev_keys.append(e.key)
    (folder / "part1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "dev_split.txt").write_text("\n".join(dev_keys) + "\n")
    return folder
