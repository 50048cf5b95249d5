"""The pipeline benchmark's HTTP client: requests encoded before the clock starts, sent over keep-alive
connections, answers parsed with httptools (uvicorn's own parser).

On one machine the load generator takes its CPU from the pipeline it measures. aiohttp spent
0.45-0.6 ms of CPU per request in the rate trials (as much as Postgres; httpx ~5 ms); a request
here is a socket write and a parsed status line, ~0.1 ms.
"""

from __future__ import annotations

import asyncio
import json
from typing import cast
from urllib.parse import urlencode, urlsplit

import httptools

from router.webhook_payloads import WebhookRequest


def encode_request(request: WebhookRequest, host: str) -> bytes:
    """The request as HTTP/1.1 bytes: the body as a client library would send it, its length, host."""
    headers = {"host": host}
    if request.content is not None:
        body = request.content
    elif request.json is not None:
        body = json.dumps(request.json).encode()
        headers["content-type"] = "application/json"
    elif request.form is not None:
        body = urlencode(request.form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    else:
        body = b""
    headers.update({name.lower(): value for name, value in request.headers.items()})
    headers["content-length"] = str(len(body))
    head = f"POST {request.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One connection, one request in flight at a time; the answer's status resolves its future."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[int] | None = None
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"malformed HTTP answer: {exc}"))

    def on_message_complete(self) -> None:
        self.reusable = self._parser.should_keep_alive()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(ConnectionError("connection closed before the answer"))

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        self.close()

    @property
    def open(self) -> bool:
        return self.reusable and self._transport is not None and not self._transport.is_closing()

    def send(self, raw: bytes) -> asyncio.Future[int]:
        assert self._transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        try:
            self._transport.write(raw)
        except RuntimeError as exc:  # uvloop: the transport closed under us
            self._fail(ConnectionError(str(exc)))
        return self._answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class LoadClient:
    """Posts prebuilt requests with at most ``max_connections`` in flight, reusing idle connections."""

    def __init__(self, base_url: str, max_connections: int) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"plain http://host:port only, got {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.netloc = parts.netloc
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []

    def encode(self, request: WebhookRequest) -> bytes:
        return encode_request(request, self.netloc)

    async def post(self, raw: bytes) -> int:
        """The status code of the answer to one encoded request.

        A kept-alive connection the server has closed meanwhile (uvicorn closes idle ones after
        5 s) is dropped; one it closes just as the request goes out is retried once on a new
        connection (the webhooks are idempotent, so a request that did arrive costs nothing).
        """
        async with self._slots:
            connection = self._idle_connection()
            if connection is not None:
                try:
                    return self._keep(connection, await connection.send(raw))
                except ConnectionError:
                    connection.close()
            connection = await self._connect()
            try:
                return self._keep(connection, await connection.send(raw))
            except BaseException:
                connection.close()
                raise

    @property
    def open_idle_connections(self) -> int:
        return sum(c.open for c in self._idle)

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.open:
                return connection
            connection.close()
        return None

    def _keep(self, connection: _Connection, status: int) -> int:
        if connection.open:
            self._idle.append(connection)
        else:
            connection.close()
        return status

    async def _connect(self) -> _Connection:
        _, protocol = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        return protocol

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def __aenter__(self) -> LoadClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
