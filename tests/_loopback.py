"""Loopback HTTP/1.1 servers for the transport's tests: what a request looked like on the
wire, and answers written byte by byte."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc


def closed_port() -> int:
    """A loopback port nobody listens on: a request there fails."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def raw_server(
    answer: Callable[[bytes], bytes] | None,
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback HTTP/1.1 server: each request (head and body, as received) is kept and
    answered with ``answer(request)``; None never answers."""
    seen: list[bytes] = []

    async def serve(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head = data.partition(b"\r\n\r\n")[0]
            match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            while match and len(data) < len(head) + 4 + int(match.group(1)):
                data += await stream.receive()
            seen.append(data)
            if answer is None:
                await anyio.sleep_forever()
            else:
                await stream.send(answer(data))

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        yield f"http://127.0.0.1:{port}", seen
        tg.cancel_scope.cancel()
