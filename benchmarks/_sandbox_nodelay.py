"""``python -m partner_async.sandbox`` with TCP_NODELAY on its sockets (a diagnostic).

The sandbox binds its listening socket itself as ``socket.socket(family, SOCK_STREAM)``
(proto 0), and asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, so
the accepted connections keep Nagle's algorithm. uvicorn writes a response's headers and
body separately, so on a reused connection a small answer waits ~40 ms for the client's
delayed ACK. This wrapper sets TCP_NODELAY on the listening socket (Linux copies it to
accepted sockets) and otherwise runs the sandbox's own command line unchanged:

    python benchmarks/_sandbox_nodelay.py --port 0 --latency 0
"""

from __future__ import annotations

import socket
import sys

from partner_async.sandbox import _server
from partner_async.sandbox._cli import main

_bind = _server._bind


def _bind_nodelay(host: str, port: int) -> socket.socket:
    sock = _bind(host, port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


_server._bind = _bind_nodelay

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
