"""Local LLM throughput with and without request batching, on a tiny model on CPU.

    .venv/bin/python bench/llm_batching.py [--concurrency 16] [--rounds 3] [--new-tokens 24]

Builds a tiny Llama-style model and a tokenizer trained on demo-store texts in a temp
dir (no download), then has N threads each send R prompts through the `transformers`
backend's `Batcher`, twice in the same process:

- **one by one** — the batcher with batch size 1: every request is its own `generate`
  (what a backend without batching does; requests still arrive concurrently);
- **batched** — up to N requests (or whatever came within --wait-ms) per `generate`.

Prints requests/s for each, the ratio, and whether the bar (≥ 3x at 16 concurrent
requests) holds. Greedy decoding, the same prompts in both runs.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    ("zh", "星河X5多少钱", "星河 X5 手机 售价 ¥2999。"),
    ("zh", "X5 Lite 有货吗", "星河 X5 Lite 暂时缺货，预计 2026-12-10 到货。"),
    ("zh", "运费怎么算", "订单满¥99包邮；不满¥99收¥8运费；新疆、西藏统一¥20。"),
    ("zh", "几天能到", "16:00 前付款当天发货，主要城市 1–3 天送达，其他地区 3–5 天。"),
    ("zh", "可以退货吗", "签收后 7 天内可无理由退货，商品需未使用、可二次销售。"),
    ("zh", "能分期吗", "支持信用卡 3/6/12 期分期；订单满¥600 可享 3 期和 6 期免息。"),
    ("zh", "怎么开发票", "签收后 30 天内可在订单页申请电子发票。"),
    ("zh", "降价了能退差价吗", "签收后 7 天内降价，可退还差价。"),
    ("en", "how much is the X5", "The Xinghe X5 Phone costs ¥2999."),
    ("en", "shipping fee?", "Orders of ¥99 or more ship free; below ¥99 the fee is ¥8."),
    ("en", "when will it arrive", "Paid before 16:00 ships the same day; 1–3 days in cities."),
    ("en", "can I return it", "You can return it within 7 days of receipt, unused."),
    ("en", "installments?", "Credit cards: 3, 6 or 12 periods; 3 and 6 are free from ¥600."),
    ("en", "invoice", "Request an electronic invoice on the order page within 30 days."),
    ("en", "refund time", "Refunds reach the original payment method in 1–3 business days."),
    ("en", "warranty", "Electronics come with a 1-year warranty."),
]


def prompts() -> list[str]:
    from conversations.llm.prompt import prompt_build

    return [
        prompt_build(
            shop="星河商城 Xinghe Mall",
            facts={"answer": template},
            template=template,
            language=lang,
            question=question,
            instructions=None,
            max_new_tokens=24,
        ).text
        for lang, question, template in QUESTIONS
    ]


def run(generate, texts: list[str], *, batch: int, wait_ms: float, concurrency: int, rounds: int,
        new_tokens: int) -> dict:  # fmt: skip
    from conversations.llm.local import Batcher

    batcher = Batcher(generate, max_items=batch, wait_ms=wait_ms)
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def client(index: int) -> None:
        start.wait()
        for r in range(rounds):
            text = texts[(index + r) % len(texts)]
            began = time.perf_counter()
            deadline = time.monotonic() + 600
            future = batcher.submit(text, max_new_tokens=new_tokens, deadline=deadline)
            future.result()
            with lock:
                latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    batcher.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(statistics.median(latencies) * 1000),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--wait-ms", type=float, default=10.0)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("TORCH_THREADS", 2)))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from conversations.llm.local import TransformersBackend
    from conversations.llm.tiny import tiny_model_build

    texts = prompts()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = tiny_model_build(
            out=Path(tmp) / "tiny",
            texts=texts * 20,
            layers=args.layers,
            hidden=args.hidden,
        )
        backend = TransformersBackend(model_dir=str(model_dir), device="cpu", batch_max=1)
        backend.close()  # only its model and generate are used here
        backend.generate(texts[:2], 4)  # warm-up
        common = dict(concurrency=args.concurrency, rounds=args.rounds, new_tokens=args.new_tokens)
        single = run(backend.generate, texts, batch=1, wait_ms=0, **common)
        batch = args.concurrency
        batched = run(backend.generate, texts, batch=batch, wait_ms=args.wait_ms, **common)
    ratio = batched["requests_per_s"] / single["requests_per_s"]
    result = {
        "model": f"llama {args.layers} layers x {args.hidden}, CPU, {args.threads} torch threads",
        "concurrency": args.concurrency,
        "new_tokens": args.new_tokens,
        "one_by_one": single,
        "batched": batched,
        "ratio": round(ratio, 2),
        "bar_3x": ratio >= 3,
    }
    print(f"{'mode':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  requests")
    for name, r in (("one by one", single), ("batched", batched)):
        rate, p50, p99 = r["requests_per_s"], r["p50_ms"], r["p99_ms"]
        print(f"{name:<12} {rate:>8} {p50:>8} {p99:>8}  {r['requests']}")
    print(f"batched / one by one = {ratio:.2f}x  (bar >= 3x: {'met' if ratio >= 3 else 'MISSED'})")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{result['model']}; load average {load} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
