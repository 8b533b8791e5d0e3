"""A real Celery worker on the real Redis broker, killed in the middle of a reply task:
the reply is neither lost nor doubled, and redelivery is bounded.

The worker, and the shell that stores the shopper's message, run as separate processes
on a fresh SQLite store (WAL) with Redis as broker and cache; the LLM is a fake
OpenAI-compatible server in this process, so the test knows when the task is inside
the model call and can kill it there. Runs whenever Redis answers; skips otherwise,
and fails instead when CSBOT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psutil
import pytest
import redis

from tests.test_llm_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
# The suite's Redis, but another database: other tests' cache.clear() flushes the
# suite's database, queues included. Each test has its own queue and cache prefix.
_SUITE_REDIS = os.environ.get(
    "TEST_REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
)
REDIS_URL = os.environ.get(
    "CSBOT_WORKER_TEST_REDIS_URL", urlunparse(urlparse(_SUITE_REDIS)._replace(path="/12"))
)
GREETING = "您好，欢迎光临星河商城！请问想了解哪件商品？"
WAIT_S = 60
# Environment that would point the children elsewhere; they get their own.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")


def _redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CSBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis at {REDIS_URL} is required: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable")
    return client


def _wait(predicate, what: str, timeout: float = WAIT_S, logs=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{logs()}" if logs else ""))


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    """One migrated SQLite store; each test works on its own copy."""
    _redis()
    var = tmp_path_factory.mktemp("worker-kill-template")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(CSBOT_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="csbot.settings")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return var / "db.sqlite3"


class Deployment:
    """A worker deployment with its own queue, cache prefix and SQLite store."""

    def __init__(self, var: Path, fake: FakeOpenAI, **extra: str) -> None:
        self.var = var
        self.prefix = f"csbot-test-{uuid.uuid4().hex[:10]}"
        self.queue = f"{self.prefix}-inference"
        self.env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
        self.env.update(
            CSBOT_VAR_DIR=str(var),
            DJANGO_SETTINGS_MODULE="csbot.settings",
            PYTHONUNBUFFERED="1",
            REDIS_URL=REDIS_URL,
            CSBOT_INFERENCE_QUEUE=self.queue,
            CSBOT_CACHE_PREFIX=self.prefix + "-cache",
            CSBOT_CHANNEL_PREFIX=self.prefix + "-layer",
            # Limits generous for a loaded 2-core machine; the visibility timeout above
            # them, short enough for the test to wait for a redelivery.
            CELERY_TASK_SOFT_TIME_LIMIT="15",
            CELERY_TASK_TIME_LIMIT="20",
            CELERY_VISIBILITY_TIMEOUT_S="25",
            CELERY_UNACKED_RESTORE_INTERVAL_S="2",
            CSBOT_LLM_BACKEND="openai",
            CSBOT_LLM_OPENAI_BASE_URL=fake.base_url,
            CSBOT_LLM_OPENAI_MODEL="qwen-fake",
            CSBOT_LLM_DEADLINE_S="2",
            LOG_LEVEL="INFO",
        )
        self.env.update(extra)
        self.workers: list[tuple[subprocess.Popen, Path]] = []

    def worker_start(self) -> psutil.Process:
        log_path = self.var / f"worker{len(self.workers)}.log"
        log = log_path.open("w")
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "csbot", "worker",
                "-Q", self.queue, "-c", "1", "-P", "prefork",
                "-n", f"kill{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h",
                "--without-mingle", "--without-gossip", "-l", "INFO",
            ],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.workers.append((proc, log_path))
        _wait(lambda: " ready." in log_path.read_text() or proc.poll() is not None, "worker")
        assert proc.poll() is None, log_path.read_text()[-3000:]
        return psutil.Process(proc.pid)

    def message_store(self, text: str) -> int:
        """Store a shopper message through the service, which queues its reply task."""
        code = (
            "from conversations import services\n"
            "from csbot.identity import Shopper\n"
            "c = services.conversation_open(shopper=Shopper(user=None, visitor_id='v_kill'),"
            " channel='web', language='zh')\n"
            f"m, _ = services.message_receive(conversation=c, text={text!r},"
            " client_msg_id='kill-1')\n"
            "print('MESSAGE', m.pk)\n"
        )
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return int(out.stdout.split("MESSAGE", 1)[1].split()[0])

    def bot_replies(self, message_id: int) -> list[str]:
        with sqlite3.connect(self.var / "db.sqlite3", timeout=10) as db:
            rows = db.execute(
                "SELECT text FROM conversations_message WHERE reply_to_id = ? AND sender = 'bot'",
                (message_id,),
            ).fetchall()
        return [text for (text,) in rows]

    def broker_pending(self) -> int:
        """Messages still in the broker: queued plus delivered-but-unacked."""
        client = _redis()
        queued = client.llen(self.queue)
        unacked = sum(
            1
            for raw in client.hvals("unacked")
            if json.loads(raw)[2] == self.queue  # [message, exchange, routing key]
        )
        return queued + unacked

    def logs(self) -> str:
        return "\n".join(path.read_text()[-4000:] for _, path in self.workers)

    def stop(self) -> None:
        for proc, _ in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        client = _redis()
        keys = [*client.scan_iter(f"{self.prefix}*"), *client.scan_iter(f"*{self.queue}*")]
        if keys:
            client.delete(*keys)


@pytest.fixture
def deployment(migrated_db, tmp_path):
    fake = FakeOpenAI(mode="hang", answer="您好呀！这里是星河商城，请问有什么可以帮您？")
    shutil.copy(migrated_db, tmp_path / "db.sqlite3")
    made: list[Deployment] = []

    def make(**extra: str) -> Deployment:
        made.append(Deployment(tmp_path, fake, **extra))
        return made[-1]

    yield fake, make
    for d in made:
        d.stop()
    fake.close()


def _kill(process: psutil.Process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_a_pool_process_killed_mid_task_gives_exactly_one_reply(deployment):
    fake, make = deployment
    d = make()
    worker = d.worker_start()
    message_id = d.message_store("你好")
    _wait(fake.started.is_set, "the task to reach the model")
    (child,) = worker.children()
    fake.mode = "ok"  # the redelivered task gets an answer
    _kill(child)  # SIGKILL in the middle of the task: no ack was sent
    replies = _wait(lambda: d.bot_replies(message_id), "the reply", logs=d.logs)
    assert replies == [fake.answer], d.logs()
    assert fake.requests == 2  # the killed delivery and exactly one redelivery
    _wait(lambda: d.broker_pending() == 0, "the broker to drain", timeout=20)
    assert d.bot_replies(message_id) == [fake.answer]
    assert "WorkerLostError" in d.logs()


def test_a_whole_worker_killed_mid_task_is_redelivered_to_another_worker(deployment):
    fake, make = deployment
    d = make()
    worker = d.worker_start()
    message_id = d.message_store("你好")
    _wait(fake.started.is_set, "the task to reach the model")
    for process in [*worker.children(), worker]:  # the machine is gone: no one rejects it
        _kill(process)
    assert d.bot_replies(message_id) == []
    assert d.broker_pending() == 1  # unacked, still in the broker
    fake.mode = "ok"
    d.worker_start()  # back after the visibility timeout (25 s here)
    replies = _wait(lambda: d.bot_replies(message_id), "the redelivered reply", logs=d.logs)
    assert replies == [fake.answer], d.logs()
    assert fake.requests == 2
    _wait(lambda: d.broker_pending() == 0, "the broker to drain", timeout=20)
    assert d.bot_replies(message_id) == [fake.answer]


def test_redelivery_is_bounded_a_task_that_keeps_dying_is_answered_without_the_model(deployment):
    fake, make = deployment
    d = make(CSBOT_TASK_MAX_DELIVERIES="1")
    worker = d.worker_start()
    message_id = d.message_store("你好")
    _wait(fake.started.is_set, "the task to reach the model")
    (child,) = worker.children()
    _kill(child)  # the model hangs every time: delivery 2 must not call it
    replies = _wait(lambda: d.bot_replies(message_id), "the reply", logs=d.logs)
    assert len(replies) == 1 and replies[0] != fake.answer
    assert "星河商城" in replies[0]  # the template greeting
    assert fake.requests == 1
    _wait(lambda: d.broker_pending() == 0, "the broker to drain", timeout=20)
    assert len(d.bot_replies(message_id)) == 1
