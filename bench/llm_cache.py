"""The model-result cache: a repeated question in the same context skips the model.

    .venv/bin/python bench/llm_cache.py [--questions 16] [--repeats 4] [--model-ms 300]
        [--redis redis://127.0.0.1:6379/14]

Drives `conversations.llm.phrase` against an OpenAI-compatible server on loopback that
answers after --model-ms (a stand-in for a hosted model's latency; the figure to read is
the ratio, not the absolute model time). Each of N questions is asked once (cache
miss: a model call) and then --repeats more times (hits). Prints model calls made,
p50 latency of misses and of hits, and the hit/miss latency ratio; with --redis the
cache is django-redis (shared by workers), otherwise the local-memory cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fake_server(delay_s: float) -> tuple[ThreadingHTTPServer, list[int]]:
    calls = [0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls[0] += 1
            time.sleep(delay_s)
            template = body["messages"][1]["content"].split("参考答案：")[1].split("\n")[0]
            payload = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "bench",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "您好！" + template},
                        "finish_reason": "stop",
                    }
                ],
            }
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--model-ms", type=float, default=300)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()

    server, calls = fake_server(args.model_ms / 1000)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="csbot.settings",
        CSBOT_VAR_DIR=tempfile.mkdtemp(prefix="llm-cache-bench-"),
        CSBOT_LLM_BACKEND="openai",
        CSBOT_LLM_OPENAI_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}/v1",
        CSBOT_LLM_OPENAI_MODEL="bench",
        CSBOT_LLM_DEADLINE_S="2",
        CSBOT_CACHE_PREFIX=f"llm-cache-bench-{os.getpid()}",
    )
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    import logging

    logging.getLogger("httpx2").setLevel(logging.WARNING)
    from conversations.llm import phrase
    from conversations.llm.registry import backends_warm

    backends_warm()  # as a worker does at start-up: the client is built before questions

    questions = [
        (f"第{i}号商品多少钱", f"星河第{i}号商品 售价 ¥{100 + i}。") for i in range(args.questions)
    ]
    misses, hits = [], []
    sources: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for round_ in range(1 + args.repeats):
        for question, template in questions:
            began = time.perf_counter()
            result = phrase(template=template, language="zh", question=question, arm_key="bench:a")
            elapsed = (time.perf_counter() - began) * 1000
            (misses if round_ == 0 else hits).append(elapsed)
            sources[result.source] = sources.get(result.source, 0) + 1
            if result.reason:
                reasons[result.reason] = reasons.get(result.reason, 0) + 1
    server.shutdown()
    miss, hit = statistics.median(misses), statistics.median(hits)
    backend = "redis" if args.redis else "local memory"
    print(f"cache: {backend}; {args.questions} questions, each asked {1 + args.repeats} times")
    print(f"answers by source: {sources}; model calls: {calls[0]}")
    print(f"p50 miss (model call) {miss:.1f} ms, p50 hit {hit:.2f} ms")
    print(f"miss / hit = {miss / hit:.0f}x")
    if reasons:
        print(f"fallback reasons: {reasons}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
