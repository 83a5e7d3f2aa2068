"""partner_async's benchmark suite: four clients against the loopback sandbox, and more.

    python benchmarks/run.py                 # the default matrix (about 20 minutes)
    python benchmarks/run.py --quick         # N=100,000 only, 3 repetitions
    python benchmarks/run.py clients --latency 0 --n 100000 --concurrency 16 64 \\
        --clients aiohttp_orjson partner_async --reps 5
    python benchmarks/run.py rss             # peak RSS: streaming 1M / 5M, keeping 1M
    python benchmarks/run.py import          # import time of partner_async
    python benchmarks/run.py bulk            # cost of one bulk_status call
    python benchmarks/run.py profile         # cProfile + pyinstrument of partner_async
    python benchmarks/run.py all             # clients (default matrix), rss, import, bulk

Every measurement runs one client in its own fresh subprocess (``benchmarks/_worker.py``)
against ``python -m partner_async.sandbox`` served by a separate process on 127.0.0.1
(one server per latency). Clients are interleaved (A B C D, A B C D, ...) and the tables
give medians. Raw results go to ``benchmarks/results/*.jsonl``; the Markdown tables are
printed and written into ``benchmarks/RESULTS.md`` (only this suite's own sections are
replaced; ``--no-write`` leaves the file alone). ``--from FILE.jsonl`` re-renders a run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import pstats
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_worker.py"
RESULTS_MD = HERE / "RESULTS.md"
RAW_DIR = HERE / "results"
PROFILE_DIR = HERE / "profiles"
PY = sys.executable
BATCH = 500

CLIENTS = ("vendor", "httpx_gather", "aiohttp_orjson", "aiohttp_attrs", "partner_async")
#: Measured only when named with --clients: diagnostics, not alternatives a user would pick.
DIAGNOSTICS = ("partner_async_nodedupe",)
REFERENCE = "aiohttp_orjson"
TYPED_FLOOR = "aiohttp_attrs"
DESCRIPTIONS = {
    "vendor": "vendor's documented loop: `requests.post` per 500 queries, `json.dumps`, "
    "`r.json()`, sequential (ignores C)",
    "httpx_gather": "`httpx.AsyncClient` (limits = C) + `asyncio.gather` + `Semaphore(C)`, "
    "stdlib json, dicts kept",
    "aiohttp_orjson": "`aiohttp.ClientSession` (`TCPConnector(limit=C)`) + Semaphore + gather, "
    "orjson both ways, dicts kept",
    "aiohttp_attrs": "`aiohttp_orjson` + one frozen slotted attrs object per entry, fields as "
    "sent (no status mapping, date parsing or checks), all kept: the floor of typed results",
    "partner_async": "`SMSPartnerClient(max_concurrency=C).multi_status(queries)`: typed "
    "results, default retries, all kept",
    "partner_async_nodedupe": "diagnostic: the same queries through `iter_multi_status("
    "dedupe_window=0)`, outcomes kept: `partner_async` without de-duplication",
}
SECTION = {
    "clients": "## Clients compared (benchmarks/run.py)",
    "rss": "## Memory: streaming and keeping results (benchmarks/run.py rss)",
    "import": "## Import time (benchmarks/run.py import)",
    "bulk": "## One bulk_status call (benchmarks/run.py bulk)",
    "profile": "## Profile of partner_async (benchmarks/run.py profile)",
    "stages": "## SDK stages in isolation (benchmarks/run.py stages)",
}


# ----------------------------------------------------------------------------- machine


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    cpu_model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = sh(
        f"{shlex.quote(PY)} -c \"import importlib.metadata as m; print(', '.join("
        "f'{p} {m.version(p)}' for p in ('httpx', 'aiohttp', 'orjson', "
        "'anyio', 'msgspec', 'attrs', 'requests', 'uvicorn')))\""
    )
    dirty = sh(f"git -C {shlex.quote(str(ROOT))} status --porcelain -- partner_async")
    return {
        "date": sh("date -u '+%Y-%m-%d %H:%M UTC'"),
        "nproc": sh("nproc"),
        "python": sh(f"{shlex.quote(PY)} -V"),
        "cpu": cpu_model,
        "versions": versions,
        "commit": sh(f"git -C {shlex.quote(str(ROOT))} rev-parse --short HEAD")
        + (f" + uncommitted changes in {len(dirty.splitlines())} partner_async files"
           if dirty else "") + f" ({SNAP.label})",
    }  # fmt: skip


def machine_md(info: dict[str, str], command: str) -> str:
    return (
        f"- date: {info['date']}; machine: {info['nproc']} cores ({info['cpu']}), "
        f"{info['python']}; shared and noisy\n"
        f"- code: {'; '.join(filter(None, (info['commit'], info['versions'])))}\n"
        f"- command: `{command}`\n"
    )


# ----------------------------------------------------------------------------- SDK snapshot


class Snapshot:
    """A frozen copy of ``partner_async/`` that every subprocess of one invocation imports.

    Other people edit ``partner_async/`` while benchmarks run: without a copy, one matrix
    would mix several versions of the SDK (a fresh process per measurement imports
    whatever is on disk then). The copy lives in ``$TMPDIR/partner_async-bench/<hash>``;
    subprocesses get it first on ``PYTHONPATH`` and run from it (``-m`` puts the working
    directory first on ``sys.path``). The copy is byte-compiled, like an installed wheel.
    ``--no-snapshot`` uses the work tree as it is.
    """

    def __init__(self) -> None:
        self.cwd: str = str(ROOT)
        self.env: dict[str, str] | None = None
        self.label = "work tree (no snapshot)"

    def take(self) -> None:
        import hashlib
        import shutil
        import tempfile

        source = ROOT / "partner_async"
        digest = hashlib.sha1()
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(source)).encode() + b"\0")
                digest.update(path.read_bytes())
        tag = digest.hexdigest()[:12]
        home = Path(tempfile.gettempdir()) / "partner_async-bench" / tag
        if not (home / "partner_async").is_dir():
            staging = home.with_name(tag + f".tmp{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(
                source, staging / "partner_async", ignore=shutil.ignore_patterns("__pycache__")
            )
            # byte-compiled, as an installed wheel is (this machine sets
            # PYTHONDONTWRITEBYTECODE, so the work tree is compiled on every import)
            subprocess.run([PY, "-m", "compileall", "-q", str(staging)], check=True)
            staging.rename(home)
        self.cwd = str(home)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(home) + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
        )
        self.env = env
        self.label = f"snapshot {tag} of partner_async/"


SNAP = Snapshot()


# ----------------------------------------------------------------------------- server


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sandbox:
    """``python -m partner_async.sandbox`` on a free loopback port, in its own process."""

    def __init__(self, latency: float, nodelay: bool = False) -> None:
        self.latency = latency
        entry = [str(HERE / "_sandbox_nodelay.py")] if nodelay else ["-m", "partner_async.sandbox"]
        self.proc = subprocess.Popen(
            [PY, *entry, "--port", "0", "--latency", str(latency), "--waiting-polls", "-1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=SNAP.cwd,
            env=SNAP.env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.url = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = re.search(r"SMS Partner base URL:\s+(\S+)", line)
            if match:
                self.url = match.group(1)
                break
        if not self.url:
            self.proc.kill()
            raise RuntimeError("the sandbox did not print its base URL")
        if not re.match(r"http://127\.0\.0\.1:\d+/", self.url):
            self.proc.kill()
            raise RuntimeError(f"refusing a non-loopback sandbox URL {self.url!r}")
        # drain whatever else it prints, so that it never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "Traceback" in line or "ERROR" in line:
                sys.stderr.write(f"[sandbox {self.latency}] {line}")

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def sandboxes(latencies: Sequence[float], nodelay: bool = False) -> Iterator[dict[float, Sandbox]]:
    servers: dict[float, Sandbox] = {}
    try:
        for latency in latencies:
            servers[latency] = Sandbox(latency, nodelay)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def run_worker(
    server: Sandbox,
    client: str,
    n: int,
    c: int,
    extra: Sequence[str] = (),
    timeout: float = 900,
    prefix: Sequence[str] = (),
) -> dict[str, Any]:
    """One measurement in a fresh process; adds the server's CPU seconds meanwhile."""
    cmd = [*prefix, PY, str(WORKER), client, "--url", server.url, "--n", str(n), "--c", str(c),
           *extra]  # fmt: skip
    server_before, busy_before, t0 = server.cpu(), machine_busy(), time.monotonic()
    child_before = children_cpu()
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, cwd=SNAP.cwd, env=SNAP.env
    )
    server_cpu = server.cpu() - server_before
    elapsed = time.monotonic() - t0
    # CPU used on the machine meanwhile by anything but this client and this server
    others = machine_busy() - busy_before - server_cpu - (children_cpu() - child_before)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout)[-2000:]
        return {"client": client, "n": n, "c": c, "error": f"exit {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["server_cpu"] = server_cpu
    result["others_cores"] = max(0.0, others / elapsed)
    return result


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# ----------------------------------------------------------------------------- clients


def ideal(n: int, c: int, latency: float) -> float:
    return math.ceil(n / BATCH / c) * latency


def reps_for(args: argparse.Namespace, client: str, n: int, latency: float) -> int:
    reps = args.reps if args.reps is not None else (3 if n < 1_000_000 else 2)
    if client == "vendor" and n >= 1_000_000:
        reps = min(reps, args.vendor_reps_1m)
        if latency > 0 and args.skip_vendor_1m_latency:
            reps = 0
    return reps


def plan(args: argparse.Namespace) -> list[tuple[int, float, int, int, str]]:
    """(rep, latency, n, c, client) in run order: repetitions outermost, clients interleaved."""
    cells = []
    max_reps = max(
        reps_for(args, cl, n, lat) for cl in args.clients for n in args.n for lat in args.latency
    )
    for rep in range(max_reps):
        for latency in args.latency:
            for n in args.n:
                if n >= 1_000_000 and args.concurrency_1m:
                    concurrencies = [c for c in args.concurrency if c in args.concurrency_1m]
                else:
                    concurrencies = list(args.concurrency)
                for i, c in enumerate(concurrencies):
                    for client in args.clients:
                        if client == "vendor" and i > 0:
                            continue  # the vendor loop ignores C: once per latency and N
                        if rep < reps_for(args, client, n, latency):
                            cells.append((rep, latency, n, c if client != "vendor" else 1, client))
    return cells


def estimate(cells: list[tuple[int, float, int, int, str]]) -> float:
    """A rough duration guess (s) from this machine's typical speeds, for the plan line."""
    total = 0.0
    for _, latency, n, c, client in cells:
        per_item = {"vendor": 8e-6, "httpx_gather": 14e-6}.get(client, 6e-6)
        total += 1.0 + max(n * per_item, ideal(n, c, latency) * 1.1)
    return total


def cmd_clients(args: argparse.Namespace) -> None:
    if args.quick:
        args.n = [100_000]
        args.reps = args.reps or 3
    if args.from_file:
        rows = [json.loads(line) for line in Path(args.from_file).read_text().splitlines() if line]
        meta, rows = rows[0], rows[1:]
    else:
        meta, rows = run_clients(args)
    publish(args, "clients", render_clients(meta, rows))


def run_clients(args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cells = plan(args)
    RAW_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    raw_path = RAW_DIR / f"clients-{stamp}.jsonl"
    meta = {"machine": machine(), "command": args.command_line, "args": vars(args)}
    print(
        f"{len(cells)} runs planned (rough guess {estimate(cells) / 60:.0f} min); "
        f"raw results: {raw_path.relative_to(ROOT)}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    with sandboxes(args.latency, args.nodelay_sandbox) as servers, raw_path.open("w") as raw:
        raw.write(json.dumps(meta, default=str) + "\n")
        for i, (rep, latency, n, c, client) in enumerate(cells, 1):
            result = run_worker(servers[latency], client, n, c)
            result.update(rep=rep, latency=latency)
            if "error" not in result and result["answered"] != n:
                result["error"] = f"answered {result['answered']} of {n}"
            rows.append(result)
            raw.write(json.dumps(result) + "\n")
            raw.flush()
            if "error" in result:
                line = f"ERROR {result['error'][:300]}"
            else:
                line = (
                    f"wall {result['wall']:7.3f} s  cpu {result['cpu'] / n * 1e6:5.2f} us/item  "
                    f"rss {result['maxrss'] / 2**20:6.1f} MB  "
                    f"server {result['server_cpu'] / result['wall'] * 100:3.0f}%  "
                    f"others {result['others_cores'] * 100:3.0f}%"
                )
            print(
                f"[{i:3d}/{len(cells)} {time.monotonic() - started:6.0f}s] rep {rep} "
                f"lat {latency * 1000:3.0f}ms N {n:>9,} C {c:2d} {client:15s} {line}",
                flush=True,
            )
    return meta, rows


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_ratio(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}x"


def render_clients(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    groups: dict[tuple[float, int, int, str], list[dict[str, Any]]] = defaultdict(list)
    errors = [r for r in rows if "error" in r]
    for r in rows:
        if "error" not in r:
            groups[(r["latency"], r["n"], r["c"], r["client"])].append(r)
    summary: dict[tuple[float, int, int, str], dict[str, float]] = {}
    for key, rs in groups.items():
        wall = med([r["wall"] for r in rs])
        summary[key] = {
            "reps": len(rs),
            "wall": wall,
            "wall_min": min(r["wall"] for r in rs),
            "wall_max": max(r["wall"] for r in rs),
            "cpu_us": med([r["cpu"] / r["n"] * 1e6 for r in rs]),
            "rss": med([r["maxrss"] / 2**20 for r in rs]),
            "server": med([r["server_cpu"] / r["wall"] * 100 for r in rs]),
            "client_pct": med([r["cpu"] / r["wall"] * 100 for r in rs]),
            "others": med([r.get("others_cores", float("nan")) * 100 for r in rs]),
        }
    out = [SECTION["clients"], ""]
    out.append(machine_md(meta["machine"], meta["command"]))
    out.append(
        "Each run is one client in a fresh subprocess against `python -m partner_async.sandbox "
        "--latency L --waiting-polls -1` (one uvicorn worker, a separate process; one server per "
        "latency). Queries are N distinct `(+336XXXXXXXX, message_id)` pairs built before "
        "timing. Wall = the status-checking part only (client construction included, close "
        "excluded); CPU = the client process's getrusage user+sys over that part; RSS = "
        "`ru_maxrss`. Medians over the repetitions (`reps`); `range` is min-max of wall. "
        "Ratios: to `aiohttp_orjson` (the hand-written fast path), CPU to `aiohttp_attrs` (the "
        "same with one typed object per entry: `typed`), and to the ideal wall "
        "`ceil(N/500/C) * latency` (C=1 for the vendor loop). `server` is the sandbox "
        "process's CPU during the run, % of one core; `client` likewise for the client; "
        "`others` is what every other process on the (shared, 2-core) machine used meanwhile, "
        "% of one core: a high value marks a disturbed run.\n"
    )
    out.append("Clients:\n")
    shown = [c for c in (*CLIENTS, *DIAGNOSTICS) if c in CLIENTS or any(k[3] == c for k in summary)]
    for client in shown:
        out.append(f"- `{client}`: {DESCRIPTIONS[client]}")
    out.append("")
    cells = sorted({(k[0], k[1]) for k in summary})
    misses: list[str] = []
    for latency, n in cells:
        out.append(f"### latency {latency * 1000:g} ms, N = {n:,}\n")
        out.append(
            "| C | client | reps | wall s (range) | items/s | CPU µs/item | peak RSS MB "
            "| wall / aiohttp | CPU / aiohttp | CPU / typed | ideal s | wall / ideal "
            "| client CPU % | server CPU % | others % |"
        )
        out.append("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        concurrencies = sorted({k[2] for k in summary if k[0] == latency and k[1] == n})
        for c in concurrencies:
            ref = summary.get((latency, n, c, REFERENCE))
            typed = summary.get((latency, n, c, TYPED_FLOOR))
            for client in shown:
                s = summary.get((latency, n, c, client))
                if s is None:
                    continue
                ideal_s = ideal(n, c, latency)
                wall_ratio = s["wall"] / ref["wall"] if ref else float("nan")
                cpu_ratio = s["cpu_us"] / ref["cpu_us"] if ref else float("nan")
                typed_ratio = s["cpu_us"] / typed["cpu_us"] if typed else float("nan")
                ideal_ratio = s["wall"] / ideal_s if ideal_s else float("nan")
                out.append(
                    f"| {c if client != 'vendor' else '1 (seq.)'} | {client} | {s['reps']} "
                    f"| {s['wall']:.3f} ({s['wall_min']:.2f}-{s['wall_max']:.2f}) "
                    f"| {n / s['wall']:,.0f} | {s['cpu_us']:.2f} | {s['rss']:.0f} "
                    f"| {fmt_ratio(wall_ratio)} | {fmt_ratio(cpu_ratio)} "
                    f"| {fmt_ratio(typed_ratio)} | {ideal_s:.2f} | {fmt_ratio(ideal_ratio)} "
                    f"| {s['client_pct']:.0f} | {s['server']:.0f} | {s['others']:.0f} |"
                )
                if client == "partner_async" and ref:
                    why = []
                    if cpu_ratio > 1.3:
                        why.append(f"CPU {cpu_ratio:.2f}x > 1.3x")
                    if wall_ratio > 1.1:
                        why.append(f"wall {wall_ratio:.2f}x > 1.1x")
                    if latency > 0 and ideal_ratio > 1.5:
                        why.append(f"wall/ideal {ideal_ratio:.2f}x > 1.5x")
                    if why:
                        misses.append(f"- {latency * 1000:g} ms, N={n:,}, C={c}: " + "; ".join(why))
        out.append("")
    out.append(
        "Targets for `partner_async`: client CPU per item <= 1.3x and wall <= 1.1x "
        "`aiohttp_orjson` at every concurrency, and wall <= 1.5x the ideal at 50 ms.\n"
    )
    out.append("Misses:\n" if misses else "Misses: none.\n")
    out.extend(misses)
    if errors:
        out.append("\nFailed runs:\n")
        for r in errors:
            out.append(
                f"- {r.get('latency')} s, N={r['n']}, C={r['c']}, {r['client']}: "
                f"{r['error'][:200]!r}"
            )
    out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- rss


def cmd_rss(args: argparse.Namespace) -> None:
    info = machine()
    rows = []
    with sandboxes([0.0], args.nodelay_sandbox) as servers:
        server = servers[0.0]
        jobs = [("baseline", 0)]
        jobs += [("stream", n) for n in args.stream_n]
        jobs += [("keep", args.keep_n), ("keep_dicts", args.keep_n)]
        for rep in range(args.reps):
            for client, n in jobs:
                r = run_worker(server, client, n, args.concurrency)
                r["rep"] = rep
                rows.append(r)
                print(json.dumps(r), flush=True)
    publish(args, "rss", render_rss(info, args.command_line, rows, args.concurrency))


def render_rss(info: dict[str, str], command: str, rows: list[dict[str, Any]], c: int) -> str:
    ok = [r for r in rows if "error" not in r]
    by: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in ok:
        by[(r["client"], r["n"])].append(r)
    out = [SECTION["rss"], "", machine_md(info, command)]
    out.append(
        f"Latency 0, C={c}, results discarded when streaming. `baseline RSS` is the process's "
        "RSS just before the timed part (after imports and, for `keep`, after building the "
        "query list); `peak` is `ru_maxrss`; bytes per item = (peak - baseline) / N. Medians "
        f"of {max(len(v) for v in by.values()) if by else 0} runs.\n"
    )
    out.append("| what | N | answered | wall s | baseline RSS MB | peak RSS MB | "
               "(peak - baseline) / N |")  # fmt: skip
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    labels = {
        "baseline": "python + partner_async imported, nothing run",
        "stream": "partner_async `iter_multi_status(generator)`, batches discarded",
        "keep": "partner_async `multi_status(list)`, results kept",
        "keep_dicts": "aiohttp_orjson, dicts kept (for comparison)",
    }
    for (client, n), rs in sorted(
        by.items(), key=lambda kv: (list(labels).index(kv[0][0]), kv[0][1])
    ):
        base = med([r["baseline_rss"] / 2**20 for r in rs])
        peak = med([r["maxrss"] / 2**20 for r in rs])
        per = (
            med([(r["maxrss"] - r["baseline_rss"]) / r["n"] for r in rs])
            if n and client != "stream"
            else float("nan")
        )
        out.append(
            f"| {labels[client]} | {n:,} | {med([r['answered'] for r in rs]):,.0f} "
            f"| {med([r['wall'] for r in rs]):.2f} | {base:.0f} | {peak:.0f} "
            f"| {'-' if math.isnan(per) else f'{per:.0f} B'} |"
        )
    errors = [r for r in rows if "error" in r]
    for r in errors:
        out.append(f"\nFAILED {r['client']} N={r['n']}: {r['error'][:300]!r}")
    out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- import


def cmd_import(args: argparse.Namespace) -> None:
    info = machine()
    cumulative: list[int] = []
    top: dict[str, list[int]] = defaultdict(list)
    own: list[int] = []
    for _ in range(args.runs):
        done = subprocess.run(
            [PY, "-X", "importtime", "-c", "import partner_async"],
            capture_output=True, text=True, cwd=SNAP.cwd, env=SNAP.env,
        )  # fmt: skip
        parsed = []
        for line in done.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)", line)
            if m:
                parsed.append((int(m[1]), int(m[2]), len(m[3]), m[4]))
        # importtime prints children before their parent: partner_async's subtree is the
        # run of deeper lines just before its own (top-level, indent 1) line
        end = next(i for i, p in enumerate(parsed) if p[3] == "partner_async" and p[2] == 1)
        cumulative.append(parsed[end][1])
        start = end
        while start > 0 and parsed[start - 1][2] > 1:
            start -= 1
        own_us = 0
        for self_us, cum_us, _indent, name in parsed[start : end + 1]:
            if name.startswith("partner_async"):
                own_us += self_us
            elif "." not in name:
                top[name].append(cum_us)  # a package first imported under partner_async
        own.append(own_us)

    def wall(code: str) -> float:
        times = []
        for _ in range(args.runs * 2):
            t0 = time.perf_counter()
            subprocess.run([PY, "-c", code], check=True, cwd=SNAP.cwd, env=SNAP.env)
            times.append(time.perf_counter() - t0)
        return med(times)

    wall_pass, wall_import = wall("pass"), wall("import partner_async")
    out = [SECTION["import"], "", machine_md(info, args.command_line)]
    out.append(
        f'`python -X importtime -c "import partner_async"`, cumulative µs of the top-level '
        f"package: median {med(cumulative) / 1000:.1f} ms over {len(cumulative)} runs "
        f"(range {min(cumulative) / 1000:.1f}-{max(cumulative) / 1000:.1f} ms).\n"
    )
    out.append(
        f"Wall time of a whole process (median of {args.runs * 2}): "
        f'`python -c "import partner_async"` {wall_import * 1000:.0f} ms vs '
        f"`python -c pass` {wall_pass * 1000:.0f} ms: the import adds "
        f"{(wall_import - wall_pass) * 1000:.0f} ms.\n"
    )
    out.append(
        f"partner_async's own modules (self time, summed): {med(own) / 1000:.1f} ms. "
        "Packages first imported under it, by cumulative time (median ms; a package "
        "imported inside another is counted in both):\n"
    )
    out.append("| module | cumulative ms |")
    out.append("|---|---:|")
    ranked = sorted(((med(v), k) for k, v in top.items()), reverse=True)
    for us, name in ranked[:20]:
        out.append(f"| {name} | {us / 1000:.1f} |")
    out.append("")
    publish(args, "import", "\n".join(out))


# ----------------------------------------------------------------------------- bulk


def cmd_bulk(args: argparse.Namespace) -> None:
    info = machine()
    results: dict[bool, list[dict[str, Any]]] = {}
    for nodelay in (False, True):
        rows = []
        with sandboxes([0.0], nodelay) as servers:
            for _ in range(args.reps):
                r = run_worker(servers[0.0], "bulk", 0, 4, ["--calls", str(args.calls)])
                print(json.dumps(r), flush=True)
                if "error" in r:
                    raise SystemExit(f"bulk failed: {r['error']}")
                rows.append(r)
        results[nodelay] = rows
    first = results[False][0]
    out = [SECTION["bulk"], "", machine_md(info, args.command_line)]
    out.append(
        f"One warm `SMSPartnerClient` at latency 0 calls `bulk_status({first['message_id']})` "
        f"({first['recipients']} recipients) {args.calls} times after 20 warm-up calls; per-call "
        "wall (perf_counter) and client CPU (process_time). For comparison, the same GET by "
        "hand with aiohttp + orjson (dicts out). Median of "
        f"{args.reps} processes' medians. Against the stock sandbox and against "
        "`benchmarks/_sandbox_nodelay.py` (the same sandbox with TCP_NODELAY forced on its "
        "listening socket).\n"
    )
    stock = med([r["wall_median"] for r in results[False]])
    nodelay = med([r["wall_median"] for r in results[True]])
    if stock > 5 * nodelay:
        out.append(
            f"The stock sandbox is {stock / nodelay:.0f}x slower per call: its sockets keep "
            "Nagle's algorithm (a socket bound with proto 0 gets no TCP_NODELAY from asyncio), "
            "uvicorn writes headers and body separately, and each small answer on a reused "
            "connection waits ~40 ms for the client's delayed ACK.\n"
        )
    else:
        out.append(
            "Both servers give the same times: the sandbox sets TCP_NODELAY itself (since "
            "commit 4d27d3e; before it, every small answer on a reused connection waited "
            "~44 ms for a delayed ACK: Nagle's algorithm stayed on because the socket was "
            "bound with proto 0, and asyncio sets TCP_NODELAY only for IPPROTO_TCP).\n"
        )
    out.append("| server | client | wall ms / call | client CPU ms / call | p90 wall ms |")
    out.append("|---|---|---:|---:|---:|")
    for nodelay, ok in results.items():
        label = "sandbox + TCP_NODELAY" if nodelay else "stock sandbox"
        out.append(
            f"| {label} | partner_async `bulk_status` "
            f"| {med([r['wall_median'] for r in ok]) * 1e3:.3f} "
            f"| {med([r['cpu_median'] for r in ok]) * 1e3:.3f} "
            f"| {med([r['wall_p90'] for r in ok]) * 1e3:.3f} |"
        )
        out.append(
            f"| {label} | aiohttp + orjson by hand "
            f"| {med([r['raw_wall_median'] for r in ok]) * 1e3:.3f} "
            f"| {med([r['raw_cpu_median'] for r in ok]) * 1e3:.3f} | - |"
        )
    out.append("")
    publish(args, "bulk", "\n".join(out))


# ----------------------------------------------------------------------------- profile

STAGE_ORDER = (
    "normalisation",
    "batching",
    "request encoding (dicts + orjson.dumps)",
    "runner (slots, retries, classify)",
    "SDK transport wrapper (_transport)",
    "transport: httpx client",
    "transport: aiohttp (+ yarl, multidict)",
    "asyncio event loop, sockets",
    "JSON decoding (orjson.loads)",
    "decoding into StatusResult (_wire, msgspec)",
    "matching/merging (_merge, collect, results)",
    "anyio overhead (task group, streams, limiter)",
    "pipeline (_pipeline, _client)",
    "imports inside the call (lazy)",
    "TLS context creation",
    "other",
)


def frame_stage(file: str, func: str) -> str | None:
    """The pipeline stage a frame (file, function) belongs to, or None if it tells nothing."""
    if "importlib" in file:
        return "imports inside the call (lazy)"
    if file.endswith("/ssl.py") or "ssl_context" in func or "SSLContext" in func:
        return "TLS context creation"
    if "orjson" in func and "loads" in func:
        return "JSON decoding (orjson.loads)"
    if "orjson" in func and "dumps" in func:
        return "request encoding (dicts + orjson.dumps)"
    if "partner_async/" in file:
        name = file.rsplit("partner_async/", 1)[1]
        if name == "_wire.py":
            if func.startswith("encode"):
                return "request encoding (dicts + orjson.dumps)"
            if func == "_loads":
                return "JSON decoding (orjson.loads)"
            return "decoding into StatusResult (_wire, msgspec)"
        if name in ("_models.py", "_status.py"):
            return "decoding into StatusResult (_wire, msgspec)"
        if name == "_normalize.py":
            return "normalisation"
        if name == "_batching.py":
            return "batching"
        if name in ("_merge.py", "_results.py") or func in ("collect", "batch_done"):
            return "matching/merging (_merge, collect, results)"
        if name == "_runner.py" and func in ("<listcomp>", "<genexpr>"):
            return "matching/merging (_merge, collect, results)"
        if name in ("_runner.py", "_limits.py", "_retry.py", "_clock.py", "_codes.py"):
            return "runner (slots, retries, classify)"
        if name == "_transport.py":
            return "SDK transport wrapper (_transport)"
        return "pipeline (_pipeline, _client)"
    if "<attrs generated" in file or "/cattrs/" in file:
        return "decoding into StatusResult (_wire, msgspec)"
    if "/anyio/" in file or "/sniffio/" in file:
        return "anyio overhead (task group, streams, limiter)"
    if "/httpx/" in file or "/httpcore/" in file:
        return "transport: httpx client"
    if any(
        x in file
        for x in (
            "/aiohttp/",
            "/yarl/",
            "/multidict/",
            "/propcache/",
            "/frozenlist/",
            "/aiohappyeyeballs/",
            "/aiosignal/",
        )
    ):
        return "transport: aiohttp (+ yarl, multidict)"
    if "/asyncio/" in file or file.endswith(("/selectors.py", "/socket.py")):
        return "asyncio event loop, sockets"
    return None


_FRAME = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")


def short_path(file: str) -> str:
    file = re.sub(r".*/site-packages/", "", file)
    file = re.sub(r".*/lib/python3\.\d+/", "", file)
    return re.sub(r".*/partner_async/", "partner_async/", file)


def analyse_pyspy(paths: list[Path]) -> dict[str, Any]:
    """Samples of the timed part (inside asyncio.run) by stage, own and cumulative frame."""
    by_stage: dict[str, int] = defaultdict(int)
    own: dict[str, int] = defaultdict(int)
    cum: dict[str, int] = defaultdict(int)
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or "asyncio/runners.py" not in stack:
                continue
            count = int(count_text)
            frames = []
            for raw in stack.split(";"):
                m = _FRAME.match(raw)
                func, file = (m[1], m[2]) if m else (raw, "")
                if file and not file.startswith(("/", "<")):
                    file = "/" + file  # py-spy shortens site-packages paths
                frames.append((func, file))
            total += count
            stage = None
            if any("importlib" in f for _, f in frames):
                stage = "imports inside the call (lazy)"
            elif any(frame_stage(f, fn) == "TLS context creation" for fn, f in frames):
                stage = "TLS context creation"
            else:
                for func, file in reversed(frames):
                    stage = frame_stage(file, func)
                    if stage:
                        break
            by_stage[stage or "other"] += count
            func, file = frames[-1]
            own[f"{short_path(file)}:{func}"] += count
            for key in {f"{short_path(file)}:{func}" for func, file in frames}:
                cum[key] += count
    return {"total": total, "by_stage": dict(by_stage), "own": dict(own), "cum": dict(cum)}


def analyse_cprofile(path: Path) -> dict[str, Any]:
    """Own time by stage (builtins charged to their callers' stages) and the top functions."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def shares(key: Any, depth: int = 0) -> dict[str, float]:
        """How a function's own time splits over stages (1.0 in total)."""
        if key in memo:
            return memo[key]
        file, _line, func = key
        stage = frame_stage(file, func)
        if stage or depth > 6:
            result = {stage or "other": 1.0}
        else:
            callers = stats[key][4]
            weights = {c: v[2] for c, v in callers.items()}  # own time when called from c
            total_w = sum(weights.values())
            result = defaultdict(float)
            if not total_w:
                result["other"] = 1.0
            else:
                for caller, w in weights.items():
                    for st, frac in shares(caller, depth + 1).items():
                        result[st] += frac * w / total_w
            result = dict(result)
        memo[key] = result
        return result

    by_stage: dict[str, float] = defaultdict(float)
    entries = []
    total = 0.0
    for key, (_cc, nc, tt, ct, _callers) in stats.items():
        total += tt
        for st, frac in shares(key).items():
            by_stage[st] += tt * frac
        file, line, func = key
        entries.append((tt, ct, nc, f"{short_path(file)}:{line}({func})" if line else func))
    return {"total": total, "by_stage": dict(by_stage), "entries": entries}


VARIANTS = [
    ("aiohttp_orjson", [], "aiohttp_orjson as measured"),
    ("aiohttp_orjson", ["--gc-off"], "aiohttp_orjson, gc disabled"),
    ("partner_async", [], "partner_async as measured"),
    ("partner_async", ["--preimport"], "partner_async, TLS context built before timing"),
    ("partner_async", ["--gc-off"], "partner_async, gc disabled"),
    ("partner_async", ["--preimport", "--gc-off"], "partner_async, both"),
]  # fmt: skip


def variants_table(server: Sandbox, n: int, c: int, reps: int) -> list[str]:
    """What-if runs (worker diagnostics flags), interleaved; CPU medians."""
    got: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(reps):
        for i, (client, flags, _label) in enumerate(VARIANTS):
            r = run_worker(server, client, n, c, flags)
            if "error" in r:
                raise SystemExit(f"variant run failed: {r['error']}")
            got[i].append(r)
    base = med([r["cpu"] for r in got[0]])
    out = [
        f"What-if runs (fresh processes, interleaved, median of {reps}; worker flags "
        "`--preimport`, `--gc-off`):\n",
        "| variant | client CPU µs/item | CPU / aiohttp_orjson | wall s |",
        "|---|---:|---:|---:|",
    ]
    for i, (_client, _flags, label) in enumerate(VARIANTS):
        cpu = med([r["cpu"] for r in got[i]])
        out.append(
            f"| {label} | {cpu / n * 1e6:.2f} | {cpu / base:.2f}x "
            f"| {med([r['wall'] for r in got[i]]):.3f} |"
        )
    out.append("")
    return out


def cmd_profile(args: argparse.Namespace) -> None:
    import shutil

    info = machine()
    PROFILE_DIR.mkdir(exist_ok=True)
    pyspy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    out = [SECTION["profile"], "", machine_md(info, args.command_line)]
    out.append(
        f"`partner_async` at latency 0, N = {args.n:,}, each profile in a fresh process. "
        f"Main view: py-spy sampling at {args.rate} Hz, non-blocking (no instrumentation, so "
        f"shares are undistorted), {args.pyspy_runs} runs pooled, only stacks inside "
        "`asyncio.run` (the timed part). A sample's stage is that of its innermost frame "
        "that belongs to a known module (C calls such as `orjson.loads` count for the "
        "Python frame that made them); a stack under `importlib` counts as a lazy import, "
        "one under `ssl` as TLS setup. Second view: cProfile own time (tottime) by stage, "
        "builtins charged to their callers' stages (cProfile inflates small Python calls, so "
        "its shares lean towards per-item code). µs/item columns scale a share to the "
        "unprofiled client CPU. Raw files: `benchmarks/profiles/` (py-spy raw stacks, "
        "`.prof`, pyinstrument trees).\n"
    )
    with sandboxes([0.0], args.nodelay_sandbox) as servers:
        server = servers[0.0]
        for c in args.concurrency:
            plain = [
                run_worker(server, cl, args.n, c)
                for _ in range(2)
                for cl in ("aiohttp_orjson", "partner_async")
            ]
            stem = PROFILE_DIR / f"partner_async-n{args.n}-c{c}"
            spy_paths = []
            for i in range(args.pyspy_runs):
                spy = Path(f"{stem}.pyspy{i}.txt")
                r = run_worker(
                    server, "partner_async", args.n, c,
                    prefix=[pyspy, "record", "-r", str(args.rate), "--nonblocking", "-f",
                            "raw", "-o", str(spy), "--"],
                )  # fmt: skip
                plain.append({**r, "profiled": "py-spy"})
                spy_paths.append(spy)
            prof = run_worker(
                server, "partner_async", args.n, c, ["--profile", f"cprofile:{stem}.prof"]
            )
            pi = run_worker(
                server, "partner_async", args.n, c,
                ["--profile", f"pyinstrument:{stem}.pyinstrument.txt"],
            )  # fmt: skip
            for r in (*plain, prof, pi):
                if "error" in r:
                    raise SystemExit(f"profile run failed: {r['error']}")
            spy = analyse_pyspy(spy_paths)
            cp = analyse_cprofile(Path(f"{stem}.prof"))
            ref = med([r["cpu"] for r in plain if r["client"] == "aiohttp_orjson"])
            sdk = med(
                [r["cpu"] for r in plain if r["client"] == "partner_async" and "profiled" not in r]
            )
            spy_cpu = med([r["cpu"] for r in plain if r.get("profiled") == "py-spy"])
            per = sdk / args.n * 1e6
            out.append(f"### C = {c}\n")
            out.append(
                f"Unprofiled client CPU: partner_async {per:.2f} µs/item, aiohttp_orjson "
                f"{ref / args.n * 1e6:.2f} µs/item (ratio {sdk / ref:.2f}x). Under py-spy "
                f"{spy_cpu / args.n * 1e6:.2f} µs/item ({spy['total']} samples in the timed "
                f"part); under cProfile {prof['cpu'] / args.n * 1e6:.2f}; under pyinstrument "
                f"{pi['cpu'] / args.n * 1e6:.2f}.\n"
            )
            out.append(
                "| stage | py-spy samples | py-spy share | µs/item (py-spy) | cProfile share "
                "| µs/item (cProfile) |"
            )
            out.append("|---|---:|---:|---:|---:|---:|")
            stages = sorted(
                set(spy["by_stage"]) | set(cp["by_stage"]),
                key=lambda st: -spy["by_stage"].get(st, 0),
            )
            for st in stages:
                n_s = spy["by_stage"].get(st, 0)
                sh_s = n_s / spy["total"] if spy["total"] else 0.0
                sh_c = cp["by_stage"].get(st, 0.0) / cp["total"]
                out.append(
                    f"| {st} | {n_s} | {sh_s * 100:.1f}% | {sh_s * per:.2f} "
                    f"| {sh_c * 100:.1f}% | {sh_c * per:.2f} |"
                )
            out.append("")
            out.append("Top frames by own samples (py-spy; C code counts for its caller):\n")
            out.append("| own | share | µs/item | cumulative share | frame |")
            out.append("|---:|---:|---:|---:|---|")
            for key, n_s in sorted(spy["own"].items(), key=lambda kv: -kv[1])[: args.top]:
                sh_s = n_s / spy["total"]
                out.append(
                    f"| {n_s} | {sh_s * 100:.1f}% | {sh_s * per:.2f} "
                    f"| {spy['cum'][key] / spy['total'] * 100:.1f}% | `{key}` |"
                )
            out.append("")
            out.append("Top frames by cumulative samples (py-spy), below the event loop:\n")
            out.append("| cumulative share | µs/item | frame |")
            out.append("|---:|---:|---|")
            skip = ("asyncio/", "_worker.py", "<module>", "contextlib.py")
            cum_rows = [kv for kv in spy["cum"].items() if not any(x in kv[0] for x in skip)]
            for key, n_s in sorted(cum_rows, key=lambda kv: -kv[1])[: args.top]:
                sh_s = n_s / spy["total"]
                out.append(f"| {sh_s * 100:.1f}% | {sh_s * per:.2f} | `{key}` |")
            out.append("")
            if args.variants:
                out.extend(variants_table(server, args.n, c, args.variant_reps))
            out.append("Top functions by own time under cProfile (with call counts):\n")
            out.append("| own s | cum s | calls | function |")
            out.append("|---:|---:|---:|---|")
            for tt, ct, nc, name in sorted(cp["entries"], reverse=True)[: args.top]:
                out.append(f"| {tt:.3f} | {ct:.3f} | {nc:,} | `{name}` |")
            out.append("")
            print(f"profiled C={c}", flush=True)
    publish(args, "profile", "\n".join(out))


def cmd_stages(args: argparse.Namespace) -> None:
    info = machine()
    with sandboxes([0.0], args.nodelay_sandbox) as servers:
        done = subprocess.run(
            [PY, str(HERE / "_stages.py"), "--url", servers[0.0].url, "--n", str(args.n)],
            capture_output=True, text=True, cwd=SNAP.cwd, env=SNAP.env, timeout=900,
        )  # fmt: skip
    sys.stderr.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"stages failed: {done.stderr[-2000:]}")
    rows: dict[str, list[float | None]] = json.loads(lines[-1])
    out = [SECTION["stages"], "", machine_md(info, args.command_line)]
    out.append(
        f"Each stage of the SDK's per-item work timed alone in one process over N = "
        f"{args.n:,} queries (real sandbox answers fetched once beforehand), best of 5, "
        "process CPU time per item, with the garbage collector on (as in real runs) and off. "
        "`decode_multi_status` parses the documented answer with msgspec straight into "
        "`StatusResult` structs (untracked by the garbage collector); the general path is what "
        "answers in another shape cost. The last rows build one Python object per entry from "
        "the same field values, in the models not chosen (the previous one: frozen slotted "
        "attrs).\n"
    )
    out.append("| stage | µs/item, gc on | µs/item, gc off |")
    out.append("|---|---:|---:|")

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"

    for name, (on, off) in rows.items():
        out.append(f"| {name} | {f(on)} | {f(off)} |")
    out.append("")
    publish(args, "stages", "\n".join(out))


# ----------------------------------------------------------------------------- RESULTS.md


def publish(args: argparse.Namespace, section: str, md: str) -> None:
    """Print a section's Markdown and, unless ``--no-write``, put it into RESULTS.md."""
    print(md)
    if not args.no_write:
        write_section(SECTION[section], md)


def write_section(heading: str, body: str) -> None:
    """Replace (or append) the section that starts with ``heading`` in RESULTS.md.

    A section runs to the next ``## `` heading; other sections are left as they are.
    """
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    body = body.rstrip() + "\n"
    if not body.startswith(heading):
        body = heading + "\n\n" + body
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        text = text.rstrip() + "\n\n" + body
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        text = (
            "".join(lines[:start])
            + body
            + ("\n" if end < len(lines) else "")
            + "".join(lines[end:])
        )
    RESULTS_MD.write_text(text)
    print(f"wrote {heading!r} in {RESULTS_MD.relative_to(ROOT)}", flush=True)


# ----------------------------------------------------------------------------- main


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    sub = parser.add_subparsers(dest="cmd")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
        p.add_argument(
            "--no-snapshot",
            action="store_true",
            help="import partner_async from the work tree instead of a frozen copy",
        )
        p.add_argument(
            "--nodelay-sandbox",
            action="store_true",
            help="serve the sandbox through benchmarks/_sandbox_nodelay.py (TCP_NODELAY on)",
        )

    p = sub.add_parser("clients", help="the four clients compared (the default)")
    common(p)
    p.add_argument("--quick", action="store_true", help="N=100,000 only, 3 repetitions")
    p.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05], help="seconds")
    p.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 64])
    p.add_argument("--concurrency-1m", type=int, nargs="+", default=None,
                   help="run N >= 1,000,000 only at these C (e.g. 16 64)")  # fmt: skip
    p.add_argument("--clients", nargs="+", default=list(CLIENTS), choices=(*CLIENTS, *DIAGNOSTICS))
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions per cell (default 3 for N < 1M, 2 for N >= 1M)")  # fmt: skip
    p.add_argument("--vendor-reps-1m", type=int, default=2,
                   help="repetitions of the vendor loop at N >= 1M (default 2)")  # fmt: skip
    p.add_argument("--skip-vendor-1m-latency", action="store_true",
                   help="skip the vendor loop at N >= 1M, latency > 0 (~110 s a run)")  # fmt: skip
    p.add_argument("--from", dest="from_file", default=None, help="re-render a results .jsonl")

    p = sub.add_parser("rss", help="peak RSS: streaming and keeping results")
    common(p)
    p.add_argument("--stream-n", type=int, nargs="+", default=[1_000_000, 5_000_000])
    p.add_argument("--keep-n", type=int, default=1_000_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--reps", type=int, default=1)

    p = sub.add_parser("import", help="import time of partner_async")
    common(p)
    p.add_argument("--runs", type=int, default=5)

    p = sub.add_parser("bulk", help="cost of one bulk_status call")
    common(p)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--reps", type=int, default=3)

    p = sub.add_parser("profile", help="profile partner_async at latency 0")
    common(p)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    p.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    p.add_argument("--pyspy-runs", type=int, default=3)
    p.add_argument("--top", type=int, default=15, help="rows of the top-function tables")
    p.add_argument("--no-variants", dest="variants", action="store_false",
                   help="skip the what-if runs (--preimport, --gc-off)")  # fmt: skip
    p.add_argument("--variant-reps", type=int, default=3)

    p = sub.add_parser("stages", help="the SDK's per-item stages timed in isolation")
    common(p)
    p.add_argument("--n", type=int, default=100_000)

    sub.add_parser("all", help="clients (default matrix), rss, import, bulk, stages, profile")

    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["clients", *argv]
    args = parser.parse_args(argv)
    args.command_line = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in argv)
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if not getattr(args, "no_snapshot", False):
        SNAP.take()
    if args.cmd == "all":
        for cmd in ("clients", "rss", "import", "bulk", "stages", "profile"):
            sub = parse([cmd])
            sub.command_line = args.command_line
            COMMANDS[cmd](sub)
        return
    COMMANDS[args.cmd](args)


COMMANDS = {
    "clients": cmd_clients,
    "rss": cmd_rss,
    "import": cmd_import,
    "bulk": cmd_bulk,
    "profile": cmd_profile,
    "stages": cmd_stages,
}

if __name__ == "__main__":
    main()
