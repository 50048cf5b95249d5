"""Department consumers: claim the next item under a lease, then acknowledge it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from router import store
from router.api.auth import Principal, current_principal
from router.api.views import ClaimedItem, MessageView
from router.queues import ack_item, claim_next_item
from router.schemas import Department

router = APIRouter(prefix="/v1/queues", tags=["queues"])


@router.post(
    "/{department}/claim", response_model=ClaimedItem, responses={204: {"description": "queue empty"}}
)
def claim(
    department: Department, request: Request, principal: Principal = Depends(current_principal)
) -> ClaimedItem | Response:
    scope = department.value
    if not principal.may(scope):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key may not claim from '{scope}'")
    settings = request.app.state.settings
    with request.app.state.session_factory() as session:
        item = claim_next_item(session, [scope], principal.key_id, settings.claim_lease_seconds)
        if item is None:
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        stored = store.get_message(session, item.message_id)
    if stored is None:  # the message was deleted under us: nothing to hand out
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ClaimedItem(
        item_id=item.id,
        department=item.department,
        priority=item.priority,
        lease_expires_at=item.lease_expires_at,
        message=MessageView.of(stored),
    )


@router.post("/items/{item_id}/ack")
def ack(item_id: str, request: Request, principal: Principal = Depends(current_principal)) -> dict[str, bool]:
    with request.app.state.session_factory() as session:
        done = ack_item(session, item_id, principal.key_id)
    if not done:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "item is not claimed by this API key, or its lease has expired"
        )
    return {"acked": True}
