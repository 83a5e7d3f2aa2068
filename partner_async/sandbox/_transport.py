"""An httpx transport that serves requests from the sandbox app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx

from ._app import Message, Receive, Scope, Send

__all__ = ["SandboxTransport"]


class _CutStream(httpx.AsyncByteStream):
    """A body that ends before its announced length: the peer closed the connection."""

    def __init__(self, body: bytes, expected: int | None, request: httpx.Request) -> None:
        self._body = body
        self._expected = expected
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body
        expected = "" if self._expected is None else f", expected {self._expected}"
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {len(self._body)} bytes{expected}",
            request=self._request,
        )


class SandboxTransport(httpx.AsyncBaseTransport):
    """Serve httpx requests with an ASGI app (the sandbox) in-process, like a real server.

    Unlike ``httpx.ASGITransport``, what a client sees is what it would see over a socket:

    - an app that returns after sending part of the body (the sandbox's ``disconnect``
      fault) gives a response whose body read raises ``httpx.RemoteProtocolError``;
    - an app that returns without answering gives HTTP 500, as uvicorn sends;
    - the request's read timeout (``httpx.Timeout(read=...)``, from the client or the
      request) is enforced on the app's answer and raises ``httpx.ReadTimeout``; a slow
      answer sleeps with ``anyio.sleep``, so a caller's own deadline (``anyio.fail_after``)
      cancels it too.

    Works under asyncio and trio (anyio only). Any URL's host is accepted (the sandbox
    routes by path; see :class:`~partner_async.sandbox.SandboxApp`).

    Args:
        app: the ASGI app, usually a :class:`~partner_async.sandbox.SandboxApp`.
        raise_app_exceptions: re-raise an exception from the app (a bug) as is (default);
            False turns it into HTTP 500, or a cut body if the answer had started.
        client: the (host, port) the app sees as the client address.
    """

    def __init__(
        self,
        app: Any,
        *,
        raise_app_exceptions: bool = True,
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.client = client

    def __repr__(self) -> str:
        return f"SandboxTransport({self.app!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app for one request and return its (possibly cut) response."""
        request_body = await request.aread()
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self.client,
            "server": (url.host, port),
            "state": {},
        }
        body_sent = False
        done = anyio.Event()
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        complete = False

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request_body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    complete = True
                    done.set()

        read_timeout = _read_timeout(request)
        failed = False
        try:
            with anyio.fail_after(read_timeout):
                await self._run(scope, receive, send)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
        except Exception:
            if self.raise_app_exceptions:
                raise
            failed = True
        finally:
            done.set()

        if status is None:  # no answer at all: what uvicorn sends
            return httpx.Response(
                500,
                headers=[(b"content-type", b"text/plain; charset=utf-8")],
                content=b"Internal Server Error",
                request=request,
            )
        body = b"".join(chunks)
        if complete and not failed:
            return httpx.Response(status, headers=headers, content=body, request=request)
        expected = next((int(v) for k, v in headers if k.lower() == b"content-length"), None)
        return httpx.Response(
            status, headers=headers, stream=_CutStream(body, expected, request), request=request
        )

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        if isinstance(value, (int, float)):
            return float(value)
    return None
