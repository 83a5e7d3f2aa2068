"""The tracker's durable stores: SQLite (embedded, the default) and Redis (many workers).

A store keeps one row per distinct query: its latest outcome (encoded), the outcome
before it, a version counting its changes, the version last delivered to the user
(``acked``), when it is next due, and a lease (owner, expiry). Rows whose change is
not yet delivered stay due (at once) and leased by the worker that made the change, so
a crash leaves them to be delivered again (at-least-once).

Claiming is atomic in both stores: one SQLite write transaction, one Redis Lua script.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import attrs
import msgspec
import sniffio

from ._exceptions import ConfigurationError, StoreError

__all__ = ["Row", "TrackerStore", "open_store"]

#: The label of a query not answered yet.
NEW: Final = "new"


@attrs.define(slots=True)
class Row:
    """One tracked query as stored (internal)."""

    key: str
    outcome: bytes | None = None
    previous: bytes | None = None
    version: int = 0
    acked: int = 0
    interval: float = -1.0  # < 0: not polled yet
    polls: int = 0
    final: bool = False
    label: str = NEW
    after: float = 0.0  # when to poll next, once the pending change is delivered
    old_label: str = attrs.field(default=NEW, eq=False)  # as claimed (not stored)
    was_final: bool = attrs.field(default=False, eq=False)

    def encode(self) -> bytes:
        return msgspec.json.encode(
            [
                self.outcome.decode() if self.outcome is not None else None,
                self.previous.decode() if self.previous is not None else None,
                self.version,
                self.acked,
                self.interval,
                self.polls,
                int(self.final),
                self.label,
                self.after,
            ]
        )

    @classmethod
    def decode(cls, key: str, data: bytes | str) -> Row:
        o, p, v, a, i, n, f, label, after = msgspec.json.decode(data)
        return cls(
            key,
            o.encode() if o is not None else None,
            p.encode() if p is not None else None,
            v,
            a,
            i,
            n,
            bool(f),
            label,
            after,
            label,
            bool(f),
        )


class TrackerStore(Protocol):
    """What the tracker needs of a store (internal)."""

    url: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def reclaim(self, worker: str) -> None:
        """Make what ``worker`` holds claimable at once by any worker (on a restart, and
        when a run stops early)."""
        ...

    async def add(self, rows: Sequence[Row], now: float) -> int:
        """Insert rows not present yet (due at ``now``); returns how many were new."""
        ...

    async def claim(self, worker: str, limit: int, now: float, lease: float) -> list[Row]:
        """Lease up to ``limit`` due rows (those due or leased by ``worker`` itself too)."""
        ...

    async def save(self, worker: str, rows: Sequence[Row], now: float) -> None:
        """Write polled rows: a changed row stays leased and due (undelivered); an
        unchanged one is released, due at ``row.after``. Rows no longer leased by
        ``worker`` are left alone."""
        ...

    async def ack(self, worker: str, rows: Sequence[Row]) -> None:
        """Mark the rows' changes delivered; release them, due at ``after`` unless final."""
        ...

    async def counts(self) -> dict[str, int]:
        """Rows by label, plus ``"pending"`` (not final) and ``"undelivered"``."""
        ...

    async def next_due(self) -> float | None:
        """The earliest time a row may become claimable, None when nothing is left."""
        ...

    def export(self) -> AsyncIterator[Row]:
        """Every row."""
        ...


def open_store(url: str) -> TrackerStore:
    """The store for ``url``: ``sqlite:///path.db`` (or a plain path) or
    ``redis://host:port/db``."""
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"store must be a URL string, got {url!r}")
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisStore(url)
    if scheme == "sqlite":
        # as SQLAlchemy: sqlite:///relative.db, sqlite:////absolute/path.db
        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            raise ConfigurationError(
                f"store {url!r}: write sqlite:///path.db (relative) or sqlite:////abs/path.db"
            )
        return SQLiteStore(url, url[len("sqlite:///") :])
    if scheme == "" and "://" not in url:
        return SQLiteStore(url, url)
    raise ConfigurationError(
        f"store {url!r}: unsupported scheme {scheme!r} (use sqlite:///path.db or "
        "redis://host:port/db)"
    )


