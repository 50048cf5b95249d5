"""The serving-path classifier: ONNX Runtime + ``tokenizers`` + numpy, nothing else.

Loading it never imports torch or transformers and never touches the network, so a practice's
worker can route messages from a plain install. Batches are length-sorted, padded only to the
longest message in each and closed early rather than be mostly padding; results come back in
input order.

Threads: each ONNX Runtime call runs on one thread, and ``threads`` batches run at once. On the
2-core benchmark machine, two one-thread calls side by side classified 300 dev messages at 2.7
ms/message against 3.7 for one two-thread call at a time: at 8 messages of ~40 tokens a matrix
is too small for intra-op parallelism to pay (a single message took 3.4 ms on two threads and 3.6
on one). The same trick does not speed up DeBERTa-v3-base, whose matrices are big enough.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from models.batching import cost_partitioned_batches, rows_per_call

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "frontdesk_model.json"
# At most this many messages in one ONNX Runtime call, and at most MAX_TOKENS_PER_CALL padded
# tokens (8 messages of the full 128, as with the earlier fixed batches of 8: the largest call's
# memory is unchanged). Within those bounds ``cost_partitioned_batches`` picks the calls. One
# thread, random dev messages, ms/message: batches of 16 went 3.00 -> 2.66, of 32 3.21 -> 2.87,
# of 128 3.01 -> 2.76 against length-sorted calls of 8 closed at 20% padding; one sorted pass
# over 3,000 stayed at 2.5.
INFERENCE_BATCH = 32
MAX_TOKENS_PER_CALL = 1024


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float
    margin: float  # top-1 minus top-2 probability
    scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """What the runtime needs besides the ONNX graph and tokenizer (``frontdesk_model.json``)."""

    labels: tuple[str, ...]
    temperature: float
    max_length: int
    version: str

    @classmethod
    def read(cls, model_dir: Path) -> ModelConfig:
        raw = json.loads((model_dir / CONFIG_FILE).read_text())
        return cls(tuple(raw["labels"]), float(raw["temperature"]), int(raw["max_length"]), raw["version"])

    def write(self, model_dir: Path) -> None:
        payload = {
            "labels": list(self.labels),
            "temperature": self.temperature,
            "max_length": self.max_length,
            "version": self.version,
        }
        (model_dir / CONFIG_FILE).write_text(json.dumps(payload, indent=2) + "\n")


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    probs: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return probs


class Classifier:
    def __init__(
        self,
        model_dir: Path | str | None = None,
        threads: int | None = None,
        temperature: float | None = None,
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
        self.config = ModelConfig.read(self.model_dir)
        self.temperature = self.config.temperature if temperature is None else temperature
        self.threads = threads or usable_cpus()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(self.model_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.config.max_length)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self._pool = ThreadPoolExecutor(self.threads, "onnx") if self.threads > 1 else None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    @property
    def version(self) -> str:
        return self.config.version

    def logits(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """Raw logits in input order (calibration and parity checks need them uncalibrated)."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]

        def run(batch: list[int]) -> None:
            width = max(lengths[i] for i in batch)
            ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            (logits,) = self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
            out[batch] = logits  # each batch writes its own rows

        batches = cost_partitioned_batches(lengths, batch_size, max_tokens=MAX_TOKENS_PER_CALL)
        if self._pool is None or len(batches) == 1:
            for batch in batches:
                run(batch)
        else:
            list(self._pool.map(run, batches))  # waits for all; re-raises the first error
        return out

    def warm_up(self, batch_size: int = INFERENCE_BATCH, length_step: int = 32) -> None:
        """Run the call shapes ``logits`` can make: up to ``batch_size`` rows at a few lengths.

        ONNX Runtime sets memory aside per input shape as it meets them: a fresh session grew by
        ~34 MB over its first 50 real batches and then stayed flat. Meeting those shapes up front
        (rows × length within MAX_TOKENS_PER_CALL: 66 calls, about 2 s on one thread) makes a
        worker's memory flat from its first message.
        """
        for length in range(length_step, self.config.max_length + 1, length_step):
            for rows in range(1, rows_per_call(length, batch_size, MAX_TOKENS_PER_CALL) + 1):
                ids = np.full((rows, length), self.pad_id, dtype=np.int64)
                mask = np.ones((rows, length), dtype=np.int64)
                self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})

    def probabilities(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        return softmax(self.logits(texts, batch_size), self.temperature)

    def predict(self, texts: Sequence[str], batch_size: int = INFERENCE_BATCH) -> list[Prediction]:
        probs = self.probabilities(texts, batch_size)
        return [self._to_prediction(row) for row in probs]

    def _to_prediction(self, row: np.ndarray) -> Prediction:
        top2 = np.argsort(row)[::-1][:2]
        return Prediction(
            label=self.labels[int(top2[0])],
            confidence=float(row[top2[0]]),
            margin=float(row[top2[0]] - row[top2[1]]),
            scores={label: float(p) for label, p in zip(self.labels, row, strict=True)},
        )
