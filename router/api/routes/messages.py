"""Reading one message and its current decision; a key sees only what was routed to its departments."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status

from router import store
from router.api.auth import Principal, current_principal
from router.api.views import MessageView

router = APIRouter(prefix="/v1/messages", tags=["messages"])


def may_read(principal: Principal, stored: store.StoredMessage) -> bool:
    if principal.is_admin:
        return True
    decision = stored.decision
    if decision is None:
        return False
    return principal.may(decision.route.value)


@router.get("/{message_id}", response_model=MessageView)
def get_message(
    message_id: str, request: Request, principal: Principal = Depends(current_principal)
) -> MessageView:
    with request.app.state.session_factory() as session:
        stored = store.get_message(session, message_id)
    # the same 404 for "absent" and "not yours": a key learns nothing about other departments
    if stored is None or not may_read(principal, stored):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message for this API key")
    return MessageView.of(stored)
