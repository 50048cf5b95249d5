"""What a worker process holds for its lifetime: one classifier, one session factory, the policy.

Built lazily on first use, in the process that runs the tasks (after the pool forks), so each
process owns its ONNX Runtime session with an explicit thread count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

    @cached_property
    def classifier(self) -> Classifier:
        return Classifier(self.settings.model_dir, threads=self.settings.onnx_threads)

    @property
    def predict(self) -> Predict:
        if self.predict_override is not None:
            return self.predict_override
        classifier = self.classifier
        return lambda texts: classifier.predict(texts, batch_size=self.settings.inference_batch_size)

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
