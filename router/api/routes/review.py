"""Human review: list what the model was unsure of, record the reviewer's label."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from models.labels import INTENTS
from router import store
from router.api.auth import Principal, require_scope
from router.api.views import ReviewLabel
from router.policy import DEPARTMENT_OF_INTENT
from router.queues import list_review_items
from router.schemas import RoutingDecision

router = APIRouter(prefix="/v1/review", tags=["review"])


@router.get("")
def list_review(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    _: Principal = Depends(require_scope("review")),
) -> list[dict[str, Any]]:
    with request.app.state.session_factory() as session:
        return [asdict(item) for item in list_review_items(session, limit)]


@router.post("/{message_id}", response_model=RoutingDecision)
def label_message(
    message_id: str,
    body: ReviewLabel,
    request: Request,
    principal: Principal = Depends(require_scope("review")),
) -> RoutingDecision:
    if body.label not in INTENTS:
        raise HTTPException(422, f"label must be one of {', '.join(INTENTS)}")
    with request.app.state.session_factory() as session:
        stored = store.get_message(session, message_id)
        if stored is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message")
        if stored.decision is None or not stored.decision.needs_review:
            raise HTTPException(status.HTTP_409_CONFLICT, "message is not waiting for review")
        return store.record_human_label(
            session, message_id, body.label, principal.key_id, DEPARTMENT_OF_INTENT[body.label]
        )