# --------------------------------------------------------------------------- SQLite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tracked (
    key TEXT PRIMARY KEY,
    row BLOB NOT NULL,
    label TEXT NOT NULL,
    final INTEGER NOT NULL,
    undelivered INTEGER NOT NULL,
    due REAL,
    lease REAL NOT NULL DEFAULT 0,
    owner TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tracked_due ON tracked (due) WHERE due IS NOT NULL;
CREATE TABLE IF NOT EXISTS tracker_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO tracker_meta VALUES ('schema', 'partner-async-tracker-1');
"""


class SQLiteStore:
    """SQLite in WAL mode, used from one worker thread per connection (through anyio)."""

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(1)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"

    async def _run(self, function: Any, *args: Any) -> Any:
        def call() -> Any:
            with self._lock:
                try:
                    return function(*args)
                except sqlite3.Error as exc:
                    raise StoreError(f"SQLite store {self.url!r}: {exc}") from exc

        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout = 30000")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.executescript(_SCHEMA)
                (tag,) = db.execute(
                    "SELECT value FROM tracker_meta WHERE name = 'schema'"
                ).fetchone()
                if tag != "partner-async-tracker-1":
                    raise sqlite3.DatabaseError(f"not a tracker store (schema {tag!r})")
            except BaseException:
                db.close()
                raise
            return db

        self._db = await self._run(connect)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await self._run(db.close)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"store {self.url!r} is not open")
        return self._db

    def _write(self, body: Any) -> Any:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = body(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    async def reclaim(self, worker: str) -> None:
        """Release every lease of ``worker`` (its undelivered changes stay due at once)."""

        def body(db: sqlite3.Connection) -> None:
            db.execute("UPDATE tracked SET lease = 0, owner = NULL WHERE owner = ?", (worker,))

        await self._run(self._write, body)

    async def add(self, rows: Sequence[Row], now: float) -> int:
        def body(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO tracked (key, row, label, final, undelivered, due) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.key,
                        r.encode(),
                        r.label,
                        int(r.final),
                        int(r.version > r.acked),
                        now if (not r.final or r.version > r.acked) else None,
                    )
                    for r in rows
                ],
            )
            return db.total_changes - before

        return int(await self._run(self._write, body))

    async def claim(self, worker: str, limit: int, now: float, lease: float) -> list[Row]:
        def body(db: sqlite3.Connection) -> list[Row]:
            found = db.execute(
                "SELECT key, row FROM tracked WHERE due IS NOT NULL AND due <= ? "
                "AND (lease <= ? OR owner = ?) ORDER BY due LIMIT ?",
                (now, now, worker, limit),
            ).fetchall()
            db.executemany(
                "UPDATE tracked SET lease = ?, owner = ? WHERE key = ?",
                [(now + lease, worker, key) for key, _ in found],
            )
            return [Row.decode(key, data) for key, data in found]

        return list(await self._run(self._write, body))

    async def save(self, worker: str, rows: Sequence[Row], now: float) -> None:
        def body(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE tracked SET row = ?, label = ?, final = ?, undelivered = ?, due = ?, "
                "lease = CASE WHEN ? THEN lease ELSE 0 END, "
                "owner = CASE WHEN ? THEN owner ELSE NULL END "
                "WHERE key = ? AND owner = ?",
                [
                    (
                        r.encode(),
                        r.label,
                        int(r.final),
                        int(changed),
                        now if changed else r.after,
                        changed,
                        changed,
                        r.key,
                        worker,
                    )
                    for r in rows
                    for changed in (r.version > r.acked,)
                ],
            )

        await self._run(self._write, body)

    async def ack(self, worker: str, rows: Sequence[Row]) -> None:
        def body(db: sqlite3.Connection) -> None:
            for r in rows:
                r.acked = r.version
            db.executemany(
                "UPDATE tracked SET row = ?, undelivered = 0, due = ?, lease = 0, owner = NULL "
                "WHERE key = ? AND owner = ?",
                [(r.encode(), None if r.final else r.after, r.key, worker) for r in rows],
            )

        await self._run(self._write, body)

    async def counts(self) -> dict[str, int]:
        def read() -> dict[str, int]:
            db = self.db
            counts = dict(db.execute("SELECT label, COUNT(*) FROM tracked GROUP BY label"))
            pending, undelivered = db.execute(
                "SELECT COALESCE(SUM(1 - final), 0), COALESCE(SUM(undelivered), 0) FROM tracked"
            ).fetchone()
            counts["pending"] = int(pending)
            counts["undelivered"] = int(undelivered)
            return counts

        return dict(await self._run(read))

    async def next_due(self) -> float | None:
        def read() -> float | None:
            (due,) = self.db.execute(
                "SELECT MIN(MAX(due, lease)) FROM tracked WHERE due IS NOT NULL"
            ).fetchone()
            return None if due is None else float(due)

        result: float | None = await self._run(read)
        return result

    async def export(self) -> AsyncIterator[Row]:
        last = ""
        while True:

            def page(after: str = last) -> list[tuple[str, bytes]]:
                return self.db.execute(
                    "SELECT key, row FROM tracked WHERE key > ? ORDER BY key LIMIT 5000",
                    (after,),
                ).fetchall()

            rows: list[tuple[str, bytes]] = await self._run(page)
            if not rows:
                return
            for key, data in rows:
                yield Row.decode(key, data)
            last = rows[-1][0]


# --------------------------------------------------------------------------- Redis

# KEYS: rows, due, lease, owner, meta. All scripts keep these five structures in step.
_ADD = """
local new = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    new = new + 1
    local label, final, undelivered = string.match(ARGV[i + 2], '^(.*)|(%d)|(%d)$')
    redis.call('HINCRBY', KEYS[5], 'label:' .. label, 1)
    if final == '0' then redis.call('HINCRBY', KEYS[5], 'pending', 1) end
    if undelivered == '1' then redis.call('HINCRBY', KEYS[5], 'undelivered', 1) end
    if final == '0' or undelivered == '1' then
      redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
    end
  end
