"""A hostile HTTP server on loopback (plain sockets, one thread per connection).

The first path segment picks the behaviour, so one server serves every test:
``http://127.0.0.1:PORT/<mode>/multi-status``. Modes:

- ``bomb``: a gzip body inflating to ``BOMB_SIZE`` bytes of zeros;
- ``chunked``: a chunked body that never ends (64 KB chunks until the client hangs up);
- ``huge``: ``Content-Length`` 200 MB, sent until the client hangs up;
- ``nolength``: no length, no chunking, body until the client hangs up (read to close);
- ``gzip``: a valid gzip answer with one Delivered entry per query;
- ``deflate``: the same, deflate (zlib) encoded;
- ``badgzip``: a body announced as gzip that is not;
- ``echo``: a vendor error (code 10) whose message echoes the whole request, key included;
- ``echo-reject``: the same with code 5 (the batch's queries end rejected).

It also runs as a script (``python -m tests._hostile PORT``) for measurements.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import sys
import threading
import zlib
from collections import Counter
from typing import Any

import orjson

BOMB_SIZE = 64 * 2**20
_CHUNK = b"x" * 65536


def _bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * 2**20
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


class _Handler(socketserver.BaseRequestHandler):
    server: HostileServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(body) < length:
            more = sock.recv(65536)
            if not more:
                return
            body += more
        mode = path.strip("/").split("/")[0]
        self.server.hits[mode] += 1
        with contextlib.suppress(OSError):  # the client hung up: expected, endless modes
            self._answer(sock, mode, path, head + b"\r\n\r\n" + body)

    def _answer(self, sock: socket.socket, mode: str, path: str, request: bytes) -> None:
        if mode == "bomb":
            bomb = self.server.bomb
            sock.sendall(_head(len(bomb), "Content-Encoding: gzip\r\n") + bomb)
        elif mode == "chunked":
            sock.sendall(_head(None, "Transfer-Encoding: chunked\r\n"))
            chunk = b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK)
            while True:
                sock.sendall(chunk)
        elif mode == "huge":
            sock.sendall(_head(200 * 2**20))
            while True:
                sock.sendall(_CHUNK)
        elif mode == "nolength":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            while True:
                sock.sendall(_CHUNK)
        elif mode in ("gzip", "deflate"):
            asked = orjson.loads(request.partition(b"\r\n\r\n")[2])["SMSStatut_List"]
            answer = orjson.dumps(
                {
                    "success": True,
                    "code": 200,
                    "StatutResponse_List": [_entry(item) for item in asked],
                }
            )
            packed = gzip.compress(answer) if mode == "gzip" else zlib.compress(answer)
            sock.sendall(_head(len(packed), f"Content-Encoding: {mode}\r\n") + packed)
        elif mode == "badgzip":
            junk = b"\x1f\x8b\x08\x00" + b"not gzip at all" * 10
            sock.sendall(_head(len(junk), "Content-Encoding: gzip\r\n") + junk)
        elif mode in ("echo", "echo-reject"):
            text = request.decode("utf-8", "replace")
            code = 10 if mode == "echo" else 5
            answer = orjson.dumps({"success": False, "code": code, "message": text})
            sock.sendall(_head(len(answer)) + answer)
        else:
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "success": True,
        "code": 200,
        "phoneNumber": item["phoneNumber"],
        "messageId": item["messageId"],
        "status": "Delivered",
        "date": "1517934416",
        "stopSms": "0",
        "isSpam": "0",
    }


def _head(length: int | None, extra: str = "") -> bytes:
    size = "" if length is None else f"Content-Length: {length}\r\n"
    return (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        f"{size}{extra}\r\n"
    ).encode()


class HostileServer(socketserver.ThreadingTCPServer):
    """The server; ``base(mode)`` is the base URL of a mode, ``hits`` counts requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, bomb_size: int = BOMB_SIZE) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.bomb = _bomb(bomb_size)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def base(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{mode}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()


if __name__ == "__main__":  # pragma: no cover - for measurements
    size = int(sys.argv[1]) if len(sys.argv) > 1 else BOMB_SIZE
    with HostileServer(size) as server:
        print(server.server_address[1], flush=True)
        threading.Event().wait()
