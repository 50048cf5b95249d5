from __future__ import annotations

import pytest

from models.classifier import Prediction
from models.labels import INTENTS
from router.policy import DEPARTMENT_OF_INTENT, PolicyConfig, decide
from router.red_flags import find_red_flag
from router.schemas import Department, Priority


def prediction(label: str, confidence: float, runner_up: float) -> Prediction:
    others = [name for name in INTENTS if name != label]
    rest = (1 - confidence - runner_up) / (len(others) - 1)
    scores = {name: rest for name in others}
    scores[others[0]] = runner_up
    scores[label] = confidence
    return Prediction(label, confidence, confidence - runner_up, scores)


def test_confident_clear_messages_go_to_their_department() -> None:
    for intent, department in DEPARTMENT_OF_INTENT.items():
        decision = decide("m1", "text", prediction(intent, 0.99, 0.005), "v1")
        assert decision.route == department and not decision.needs_review and decision.reason == "model"
        assert decision.model_version == "v1" and decision.decided_by == "model"


def test_low_confidence_goes_to_review() -> None:
    decision = decide(
        "m1", "text", prediction("billing_inquiry", 0.45, 0.10), "v1", PolicyConfig(threshold=0.5)
    )
    assert (
        decision.route == Department.review and decision.needs_review and decision.reason == "low_confidence"
    )


def test_two_way_messages_go_to_review_on_margin() -> None:
    decision = decide(
        "m1", "text", prediction("complaint", 0.55, 0.40), "v1", PolicyConfig(threshold=0.5, margin=0.2)
    )
    assert decision.needs_review and decision.reason == "low_margin"


def test_per_intent_threshold_overrides_the_default() -> None:
    strict = PolicyConfig(threshold=0.5, margin=0.0, intent_thresholds={"clinical_concern": 0.95})
    assert decide("m", "t", prediction("clinical_concern", 0.9, 0.05), "v", strict).needs_review
    assert not decide("m", "t", prediction("billing_inquiry", 0.9, 0.05), "v", strict).needs_review


def test_red_flag_forces_urgent_clinical_whatever_the_model_says() -> None:
    decision = decide(
        "m1",
        "need to reschedule, also having chest pain since this morning",
        prediction("appointment_request", 0.99, 0.0),
        "v1",
    )
    assert decision.route == Department.clinical and decision.priority == Priority.urgent
    assert (
        decision.reason == "red_flag:chest_pain"
        and decision.decided_by == "rule"
        and not decision.needs_review
    )
    assert decision.intent == "appointment_request"  # the model's view is kept for the record


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("my dad has CHEST PAIN and his arm is numb", "chest_pain"),
        ("she can't breathe right now", "breathing"),
        ("really short of breath after walking to the car", "breathing"),
        ("his face is drooping on one side and slurred speech", "stroke_signs"),
        ("i keep having suicidal thoughts", "suicidal_thoughts"),
        ("I want to end my life", "suicidal_thoughts"),
        ("the cut is bleeding heavily and won't stop", "severe_bleeding"),
        ("my 3 week old has a fever of 100.8", "newborn_fever"),
        ("newborn feels hot, fever 101", "newborn_fever"),
        ("my throat is closing up after the shot", "anaphylaxis"),
        ("he passed out in the kitchen", "unresponsive_or_seizure"),
    ],
)
def test_red_flags_fire(text: str, rule: str) -> None:
    assert find_red_flag(text) == rule


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain, just a cough",
        "denies shortness of breath",
        "my 6 year old has a fever of 101, can we come in",
        "can I reschedule my cardiology follow-up",
        "question about the bill for my chest x-ray",
    ],
)
def test_red_flags_stay_quiet(text: str) -> None:
    assert find_red_flag(text) is None
