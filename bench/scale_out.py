"""Scale-out benchmark: one vs two Daphne instances on one Redis + PostgreSQL, with a
Celery worker answering, and shoppers spread over the instances.

For each phase it makes a scratch PostgreSQL database (dropped afterwards), migrates
and seeds the demo store, starts the instances and one worker, drives N shoppers x M
messages (each message waits for its ack and the bot's reply) and prints throughput
and latency; the last line compares two instances with one, measured in this run.

    .venv/bin/python bench/scale_out.py --shoppers 40 --messages 10

`Stack` (start, kill one instance, stop) is also what tests/test_scale_out.py uses for
its failover journey. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_DATABASE_SERVER = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
QUESTIONS = ["运费怎么算", "星河X5多少钱", "怎么退货", "how much is shipping?", "可以分期吗"]
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def scratch_database(server_url: str, *, label: str = "scaleout") -> Iterator[str]:
    """A fresh database on the PostgreSQL server of `server_url`, dropped afterwards."""
    import psycopg

    name = f"csbot_{label}_{secrets.token_hex(4)}"
    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """N Daphne instances and one Celery worker sharing a database and Redis."""

    def __init__(
        self, *, database_url: str, redis_url: str, broker_url: str, instances: int
    ) -> None:
        self.var_dir = Path(tempfile.mkdtemp(prefix="csbot-scale-"))
        prefix = f"scale{secrets.token_hex(4)}"
        self.env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
        self.env.update(
            DJANGO_SETTINGS_MODULE="csbot.settings",
            DEBUG="1",
            PYTHONUNBUFFERED="1",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CSBOT_VAR_DIR=str(self.var_dir),
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=broker_url,
            CELERY_TASK_ALWAYS_EAGER="0",
            CSBOT_CHANNEL_PREFIX=prefix,
            CSBOT_CACHE_PREFIX=prefix,
            # Load comes from few sockets on one IP: lift the abuse limits.
            CSBOT_MESSAGES_PER_MINUTE="100000",
            CSBOT_IP_MESSAGES_PER_MINUTE="1000000",
            CSBOT_WS_FRAMES_PER_10S="100000",
        )
        self.instances = instances
        self.procs: list[subprocess.Popen | None] = []
        self.urls: list[str] = []
        self.worker: subprocess.Popen | None = None

    def _log(self, name: str):
        return (self.var_dir / f"{name}.log").open("wb")

    def _manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {result.stderr[-2000:]}")

    def start(self) -> Stack:
        self._manage("migrate", "--noinput", "-v", "0")
        self._manage("seed_demo", "-v", "0")
        # The broker may hold tasks from an earlier run: start from empty queues.
        self.purge()
        for index in range(self.instances):
            port = free_port()
            with self._log(f"daphne-{index}") as log:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port)]
                        + ["csbot.asgi:application"],
                        cwd=ROOT,
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            self.urls.append(f"http://{HOST}:{port}")
        with self._log("worker") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "csbot", "worker", "-Q", "inference,default"]
                + ["-c", "2", "-l", "INFO", "-n", f"scale-{secrets.token_hex(3)}@%h"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        for url in self.urls:
            self._wait(lambda url=url: self._healthy(url), deadline, f"{url}/healthz")
        self._wait(
            lambda: b" ready." in (self.var_dir / "worker.log").read_bytes(), deadline, "worker"
        )
        return self

    def purge(self) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "csbot",
                "purge",
                "-f",
                "-Q",
                "inference,default",
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=60,
            check=False,
        )

    @staticmethod
    def _healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _wait(self, ready, deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [p for p in [*self.procs, self.worker] if p is not None and p.poll() is not None]
            if dead:
                raise RuntimeError(f"a process exited while waiting for {what}:\n{self.logs()}")
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready in time:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
            for p in sorted(self.var_dir.glob("*.log"))
        )

    def sweep(self, *, older_than_s: int = 0) -> None:
        """Re-queue shopper messages left unanswered (what beat does every minute)."""
        self._manage("sweep_unanswered", "--older-than", str(older_than_s), "-v", "0")

    def kill(self, index: int) -> None:
        """Kill one instance at once (SIGKILL: no goodbye to its sockets)."""
        proc = self.procs[index]
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in [*self.procs, self.worker]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.procs, self.worker]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            for path in self.var_dir.iterdir():
                path.unlink()
            self.var_dir.rmdir()

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


# --- load ---------------------------------------------------------------------------


@dataclass
class PhaseResult:
    instances: int
    shoppers: int
    messages: int
    replies: int
    errors: int
    wall_s: float
    replies_per_s: float
    p50_ms: float
    p99_ms: float
    error_kinds: dict[str, int]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


async def _shopper(
    url: str, index: int, messages: int, latencies: list[float], kinds: Counter[str]
) -> int:
    """One shopper: connect, then ask `messages` questions one after another."""
    from websockets.asyncio.client import connect

    errors = 0
    ws_url = url.replace("http://", "ws://") + "/ws/chat/"
    async with connect(ws_url, origin=url, ping_interval=None, compression=None) as ws:
        json.loads(await ws.recv())  # conversation
        for n in range(messages):
            cid = f"s{index}-{n}"
            started = time.perf_counter()
            await ws.send(
                json.dumps(
                    {"type": "message", "text": QUESTIONS[n % len(QUESTIONS)], "client_msg_id": cid}
                )
            )
            seq = None
            try:
                async with asyncio.timeout(30):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("type") == "ack" and frame.get("client_msg_id") == cid:
                            seq = frame["seq"]
                        elif frame.get("type") == "bot" and seq and frame.get("reply_to") == seq:
                            break
                        elif frame.get("type") == "error":
                            raise RuntimeError(frame.get("code"))
            except TimeoutError:
                errors += 1
                kinds["timeout" if seq else "no_ack"] += 1
                continue
            except RuntimeError as exc:
                errors += 1
                kinds[f"error:{exc}"] += 1
                continue
            latencies.append(time.perf_counter() - started)
    return errors


async def load(urls: list[str], *, shoppers: int, messages: int) -> PhaseResult:
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(_shopper(urls[i % len(urls)], i, messages, latencies, kinds) for i in range(shoppers))
    )
    wall = time.perf_counter() - started
    return PhaseResult(
        instances=len(urls),
        shoppers=shoppers,
        messages=messages,
        replies=len(latencies),
        errors=sum(errors),
        wall_s=round(wall, 2),
        replies_per_s=round(len(latencies) / wall, 1),
        p50_ms=round(_pct(latencies, 50) * 1000, 1),
        p99_ms=round(_pct(latencies, 99) * 1000, 1),
        error_kinds=dict(kinds),
    )


def phase(args: argparse.Namespace, instances: int) -> PhaseResult:
    with (
        scratch_database(args.database_server) as database_url,
        Stack(
            database_url=database_url,
            redis_url=args.redis,
            broker_url=args.broker or args.redis,
            instances=instances,
        ) as stack,
    ):
        asyncio.run(load(stack.urls, shoppers=max(2, args.shoppers // 10), messages=2))  # warm
        return asyncio.run(load(stack.urls, shoppers=args.shoppers, messages=args.messages))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--database-server", default=DEFAULT_DATABASE_SERVER)
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="channel layer and cache")
    parser.add_argument("--broker", default=None, help="Celery broker (default: --redis)")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    results = [phase(args, n) for n in args.instances]
    print("| instances | shoppers | replies | errors | replies/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.instances} | {r.shoppers} | {r.replies} | {r.errors} | {r.replies_per_s} "
            f"| {r.p50_ms} | {r.p99_ms} |"
        )
    print(json.dumps([asdict(r) for r in results]))
    if len(results) == 2:
        one, two = results
        ratio = two.replies_per_s / one.replies_per_s if one.replies_per_s else float("nan")
        print(
            f"{two.instances} instances / {one.instances} throughput: {ratio:.2f}x "
            f"(os.cpu_count()={os.cpu_count()}, load average before: {args.load_before})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