end
return new
"""

_CLAIM = """
local now, limit, lease, worker = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)
for _, key in ipairs(expired) do
  redis.call('ZREM', KEYS[3], key)
  redis.call('HDEL', KEYS[4], key)
  redis.call('ZADD', KEYS[2], 0, key)
end
local keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, key in ipairs(keys) do
  redis.call('ZREM', KEYS[2], key)
  redis.call('ZADD', KEYS[3], lease, key)
  redis.call('HSET', KEYS[4], key, worker)
  redis.call('SADD', KEYS[6], key)
  out[#out + 1] = key
  out[#out + 1] = redis.call('HGET', KEYS[1], key)
end
return out
"""

# A restarted worker takes back at once what it held when it stopped (ARGV: worker).
_RECLAIM = """
local mine = redis.call('SMEMBERS', KEYS[6])
for _, key in ipairs(mine) do
  if redis.call('HGET', KEYS[4], key) == ARGV[1] then
    redis.call('ZREM', KEYS[3], key)
    redis.call('HDEL', KEYS[4], key)
    redis.call('ZADD', KEYS[2], 0, key)
  end
end
redis.call('DEL', KEYS[6])
return #mine
"""

#: Shared by the scripts that write rows back (ARGV[1]: the worker): ``each_owned(first,
#: step, apply)`` goes through the (key, row, ...) groups of ARGV from ``first`` and, for
#: every key this worker still leases, writes its row and calls ``apply(i, key)``;
#: ``release(key)`` ends the lease (its expiry, its owner, its place in the worker's set).
_WRITE_BACK = """
local worker = ARGV[1]
local function each_owned(first, step, apply)
  for i = first, #ARGV, step do
    local key = ARGV[i]
    if redis.call('HGET', KEYS[4], key) == worker then
      redis.call('HSET', KEYS[1], key, ARGV[i + 1])
      apply(i, key)
    end
  end
end
local function release(key)
  redis.call('ZREM', KEYS[3], key)
  redis.call('HDEL', KEYS[4], key)
  redis.call('SREM', KEYS[6], key)
end
"""

# ARGV: worker, now, then (key, row, old label, new label, final, changed, after) groups.
_SAVE = (
    _WRITE_BACK
    + """
each_owned(3, 7, function(i, key)
  if ARGV[i + 2] ~= ARGV[i + 3] then
    redis.call('HINCRBY', KEYS[5], 'label:' .. ARGV[i + 2], -1)
    redis.call('HINCRBY', KEYS[5], 'label:' .. ARGV[i + 3], 1)
  end
  if ARGV[i + 4] == '1' then redis.call('HINCRBY', KEYS[5], 'pending', -1) end
  if ARGV[i + 5] == '1' then
    redis.call('HINCRBY', KEYS[5], 'undelivered', 1)
  else
    release(key)
    redis.call('ZADD', KEYS[2], ARGV[i + 6], key)
  end
end)
return 0
"""
)

# ARGV: worker, then (key, row, final, after) groups.
_ACK = (
    _WRITE_BACK
    + """
each_owned(2, 4, function(i, key)
  redis.call('HINCRBY', KEYS[5], 'undelivered', -1)
  release(key)
  if ARGV[i + 2] == '0' then redis.call('ZADD', KEYS[2], ARGV[i + 3], key) end
end)
return 0
"""
)

_SCHEMA_TAG: Final = "partner-async-tracker-1"


class RedisStore:
    """Redis through redis-py's asyncio client; every change is one Lua script."""

    def __init__(self, url: str, prefix: str = "partner-async:tracker") -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Any = None
        self._scripts: dict[str, Any] = {}
        self._threaded = False
        self._limiter = anyio.CapacityLimiter(1)
        p = prefix
        self._keys = [f"{p}:rows", f"{p}:due", f"{p}:lease", f"{p}:owner", f"{p}:meta"]

    def __repr__(self) -> str:
        return f"RedisStore({self._safe_url()!r})"

    def _safe_url(self) -> str:
        parts = urlsplit(self.url)
        if parts.password:
            return self.url.replace(parts.password, "***")
        return self.url

    def _error(self, exc: BaseException) -> StoreError:
        return StoreError(f"Redis store {self._safe_url()!r}: {type(exc).__name__}: {exc}")

    async def _do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a method of the Redis client: awaited (asyncio client) or, under trio,
        redis-py's synchronous client in a worker thread (its asyncio client runs on
        asyncio only)."""
        import redis.exceptions

        if self._redis is None:
            raise StoreError(f"store {self._safe_url()!r} is not open")
        target = self._scripts[method] if method.startswith("script:") else None
        try:
            if self._threaded:
                function = target or getattr(self._redis, method)
                return await anyio.to_thread.run_sync(
                    lambda: function(*args, **kwargs), limiter=self._limiter
                )
            function = target or getattr(self._redis, method)
            return await function(*args, **kwargs)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise self._error(exc) from exc

    async def _call(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._do(f"script:{name}", keys=keys, args=args)

    async def open(self) -> None:
        try:
            import redis
            import redis.asyncio
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "a redis:// store needs redis-py: pip install 'partner-async[redis]'"
            ) from exc
        self._threaded = sniffio.current_async_library() != "asyncio"
        factory = redis.Redis if self._threaded else redis.asyncio.Redis
        self._redis = factory.from_url(self.url, socket_connect_timeout=5, socket_timeout=30)
        for name, source in (
            ("add", _ADD),
            ("claim", _CLAIM),
            ("reclaim", _RECLAIM),
            ("save", _SAVE),
            ("ack", _ACK),
        ):
            self._scripts[f"script:{name}"] = self._redis.register_script(source)
        try:
            meta = self._keys[4]
            await self._do("hsetnx", meta, "schema", _SCHEMA_TAG)
            kind = await self._do("type", meta)
            tag = await self._do("hget", meta, "schema") if kind == b"hash" else None
            if tag != _SCHEMA_TAG.encode():
                raise StoreError(
                    f"Redis store {self._safe_url()!r}: {meta!r} is not a tracker store "
                    f"(schema {tag!r})"
                )
            for kind_key, expected in zip(
                self._keys[:4], ("hash", "zset", "zset", "hash"), strict=True
            ):
                found = (await self._do("type", kind_key)).decode()
                if found not in ("none", expected):
                    raise StoreError(
                        f"Redis store {self._safe_url()!r}: {kind_key!r} is a {found}, not a "
                        f"{expected}: not a tracker store"
                    )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.close()
            raise

    async def close(self) -> None:
        client, self._redis = self._redis, None
        if client is None:
            return
        if self._threaded:
            await anyio.to_thread.run_sync(client.close, limiter=self._limiter)
        else:
            await client.aclose()

    async def add(self, rows: Sequence[Row], now: float) -> int:
        args: list[Any] = [now]
        for r in rows:
            args += [r.key, r.encode(), f"{r.label}|{int(r.final)}|{int(r.version > r.acked)}"]
        return int(await self._call("add", self._keys, args))

    async def claim(self, worker: str, limit: int, now: float, lease: float) -> list[Row]:
        out = await self._call("claim", self._mine(worker), [now, limit, now + lease, worker])
        return [Row.decode(out[i].decode(), out[i + 1]) for i in range(0, len(out), 2)]

    def _mine(self, worker: str) -> list[str]:
        return [*self._keys, f"{self.prefix}:mine:{worker}"]

    async def reclaim(self, worker: str) -> None:
        await self._call("reclaim", self._mine(worker), [worker])

    async def save(self, worker: str, rows: Sequence[Row], now: float) -> None:
        args: list[Any] = [worker, now]
        for r in rows:
            became_final = int(r.final and not r.was_final)
            args += [r.key, r.encode(), r.old_label, r.label, became_final,
                     int(r.version > r.acked), r.after]  # fmt: skip
        await self._call("save", self._mine(worker), args)

    async def ack(self, worker: str, rows: Sequence[Row]) -> None:
        args: list[Any] = [worker]
        for r in rows:
            r.acked = r.version
            args += [r.key, r.encode(), int(r.final), r.after]
        await self._call("ack", self._mine(worker), args)

    async def counts(self) -> dict[str, int]:
        raw = await self._do("hgetall", self._keys[4])
        counts: dict[str, int] = {"pending": 0, "undelivered": 0}
        for name, value in raw.items():
            text = name.decode()
            if text.startswith("label:"):
                if int(value):
                    counts[text[6:]] = int(value)
            elif text in ("pending", "undelivered"):
                counts[text] = int(value)
        return counts

    async def next_due(self) -> float | None:
        due = await self._do("zrange", self._keys[1], 0, 0, withscores=True)
        lease = await self._do("zrange", self._keys[2], 0, 0, withscores=True)
        times = [score for _, score in (*due, *lease)]
        return min(times) if times else None

    async def export(self) -> AsyncIterator[Row]:
        cursor = 0
        while True:
            cursor, page = await self._do("hscan", self._keys[0], cursor, count=5000)
            for key, data in page.items():
                yield Row.decode(key.decode(), data)
            if cursor == 0:
                return
