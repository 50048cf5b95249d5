"""Where a classified message goes: department, priority, and whether a human must look first.

Review when the calibrated confidence is under the threshold (per intent if configured) or when
the top two intents are close (Rasa's fallback-on-ambiguity); red flags override everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from models.classifier import Prediction
from router.red_flags import find_red_flag
from router.schemas import Department, Priority, RoutingDecision

DEPARTMENT_OF_INTENT: Final[dict[str, Department]] = {
    "appointment_request": Department.scheduling,
    "billing_inquiry": Department.billing,
    "clinical_concern": Department.clinical,
    "new_patient_inquiry": Department.front_desk,
    "existing_patient_question": Department.front_desk,
    "price_shopper": Department.front_desk,
    "complaint": Department.manager,
}


@dataclass(frozen=True)
class PolicyConfig:
    # the service's defaults (router.settings), chosen on the dev set with `frontdesk tune-policy`
    threshold: float = 0.97
    margin: float = 0.2
    intent_thresholds: dict[str, float] = field(default_factory=dict)
    department_of_intent: dict[str, Department] = field(default_factory=lambda: dict(DEPARTMENT_OF_INTENT))


def decide(
    message_id: str,
    text: str,
    prediction: Prediction,
    model_version: str,
    config: PolicyConfig | None = None,
) -> RoutingDecision:
    config = config or PolicyConfig()
    base: dict[str, Any] = {
        "message_id": message_id,
        "intent": prediction.label,
        "scores": prediction.scores,
        "confidence": prediction.confidence,
        "margin": prediction.margin,
        "model_version": model_version,
    }
    flag = find_red_flag(text)
    if flag:
        return RoutingDecision(
            **base,
            route=Department.clinical,
            priority=Priority.urgent,
            reason=f"red_flag:{flag}",
            decided_by="rule",
        )
    threshold = config.intent_thresholds.get(prediction.label, config.threshold)
    if prediction.confidence < threshold:
        return RoutingDecision(**base, route=Department.review, needs_review=True, reason="low_confidence")
    if prediction.margin < config.margin:
        return RoutingDecision(**base, route=Department.review, needs_review=True, reason="low_margin")
    return RoutingDecision(**base, route=config.department_of_intent[prediction.label], reason="model")


def review_decision(message_id: str, reason: str, model_version: str | None = None) -> RoutingDecision:
    """For messages the model cannot read (no transcript, poison input): straight to a human."""
    return RoutingDecision(
        message_id=message_id,
        intent=None,
        route=Department.review,
        needs_review=True,
        model_version=model_version,
        reason=reason,
        decided_by="rule",
    )
