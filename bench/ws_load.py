"""WebSocket load benchmark: N concurrent shoppers on /ws/chat/ against a bare echo baseline.

Starts a real Daphne server (bench.echo_asgi: the project's app plus /ws/echo/) on a free
loopback port with a fresh SQLite database, then drives the same N x M load through the
chat path and through the echo route and prints throughput and latency percentiles for
both. The bar from the issue: at 50 shoppers, chat p99 under 100 ms and at least a
quarter of the echo throughput.

    .venv/bin/python bench/ws_load.py --shoppers 50 --messages 20
    .venv/bin/python bench/ws_load.py --shoppers 50 --messages 20 --redis redis://127.0.0.1:6379/3

Every wait is bounded and all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# Questions the demo bot answers without a handoff; "它支持无线充电吗" leans on the
# product named by the question before it, as a real shopper would.
QUESTIONS = [
    "运费怎么算",
    "星河X5多少钱",
    "它支持无线充电吗",
    "X5 Lite有货吗",
    "怎么退货",
    "how much is shipping?",
    "is the cloud buds pro in stock?",
    "发票怎么开",
    "可以分期吗",
    "你好",
]

# Inherited variables that would move the server off its embedded defaults.
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "ALLOWED_HOSTS",
    "SECRET_KEY",
)

P99_BAR_MS = 100.0
THROUGHPUT_BAR = 0.25
BAR_SHOPPERS = 50


class BenchError(Exception):
    """A failed exchange; `kind` is the key it is counted under."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- the server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """One Daphne process serving bench.echo_asgi, with its own SQLite database."""

    def __init__(
        self,
        *,
        var_dir: Path,
        redis_url: str | None,
        run_id: str,
        wrap: list[str],
        settings_module: str = "csbot.settings",
        asgi_app: str = "bench.echo_asgi:application",
        extra_env: dict[str, str] | None = None,
        debug: bool = False,
        model: bool = False,
    ):
        self.debug = debug
        self.model = model
        self.secret_key = secrets.token_urlsafe(64)
        self.var_dir = var_dir
        self.settings_module = settings_module
        self.asgi_app = asgi_app
        self.extra_env = extra_env or {}
        self.redis_url = redis_url
        self.run_id = run_id
        self.wrap = wrap
        self.port = free_port()
        self.log_path = var_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def key_prefix(self) -> str:
        """Every Redis key this run creates starts with this (cache and channel layer)."""
        return f"csbotbench{self.run_id}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings_module,
            CSBOT_VAR_DIR=str(self.var_dir),
            # A production deployment on the embedded backends: DEBUG off (no query
            # log), a throwaway key, plain HTTP on loopback. --debug turns DEBUG back on.
            DEBUG="1" if self.debug else "0",
            SECRET_KEY=self.secret_key,
            SECURE_SSL_REDIRECT="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL="WARNING",
            CSBOT_MESSAGES_PER_MINUTE="1000000",
            CSBOT_IP_MESSAGES_PER_MINUTE="1000000",
            CSBOT_WS_FRAMES_PER_10S="1000000",
            # Every reply runs the whole pipeline: the hot-question cache would
            # answer the bench's ten repeated questions without it.
            CSBOT_HOT_CACHE_TTL_S="0",
            PYTHONUNBUFFERED="1",
        )
        if self.redis_url:
            env.update(
                REDIS_URL=self.redis_url,
                # REDIS_URL makes Redis the Celery broker too; there is no worker here,
                # so replies are generated in-process, as in the embedded mode.
                CELERY_TASK_ALWAYS_EAGER="1",
                CSBOT_CHANNEL_PREFIX=f"{self.key_prefix}l",
                CSBOT_CACHE_PREFIX=f"{self.key_prefix}c",
            )
        env.update(self.extra_env)
        return env

    def prepare(self) -> None:
        """Migrate a fresh database and load the demo store."""
        commands = [["migrate", "--noinput"], ["seed_demo"]]
        if self.model:
            commands.append(["intents_ensure_model"])
        for command in commands:
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(
                    f"manage.py {' '.join(command)} failed ({done.returncode}):\n"
                    f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
                )

    def start(self, *, timeout_s: float = 60.0) -> None:
        command = [
            *self.wrap,
            sys.executable,
            "-m",
            "daphne",
            "-b",
            HOST,
            "-p",
            str(self.port),
            self.asgi_app,
        ]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_healthy(timeout_s)

    def _wait_healthy(self, timeout_s: float) -> None:
        assert self.proc is not None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"http://{HOST}:{self.port}/healthz"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with opener.open(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"server not healthy after {timeout_s:.0f} s:\n{self.log_tail()}")

    @property
    def daphne_pid(self) -> int | None:
        """The Daphne process (a wrapper such as py-spy runs it as its child)."""
        if self.proc is None:
            return None
        if not self.wrap:
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(children.read_text().split()[0])
        return None

    def cpu_seconds(self) -> float | None:
        pid = self.daphne_pid
        return cpu_seconds(pid) if pid else None

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        """Stop the server (SIGTERM to Daphne; SIGINT to a profiler wrapping it, so it
        writes its output) and wait for it, killing it if it does not exit in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if self.wrap else signal.SIGTERM)
            try:
                self.proc.wait(timeout=30 if self.wrap else 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def redis_cleanup(self) -> int:
        """Delete this run's keys (and nothing else) from Redis."""
        if not self.redis_url:
            return 0
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"{self.key_prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
            return len(keys)
        finally:
            client.close()


# --- the load --------------------------------------------------------------------


@dataclass
class PhaseResult:
    target: str
    shoppers: int
    messages: int
    replies: int
    wall_s: float
    replies_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    server_cpu_ms_per_reply: float | None = None
    client_cpu_ms_per_reply: float | None = None
    intents: dict[str, int] = field(default_factory=dict)
    handoff_frames: int = 0


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


class Shopper:
    """One WebSocket connection that asks questions one at a time."""

    def __init__(self, ws: Any, *, target: str, index: int, run_id: str, timeout_s: float):
        self.ws = ws
        self.target = target
        self.index = index
        self.run_id = run_id
        self.timeout_s = timeout_s
        self.intents: Counter[str] = Counter()
        self.handoff_frames = 0
        # Bot replies that arrived before the ack of the message they answer: seq -> time.
        self._early: dict[int, float] = {}

    def frame_for(self, n: int) -> tuple[str, str]:
        client_msg_id = f"b{self.run_id}-{self.index}-{n}"
        text = QUESTIONS[(self.index + n) % len(QUESTIONS)]
        frame = {"type": "message", "text": text, "client_msg_id": client_msg_id}
        return client_msg_id, json.dumps(frame, ensure_ascii=False)

    async def ask(self, n: int) -> float:
        """Send message n and return seconds until its answer arrives."""
        client_msg_id, frame = self.frame_for(n)
        started = time.perf_counter()
        await self.ws.send(frame)
        try:
            async with asyncio.timeout(self.timeout_s):
                if self.target == "echo":
                    return await self._await_echo(frame, started)
                return await self._await_bot(client_msg_id, started)
        except TimeoutError as exc:
            raise BenchError("timeout") from exc

    async def _await_echo(self, frame: str, started: float) -> float:
        while True:
            if await self.ws.recv() == frame:
                return time.perf_counter() - started

    async def _await_bot(self, client_msg_id: str, started: float) -> float:
        ack_seq: int | None = None
        while True:
            raw = await self.ws.recv()
            received = time.perf_counter()
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise BenchError("bad_json") from exc
            kind = data.get("type")
            if kind == "ack" and data.get("client_msg_id") == client_msg_id:
                ack_seq = data.get("seq")
                if ack_seq in self._early:
                    return self._early.pop(ack_seq) - started
            elif kind == "bot":
                self.intents[str(data.get("intent"))] += 1
                reply_to = data.get("reply_to")
                if ack_seq is not None and reply_to == ack_seq:
                    return received - started
                if isinstance(reply_to, int):
                    self._early[reply_to] = received
            elif kind == "error":
                raise BenchError(f"error:{data.get('code')}")
            elif kind == "handoff":
                self.handoff_frames += 1

    async def run(self, first: int, count: int, latencies: list[float], errors: Counter) -> None:
        for n in range(first, first + count):
            try:
                latencies.append(await self.ask(n))
            except BenchError as exc:
                errors[exc.kind] += 1
            except ConnectionClosed:
                errors["closed"] += 1
                errors["not_sent"] += first + count - n - 1
                return


async def open_shopper(
    *, target: str, port: int, index: int, run_id: str, timeout_s: float
) -> Shopper:
    """Connect (with the Origin the server expects) and, for chat, read the
    conversation frame; connection setup is not part of any timing."""
    ws = await websockets.connect(
        f"ws://{HOST}:{port}/ws/{target}/",
        origin=f"http://{HOST}:{port}",
        open_timeout=timeout_s,
        close_timeout=2,
        ping_interval=None,
        compression=None,
        proxy=None,
        max_size=2**20,
    )
    if target == "chat":
        try:
            async with asyncio.timeout(timeout_s):
                first = json.loads(await ws.recv())
        except BaseException:
            await ws.close()
            raise
        if not isinstance(first, dict) or first.get("type") != "conversation":
            await ws.close()
            raise BenchError("first_frame_not_conversation")
    return Shopper(ws, target=target, index=index, run_id=run_id, timeout_s=timeout_s)


async def run_phase(
    *, target: str, server: Server, args: argparse.Namespace, run_id: str
) -> PhaseResult:
    errors: Counter[str] = Counter()
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def connect(index: int) -> Shopper | None:
        async with gate:
            try:
                return await open_shopper(
                    target=target,
                    port=server.port,
                    index=index,
                    run_id=run_id,
                    timeout_s=args.timeout,
                )
            except BenchError as exc:
                errors[exc.kind] += 1
            except (OSError, ValueError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                errors[f"connect:{type(exc).__name__}"] += 1
            errors["not_sent"] += args.messages
            return None

    opened = await asyncio.gather(*(connect(i) for i in range(args.shoppers)))
    shoppers = [s for s in opened if s is not None]
    try:
        warm_errors: Counter[str] = Counter()
        await asyncio.gather(*(s.run(0, args.warmup, [], warm_errors) for s in shoppers))
        errors.update({f"warmup:{kind}": count for kind, count in warm_errors.items()})
        for shopper in shoppers:
            shopper.intents.clear()
            shopper.handoff_frames = 0

        latencies: list[float] = []
        server_cpu = server.cpu_seconds()
        client_cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(
            *(s.run(args.warmup, args.messages, latencies, errors) for s in shoppers)
        )
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_end = server.cpu_seconds()
    finally:
        await asyncio.gather(*(s.ws.close() for s in shoppers), return_exceptions=True)

    latencies.sort()
    replies = len(latencies)
    intents: Counter[str] = Counter()
    for shopper in shoppers:
        intents.update(shopper.intents)
    per_reply = 1000.0 / replies if replies else None
    return PhaseResult(
        target=target,
        shoppers=args.shoppers,
        messages=args.messages,
        replies=replies,
        wall_s=round(wall, 3),
        replies_per_s=round(replies / wall, 1) if wall > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p90_ms=round(percentile(latencies, 90) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        max_ms=round((latencies[-1] if latencies else 0.0) * 1000, 2),
        errors=sum(errors.values()),
        error_kinds=dict(errors),
        server_cpu_ms_per_reply=(
            round((server_end - server_cpu) * per_reply, 3)
            if per_reply and server_cpu is not None and server_end is not None
            else None
        ),
        client_cpu_ms_per_reply=round(client_cpu * per_reply, 3) if per_reply else None,
        intents=dict(intents.most_common()),
        handoff_frames=sum(s.handoff_frames for s in shoppers),
    )


# --- report ----------------------------------------------------------------------


def load_average() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "n/a"


def verdict(chat: PhaseResult | None, echo: PhaseResult | None) -> dict[str, Any]:
    if chat is None or echo is None or not echo.replies_per_s:
        return {"ratio": None, "holds": None}
    ratio = chat.replies_per_s / echo.replies_per_s
    return {
        "ratio": round(ratio, 3),
        "p99_ok": chat.p99_ms < P99_BAR_MS,
        "throughput_ok": ratio >= THROUGHPUT_BAR,
        "no_errors": chat.errors == 0,
        "holds": chat.p99_ms < P99_BAR_MS and ratio >= THROUGHPUT_BAR and chat.errors == 0,
        "at_bar_shoppers": chat.shoppers == BAR_SHOPPERS,
    }


def print_report(
    mode: str, load_before: str, results: dict[str, PhaseResult], bar: dict[str, Any]
) -> None:
    print(f"\nmode: {mode}")
    print(
        f"machine: {os.cpu_count()} CPUs shared by server and client; "
        f"load average before the run {load_before}, after {load_average()}"
    )
    head = (
        f"{'target':<6} {'shoppers':>8} {'msgs':>5} {'replies':>7} {'wall s':>7} "
        f"{'replies/s':>9} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'errors':>6} {'cpu ms/reply srv/cli':>20}"
    )
    print(head)
    print("-" * len(head))
    for r in results.values():
        srv = "-" if r.server_cpu_ms_per_reply is None else f"{r.server_cpu_ms_per_reply:.2f}"
        cli = "-" if r.client_cpu_ms_per_reply is None else f"{r.client_cpu_ms_per_reply:.2f}"
        print(
            f"{r.target:<6} {r.shoppers:>8} {r.messages:>5} {r.replies:>7} {r.wall_s:>7.2f} "
            f"{r.replies_per_s:>9.1f} {r.p50_ms:>7.1f} {r.p90_ms:>7.1f} {r.p99_ms:>7.1f} "
            f"{r.max_ms:>7.1f} {r.errors:>6} {srv + ' / ' + cli:>20}"
        )
    for r in results.values():
        if r.error_kinds:
            print(f"{r.target} errors: {r.error_kinds}")
    chat = results.get("chat")
    if chat is not None:
        print(f"chat intents: {chat.intents}; handoff frames: {chat.handoff_frames}")
    if bar.get("ratio") is None:
        return
    print(f"chat/echo throughput: {bar['ratio']:.2f}")
    note = "" if bar["at_bar_shoppers"] else f" (the bar is set at {BAR_SHOPPERS} shoppers)"
    print(
        f"bar (p99 < {P99_BAR_MS:.0f} ms: {'yes' if bar['p99_ok'] else 'no'}, "
        f">= {THROUGHPUT_BAR:.0%} of echo: {'yes' if bar['throughput_ok'] else 'no'}, "
        f"no errors: {'yes' if bar['no_errors'] else 'no'}): "
        f"{'HOLDS' if bar['holds'] else 'MISSED'}{note}"
    )


# --- main ------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=50, help="concurrent connections")
    parser.add_argument("--messages", type=int, default=20, help="timed messages per shopper")
    parser.add_argument("--warmup", type=int, default=3, help="untimed messages per shopper")
    parser.add_argument("--redis", metavar="URL", help="run the server on Redis (REDIS_URL)")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--targets", default="chat,echo", help="comma-separated: chat, echo (default both)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per reply/connect")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate chat and echo this many times"
    )
    parser.add_argument(
        "--deadline", type=float, default=900.0, help="seconds the whole load may take"
    )
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="record the server with py-spy (on PATH) into this file: .txt collapsed stacks, "
        ".svg flame graph, else speedscope JSON",
    )
    parser.add_argument(
        "--settings",
        default="csbot.settings",
        help="server DJANGO_SETTINGS_MODULE, to try a settings variant (default csbot.settings)",
    )
    parser.add_argument(
        "--asgi",
        default="bench.echo_asgi:application",
        help="ASGI app Daphne serves; it must route /ws/chat/ and /ws/echo/",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra server environment variable (repeatable), applied last",
    )
    parser.add_argument(
        "--debug", action="store_true", help="run the server with DEBUG=1 (default DEBUG=0)"
    )
    parser.add_argument(
        "--model",
        action="store_true",
        help="train and activate the fastText intent model first (else the keyword router)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (db, server log)")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not targets or any(t not in ("chat", "echo") for t in targets):
        parser.error("--targets takes chat and/or echo")
    if args.shoppers < 1 or args.messages < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--shoppers, --messages and --rounds must be >= 1, --warmup >= 0")
    args.targets = targets
    try:
        args.server_env = dict(item.split("=", 1) for item in args.server_env)
    except ValueError:
        parser.error("--server-env takes KEY=VALUE")
    return args


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Explicit handlers: a shell starting this in the background may have set SIGINT to
    # "ignore", which Python and the server would otherwise inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm)
    run_id = secrets.token_hex(4)
    load_before = load_average()
    wrap: list[str] = []
    if args.py_spy:
        out = Path(args.py_spy).resolve()
        fmt = {".txt": "raw", ".svg": "flamegraph"}.get(out.suffix, "speedscope")
        wrap = ["py-spy", "record", "--threads", "-r", "250", "-f", fmt, "-o", str(out), "--"]
    tmp = Path(tempfile.mkdtemp(prefix="csbot-bench-"))
    server = Server(
        var_dir=tmp,
        redis_url=args.redis,
        run_id=run_id,
        wrap=wrap,
        settings_module=args.settings,
        asgi_app=args.asgi,
        extra_env=args.server_env,
        debug=args.debug,
        model=args.model,
    )
    mode = (
        f"redis ({args.redis}, keys under {server.key_prefix}*; "
        "CELERY_TASK_ALWAYS_EAGER=1: replies generated in the server process)"
        if args.redis
        else "embedded (SQLite, in-memory channel layer, locmem cache, eager Celery)"
    ) + (", DEBUG=1" if args.debug else ", DEBUG=0")
    mode += ", intent model: fastText" if args.model else ", intent routing: keyword router"
    results: dict[str, PhaseResult] = {}
    try:
        print(f"preparing database in {tmp} ...", flush=True)
        server.prepare()
        server.start()
        print(f"server on {HOST}:{server.port} (pid {server.proc.pid}); mode: {mode}", flush=True)

        rounds: dict[str, list[PhaseResult]] = {t: [] for t in args.targets}

        async def load() -> None:
            # Targets alternate round by round, so a burst of load from elsewhere on the
            # machine lands on both; each target reports its median round.
            async with asyncio.timeout(args.deadline):
                for round_no in range(1, args.rounds + 1):
                    for target in args.targets:
                        print(
                            f"round {round_no}/{args.rounds} {target}: {args.shoppers} shoppers "
                            f"x {args.messages} messages (+{args.warmup} warm-up) ...",
                            flush=True,
                        )
                        rounds[target].append(
                            await run_phase(target=target, server=server, args=args, run_id=run_id)
                        )
            for target, runs in rounds.items():
                ordered = sorted(runs, key=lambda r: r.replies_per_s)
                results[target] = ordered[len(ordered) // 2]
                if len(runs) > 1:
                    per_round = ", ".join(f"{r.replies_per_s:.0f}" for r in runs)
                    print(f"{target} replies/s by round: {per_round} (median reported)")

        try:
            asyncio.run(load())
        except TimeoutError:
            print(f"load did not finish within --deadline {args.deadline:.0f} s", file=sys.stderr)
            return 2
        if server.proc is not None and server.proc.poll() is not None:
            print(f"server died during the run:\n{server.log_tail()}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            removed = server.redis_cleanup()
            if removed:
                print(f"removed {removed} Redis keys under {server.key_prefix}*")
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)

    bar = verdict(results.get("chat"), results.get("echo"))
    print_report(mode, load_before, results, bar)
    if args.json:
        payload = {
            "config": {
                "shoppers": args.shoppers,
                "messages": args.messages,
                "warmup": args.warmup,
                "rounds": args.rounds,
                "mode": "redis" if args.redis else "embedded",
                "redis": args.redis,
                "celery_eager": True,
                "debug": args.debug,
                "cpus": os.cpu_count(),
                "load_average_before": load_before,
                "settings": args.settings,
                "asgi": args.asgi,
                "server_env": args.server_env,
                "python": sys.version.split()[0],
            },
            "results": {k: asdict(v) for k, v in results.items()},
            "bar": {"p99_ms": P99_BAR_MS, "throughput_share": THROUGHPUT_BAR, **bar},
        }
        Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
