"""Webhooks of the four channels: parse, store (committed), then enqueue, then answer 202."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from router import store
from router.api.auth import Principal, require_scope
from router.channels import (
    ChannelPayloadError,
    is_valid_twilio_signature,
    parse_email,
    parse_twilio_sms,
    parse_twilio_voicemail,
    parse_web_form,
)
from router.schemas import InboundMessage

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])
RECEIVED = Counter("frontdesk_inbound_total", "Webhooks answered", ["channel", "outcome"])


def accept(request: Request, message: InboundMessage) -> JSONResponse:
    """Store first (committed), enqueue second: a 202 always means the message is in the database.

    Blocking (database and broker I/O): the async routes run it in the thread pool so one slow
    write never stalls the event loop for every other request.
    """
    with request.app.state.session_factory() as session:
        message_id, created = store.store_inbound(session, message)
    if created:
        request.app.state.enqueue([message_id])
    RECEIVED.labels(channel=message.channel.value, outcome="new" if created else "duplicate").inc()
    body: dict[str, Any] = {"id": message_id, "status": "received"}
    if not created:
        body["duplicate"] = True
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED)


async def twilio_form(request: Request) -> dict[str, str]:
    """The form parameters, after checking ``X-Twilio-Signature`` against them."""
    settings = request.app.state.settings
    token = settings.twilio_auth_token
    if not token:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "Twilio webhooks are disabled: FRONTDESK_TWILIO_AUTH_TOKEN is not set"
        )
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "expected application/x-www-form-urlencoded"
        )
    try:
        form = await request.form()
    except Exception as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed form body") from exc
    params = {key: value for key, value in form.items() if isinstance(value, str)}
    url = str(request.url)
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
    if not is_valid_twilio_signature(token, url, params, request.headers.get("x-twilio-signature")):
        RECEIVED.labels(channel="twilio", outcome="bad_signature").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid X-Twilio-Signature")
    return params


@router.post("/email", status_code=202)
async def inbound_email(request: Request, _: Principal = Depends(require_scope("inbound"))) -> JSONResponse:
    """Raw RFC 822 message (``message/rfc822``)."""
    raw = await request.body()
    if not raw.strip():
        raise ChannelPayloadError("empty body: expected a raw RFC 822 message")
    # parsing hostile mail can take a second of CPU: off the event loop (with the store and
    # enqueue, in one hop to the thread pool), so other requests go on
    return await run_in_threadpool(lambda: accept(request, parse_email(raw)))


@router.post("/form", status_code=202)
async def inbound_form(request: Request, _: Principal = Depends(require_scope("inbound"))) -> JSONResponse:
    """JSON ``{"submission_id", "message", "name"?, "email"?, "phone"?, "location"?}``."""
    raw = await request.body()
    try:
        payload = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer over Python's digit limit
        raise ChannelPayloadError("body is not valid JSON") from exc
    except RecursionError as exc:
        raise ChannelPayloadError("JSON nested too deeply") from exc
    if not isinstance(payload, Mapping):
        raise ChannelPayloadError("body must be a JSON object")
    return await run_in_threadpool(accept, request, parse_web_form(payload))


@router.post("/sms", status_code=202)
async def inbound_sms(request: Request) -> JSONResponse:
    """Twilio inbound-message webhook (form-encoded, signed)."""
    return await run_in_threadpool(accept, request, parse_twilio_sms(await twilio_form(request)))


@router.post("/voicemail", status_code=202)
async def inbound_voicemail(request: Request) -> JSONResponse:
    """Twilio transcription callback (form-encoded, signed)."""
    return await run_in_threadpool(accept, request, parse_twilio_voicemail(await twilio_form(request)))
