"""The benchmark's HTTP client against a small real server on loopback (requests parsed with httptools)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qs

import httptools
import pytest

from router.load_client import LoadClient, encode_request
from router.webhook_payloads import WebhookRequest

T = TypeVar("T")


@dataclass
class _Seen:
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Server:
    """Answers 202 to /ok and 404 elsewhere; ``close_after`` answers carry ``Connection: close``."""

    def __init__(self, close_after: bool = False, drop_after: bool = False) -> None:
        self.close_after = close_after
        self.drop_after = drop_after  # close without saying so, as after a keep-alive timeout
        self.connections = 0
        self.requests: list[_Seen] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        done: list[_Seen] = []
        current = _Seen()

        class Callbacks:
            def on_url(self, url: bytes) -> None:
                current.path += url.decode()

            def on_header(self, name: bytes, value: bytes) -> None:
                current.headers[name.decode().lower()] = value.decode()

            def on_body(self, body: bytes) -> None:
                current.body += body

            def on_message_complete(self) -> None:
                nonlocal current
                done.append(current)
                current = _Seen()

        parser = httptools.HttpRequestParser(Callbacks())
        while data := await reader.read(65536):
            parser.feed_data(data)
            while done:
                seen = done.pop(0)
                self.requests.append(seen)
                status = b"202 Accepted" if seen.path == "/ok" else b"404 Not Found"
                close = b"Connection: close\r\n" if self.close_after else b""
                writer.write(b"HTTP/1.1 " + status + b"\r\n" + close + b"Content-Length: 2\r\n\r\n{}")
                await writer.drain()
                if self.close_after or self.drop_after:
                    writer.close()
                    return
        writer.close()


async def _serve(server: _Server, run: Callable[[str], Awaitable[T]]) -> T:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        return await run(f"http://127.0.0.1:{port}")
    finally:
        listener.close()
        await listener.wait_closed()


def test_encoded_requests_carry_the_body_a_client_library_would_send() -> None:
    form = encode_request(WebhookRequest("/f", {"X-Twilio-Signature": "sig"}, form={"Body": "a b&c"}), "h:1")
    head, _, body = form.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /f HTTP/1.1\r\nhost: h:1\r\n")
    assert b"content-type: application/x-www-form-urlencoded" in head and b"x-twilio-signature: sig" in head
    assert parse_qs(body.decode()) == {"Body": ["a b&c"]}
    assert f"content-length: {len(body)}".encode() in head

    as_json = encode_request(WebhookRequest("/j", {}, json={"message": "héllo"}), "h")
    assert json.loads(as_json.partition(b"\r\n\r\n")[2]) == {"message": "héllo"}

    raw = encode_request(
        WebhookRequest("/e", {"Content-Type": "message/rfc822"}, content=b"Subject: x\r\n"), "h"
    )
    assert raw.count(b"content-type: message/rfc822") == 1 and raw.endswith(b"\r\n\r\nSubject: x\r\n")


def test_statuses_come_back_in_order_over_at_most_max_connections() -> None:
    server = _Server()
    requests = [WebhookRequest("/ok" if i % 3 else "/missing", {}, json={"i": str(i)}) for i in range(30)]

    async def run(base_url: str) -> list[int]:
        async with LoadClient(base_url, max_connections=4) as client:
            return list(await asyncio.gather(*(client.post(client.encode(r)) for r in requests)))

    statuses = asyncio.run(_serve(server, run))
    assert statuses == [404 if i % 3 == 0 else 202 for i in range(30)]
    assert 1 <= server.connections <= 4
    assert sorted(int(json.loads(r.body)["i"]) for r in server.requests) == list(range(30))


def test_a_connection_the_server_closes_is_not_reused() -> None:
    server = _Server(close_after=True)

    async def run(base_url: str) -> list[int]:
        async with LoadClient(base_url, max_connections=1) as client:
            return [await client.post(client.encode(WebhookRequest("/ok", {}, json={}))) for _ in range(3)]

    assert asyncio.run(_serve(server, run)) == [202, 202, 202]
    assert server.connections == 3


def test_only_plain_http_urls() -> None:
    with pytest.raises(ValueError, match="plain http"):
        LoadClient("https://example.com", 1)


def test_a_kept_alive_connection_the_server_dropped_is_replaced() -> None:
    server = _Server(drop_after=True)

    async def run(base_url: str) -> list[int]:
        async with LoadClient(base_url, max_connections=1) as client:
            raw = client.encode(WebhookRequest("/ok", {}, json={}))
            # the second may go out before the client has seen the close: retried on a new connection
            first, second = await client.post(raw), await client.post(raw)
            # sent after: the dead connection is dropped from the idle list
            while client.open_idle_connections:
                await asyncio.sleep(0)
            return [first, second, await client.post(raw)]

    assert asyncio.run(_serve(server, run)) == [202, 202, 202]
    assert server.connections == 3
