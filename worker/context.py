"""What a worker process holds for its lifetime: one classifier, one session factory, the policy.

Built lazily on first use, in the process that runs the tasks (after the pool forks), so each
process owns its ONNX Runtime session with an explicit thread count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from models.classifier import Classifier, Prediction
from router.db import session_factory_for_url
from router.policy import PolicyConfig
from router.settings import Settings

Predict = Callable[[Sequence[str]], list[Prediction]]


@dataclass
class WorkerContext:
    settings: Settings
    predict_override: Predict | None = None  # tests wrap the real classifier here
    # One inference at a time per process: ``onnx_threads`` is the process's whole compute budget
    # for the model, whatever the pool's concurrency; the other pool threads meanwhile load and
    # write their batches.
    inference_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def classifier(self) -> Classifier:
        classifier = Classifier(self.settings.model_dir, threads=self.settings.onnx_threads)
        if self.settings.worker_warm_up:
            classifier.warm_up(self.settings.inference_batch_size)
        return classifier

    @property
    def predict(self) -> Predict:
        if self.predict_override is not None:
            return self.predict_override
        classifier = self.classifier
        batch_size = self.settings.inference_batch_size

        def predict(texts: Sequence[str]) -> list[Prediction]:
            with self.inference_lock:
                return classifier.predict(texts, batch_size=batch_size)

        return predict

    @property
    def model_version(self) -> str:
        return self.classifier.version

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return session_factory_for_url(self.settings.database_url)

    @cached_property
    def policy(self) -> PolicyConfig:
        return PolicyConfig(
            threshold=self.settings.review_threshold,
            margin=self.settings.review_margin,
            intent_thresholds=self.settings.intent_thresholds,
        )
