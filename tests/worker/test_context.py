"""The worker's context: one inference at a time per process, whatever the pool's concurrency."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from models.classifier import Prediction
from router.settings import Settings
from worker.context import WorkerContext


class RecordingClassifier:
    """Stands in for the ONNX classifier; records whether two calls ever ran at once."""

    version = "test"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.overlapped = False
        self._inside = 0
        self._guard = threading.Lock()

    def predict(self, texts: Sequence[str], batch_size: int = 8) -> list[Prediction]:
        with self._guard:
            self._inside += 1
            self.overlapped |= self._inside > 1
        self.entered.set()
        with self._guard:
            self._inside -= 1
        return []


def test_concurrent_batches_never_run_inference_at_the_same_time() -> None:
    ctx = WorkerContext(Settings())
    fake = RecordingClassifier()
    ctx.__dict__["classifier"] = fake  # the cached_property, filled before first use
    predict = ctx.predict
    ctx.inference_lock.acquire()  # a first batch is mid-inference
    other = threading.Thread(target=predict, args=(["second batch"],))
    other.start()
    # the second batch must wait for the lock: it has not reached the model
    assert not fake.entered.wait(timeout=0.3)
    ctx.inference_lock.release()
    other.join(timeout=10)
    assert fake.entered.is_set() and not fake.overlapped
