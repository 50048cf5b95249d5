"""The ``frontdesk classify`` contract, with a stand-in model so each rule is checked exactly."""

from __future__ import annotations

import json
from collections.abc import Sequence

from models.classifier import Prediction
from models.labels import INTENTS
from router.classify_stream import classify_lines
from router.policy import PolicyConfig
from router.schemas import Channel


def keyword_model(texts: Sequence[str]) -> list[Prediction]:
    """'bill' → billing with 0.9; anything else → appointment with 0.4 (under the threshold)."""
    out = []
    for text in texts:
        label, confidence = ("billing_inquiry", 0.9) if "bill" in text else ("appointment_request", 0.4)
        rest = (1 - confidence) / (len(INTENTS) - 1)
        scores = {name: (confidence if name == label else rest) for name in INTENTS}
        out.append(Prediction(label, confidence, confidence - rest, scores))
    return out


def run(lines: list[str], **kwargs: object) -> list[dict[str, object]]:
    return [
        json.loads(out)
        for out in classify_lines(lines, keyword_model, "v-test", PolicyConfig(threshold=0.5), **kwargs)
    ]  # type: ignore[arg-type]


def test_one_output_per_input_in_order_with_errors_in_place() -> None:
    lines = [
        json.dumps({"text": "question about my bill"}),
        "{not json",
        json.dumps({"text": "   "}),
        json.dumps(["text"]),
        json.dumps({"message": "no text field"}),
        "",
        json.dumps({"text": "can i come thursday", "channel": "sms"}),
        json.dumps({"text": "hi", "channel": "fax"}),
    ]
    out = run(lines)
    assert len(out) == len(lines)
    assert (
        out[0]["label"] == "billing_inquiry"
        and out[0]["route"] == "billing"
        and out[0]["needs_review"] is False
    )
    assert "invalid JSON" in str(out[1]["error"])
    assert "empty" in str(out[2]["error"])
    assert "JSON object" in str(out[3]["error"])
    assert "text" in str(out[4]["error"])
    assert out[5] == {"error": "empty line"}
    assert (
        out[6]["label"] == "appointment_request"
        and out[6]["needs_review"] is True
        and out[6]["route"] == "review"
    )
    assert "channel" in str(out[7]["error"])


def test_output_fields_and_probabilities() -> None:
    (row,) = run([json.dumps({"text": "bill"})])
    assert set(row) == {"label", "confidence", "scores", "route", "needs_review"}
    assert set(row["scores"]) == set(INTENTS)  # type: ignore[arg-type]
    assert abs(sum(row["scores"].values()) - 1) < 1e-4  # type: ignore[union-attr]


def test_batches_across_chunks_keep_order() -> None:
    lines = [json.dumps({"text": "bill" if i % 3 == 0 else "appt"}) for i in range(1000)]
    out = run(lines, chunk_size=64)
    assert [row["label"] == "billing_inquiry" for row in out] == [i % 3 == 0 for i in range(1000)]


def test_subject_and_channel_cleaning_reach_the_model() -> None:
    seen: list[str] = []

    def spy(texts: Sequence[str]) -> list[Prediction]:
        seen.extend(texts)
        return keyword_model(texts)

    def clean(channel: Channel, text: str, subject: str | None) -> str:
        return text.split("\n>")[0]

    line = json.dumps({"text": "Move it to Friday\n> old quoted bill", "channel": "email", "subject": "Appt"})
    list(classify_lines([line], spy, "v", PolicyConfig(), clean=clean))
    assert seen == ["Appt\nMove it to Friday"]
