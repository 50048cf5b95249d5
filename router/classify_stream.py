"""The ``frontdesk classify`` contract: JSON Lines in, one JSON line out per input, same order.

A bad line becomes an ``{"error": ...}`` line and never stops the rest; lines are classified in
chunks so a long stream is batched without holding it all in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from models.classifier import Prediction
from models.corpus import compose_text
from router.channels.cleaning import clean_subject
from router.policy import PolicyConfig, decide
from router.schemas import Channel

Predict = Callable[[Sequence[str]], list[Prediction]]
Clean = Callable[[Channel, str, str | None], str]


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    channel: Channel | None = None
    subject: str | None = None

    @field_validator("text")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value


def parse_line(line: str) -> ClassifyRequest | str:
    """The request, or a one-line reason why the line cannot be classified."""
    if not line.strip():
        return "empty line"
    try:
        payload = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(payload, dict):
        return "each line must be a JSON object with a 'text' field"
    try:
        return ClassifyRequest.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "line"
        return f"{where}: {first['msg']}"


def model_text(request: ClassifyRequest, clean: Clean | None) -> str:
    """With a channel, the text is cleaned exactly as that channel's adapter cleans it."""
    text, subject = request.text, request.subject
    if request.channel is not None and clean is not None:
        text = clean(request.channel, text, subject) or text
        subject = clean_subject(subject)
    return compose_text(text, subject)


def classify_lines(
    lines: Iterable[str],
    predict: Predict,
    model_version: str,
    policy: PolicyConfig,
    clean: Clean | None = None,
    chunk_size: int = 256,
) -> Iterator[str]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, chunk_size)):
        parsed = [parse_line(line) for line in chunk]
        requests = [p for p in parsed if isinstance(p, ClassifyRequest)]
        texts = [model_text(r, clean) for r in requests]
        predictions = iter(predict(texts))
        text_iter = iter(texts)
        for item in parsed:
            if isinstance(item, str):
                yield json.dumps({"error": item})
                continue
            prediction = next(predictions)
            decision = decide("-", next(text_iter), prediction, model_version, policy)
            yield json.dumps(
                {
                    "label": prediction.label,
                    "confidence": round(prediction.confidence, 6),
                    "scores": {k: round(v, 6) for k, v in prediction.scores.items()},
                    "route": decision.route.value,
                    "needs_review": decision.needs_review,
                }
            )
