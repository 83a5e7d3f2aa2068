"""Running the sandbox on a loopback socket with uvicorn (an optional dependency)."""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from ._app import Receive, SandboxApp, Scope, Send, create_app
from ._config import SandboxConfig

if TYPE_CHECKING:
    import uvicorn

__all__ = ["SandboxServer", "serve"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class _QuietCut(logging.Filter):
    """Hide uvicorn's error line for the sandbox's deliberate mid-body closes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _import_uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the loopback sandbox server needs uvicorn: pip install 'partner-async[sandbox]'"
        ) from exc
    return uvicorn


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on such sockets, and
    # TCP_NODELAY here too (Linux copies it to accepted sockets). Without it, uvicorn's
    # separate header and body writes wait ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # listening at once: connections made before uvicorn runs wait in the backlog
    sock.listen(2048)
    return sock


def _uvicorn_config(app: Any, *, log_config: Any) -> uvicorn.Config:
    uv = _import_uvicorn()
    config: uvicorn.Config = uv.Config(
        app,
        interface="asgi3",
        http="auto",  # httptools when installed, else h11
        log_level="warning",
        lifespan="off",
        access_log=False,
        log_config=log_config,
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    return config


class SandboxServer:
    """The sandbox on a loopback port, served by uvicorn in a background thread.

    >>> with SandboxServer(SandboxConfig(seed=3)) as server:  # doctest: +SKIP
    ...     client = SMSPartnerClient(api_key="sandbox", base_url=server.sms_base_url)

    Usable as ``with`` or ``async with`` (``start()`` / ``stop()`` otherwise). Port 0
    (default) picks a free port: read the real one from :attr:`port`. The app it serves
    can be swapped while it runs (assign :attr:`app`), which the pytest plugin does to
    give each test a fresh app on one server.

    Args:
        config: a :class:`SandboxConfig`, or an app (:class:`SandboxApp` or any ASGI
            app) to serve as is; None serves ``create_app()``.
        host: the address to bind; only loopback addresses are sensible (default).
        port: the port to bind, 0 for any free one.
    """

    def __init__(
        self,
        config: SandboxConfig | SandboxApp | Any | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if config is None or isinstance(config, SandboxConfig):
            self.app: Any = create_app(config)
        else:
            self.app = config
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._filter: logging.Filter | None = None

    def __repr__(self) -> str:
        state = f"port={self._port}" if self._port is not None else "stopped"
        return f"SandboxServer(host={self.host!r}, {state})"

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def port(self) -> int:
        """The port the server listens on (the real one when created with port 0)."""
        if self._port is None:
            raise RuntimeError("the sandbox server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def sms_base_url(self) -> str:
        """The SMS Partner API root: ``http://127.0.0.1:PORT/v1``."""
        return self.base_url + "/v1"

    @property
    def mail_base_url(self) -> str:
        """The Mail Partner API root: ``http://127.0.0.1:PORT/mail/v1``."""
        return self.base_url + "/mail/v1"

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind, start uvicorn in a daemon thread, and return once it is listening."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already started")
        uv = _import_uvicorn()
        sock = _bind(self.host, self._requested_port)
        self._port = sock.getsockname()[1]
        server: uvicorn.Server = uv.Server(_uvicorn_config(self._asgi, log_config=None))
        self._server = server
        self._filter = _QuietCut()
        logging.getLogger("uvicorn.error").addFilter(self._filter)
        started = threading.Event()

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by start()
                self._error = exc
            finally:
                sock.close()
                started.set()

        self._thread = threading.Thread(target=run, name="partner-async-sandbox", daemon=True)
        self._thread.start()
        # wait (bounded) for uvicorn's started flag or the thread's end
        for _ in range(int(_START_TIMEOUT / 0.005)):
            if server.started or started.wait(0.005):
                break
        if not server.started:
            self.stop()
            error = self._error
            raise RuntimeError(f"the sandbox server did not start: {error!r}") from error

    def stop(self) -> None:
        """Stop serving and wait for the thread (in-flight requests get ~1 s to finish)."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(_STOP_TIMEOUT)
        if self._filter is not None:
            logging.getLogger("uvicorn.error").removeFilter(self._filter)
            self._filter = None
        self._server = None
        self._thread = None
        self._port = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxServer:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.stop)


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    out: TextIO | None = None,
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C (or SIGTERM); for the CLI.

    Prints the SMS and Mail base URLs and the API key to use, then blocks.
    """
    uv = _import_uvicorn()
    config = config if config is not None else SandboxConfig()
    out = out if out is not None else sys.stdout
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"SMS Partner base URL:  http://{shown}:{real_port}/v1", file=out)
    print(f"Mail Partner base URL: http://{shown}:{real_port}/mail/v1", file=out)
    print(f"API key:               {config.api_keys[0]}", file=out)
    print(f"Seed:                  {config.seed}  (Ctrl-C to stop)", file=out, flush=True)
    uv_config = _uvicorn_config(create_app(config), log_config=uv.config.LOGGING_CONFIG)
    logging.getLogger("uvicorn.error").addFilter(_QuietCut())  # after uvicorn's dictConfig
    server = uv.Server(uv_config)
    # This process only serves: fewer young-generation collections (the answers are
    # short-lived dicts and strings) is a free ~5% of throughput.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()
