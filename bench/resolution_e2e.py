"""End-to-end resolution over HTTP: every held-out utterance, asked as the first
message of a fresh conversation, through `POST /api/chat/` of a real server.

The server is a Daphne process on a fresh SQLite database with the demo store
and the intent model trained by `intents_ensure_model` (on the train split only;
the held-out split is never trained on). Per row:

- in scope: *routed* when the bot frame's intent equals the label; *resolved*
  when routed and the bot kept the chat (no handoff) — except for complaints and
  requests for a human, which are resolved by going to the queue;
- out of scope (`oos`): resolved when the bot commits to no intent.

    .venv/bin/python bench/resolution_e2e.py [--data intents/data/heldout.jsonl]
        [--oos intents/data/oos_heldout.jsonl] [--json out.json] [--misses misses.jsonl]
"""

from __future__ import annotations

import argparse
import collections
import http.cookiejar
import json
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_server import running_server  # noqa: E402

HANDOFF_LABELS = ("complaint.", "general.chat.human")


# The server: tests/browser_server.py's throwaway store (fresh SQLite, demo store), with
# the intent model trained on the train split, limits lifted, and the hot-question cache
# off so every row runs the whole pipeline.
SERVER_ENV = {
    "LOG_LEVEL": "WARNING",
    "CSBOT_MESSAGES_PER_MINUTE": "1000000",
    "CSBOT_IP_MESSAGES_PER_MINUTE": "1000000",
    "CSBOT_HOT_CACHE_TTL_S": "0",
}


def ask(base: str, text: str) -> dict:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar)
    )
    request = urllib.request.Request(  # noqa: S310 (loopback http only)
        f"{base}/api/chat/",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read())


def judge(label: str, body: dict) -> tuple[bool, bool]:
    """(routed, resolved) for one answer."""
    frames = body["replies"]
    bot = next((f for f in frames if f["type"] == "bot"), None)
    handed_off = any(f["type"] == "handoff" for f in frames)
    intent = bot["intent"] if bot else None
    if label == "oos":
        return intent is None, intent is None and not handed_off
    routed = intent == label
    if label.startswith(HANDOFF_LABELS):
        return routed, routed and handed_off
    return routed, routed and not handed_off


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "intents/data/heldout.jsonl")
    parser.add_argument("--oos", type=Path, default=ROOT / "intents/data/oos_heldout.jsonl")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--misses", type=Path, default=None, help="write each unresolved row here (JSON Lines)"
    )
    args = parser.parse_args()
    rows = load(args.data) + (load(args.oos) if args.oos and args.oos.exists() else [])

    with running_server(env_extra=SERVER_ENV, setup=(("intents_ensure_model",),)) as base:
        per_label: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        latencies = []
        misses = []
        started = time.perf_counter()
        for row in rows:
            t0 = time.perf_counter()
            body = ask(base, row["text"])
            latencies.append(time.perf_counter() - t0)
            routed, resolved = judge(row["label"], body)
            counts = per_label[row["label"]]
            counts["n"] += 1
            counts["routed"] += routed
            counts["resolved"] += resolved
            if not resolved:
                bot = next((f for f in body.get("replies", []) if f["type"] == "bot"), {})
                misses.append(
                    {
                        "text": row["text"],
                        "label": row["label"],
                        "intent": bot.get("intent"),
                        "confidence": bot.get("confidence"),
                        "reply": bot.get("text", "")[:120],
                        "frames": [f["type"] for f in body.get("replies", [])],
                    }
                )
        wall = time.perf_counter() - started

    in_scope = [c for label, c in per_label.items() if label != "oos"]
    n = sum(c["n"] for c in in_scope)
    routed = sum(c["routed"] for c in in_scope)
    resolved = sum(c["resolved"] for c in in_scope)
    oos = per_label.get("oos", collections.Counter())
    latencies.sort()
    result = {
        "in_scope_rows": n,
        "level3_accuracy": round(routed / n, 4) if n else None,
        "resolved_share": round(resolved / n, 4) if n else None,
        "oos_rows": oos["n"],
        "oos_resolved": round(oos["resolved"] / oos["n"], 4) if oos["n"] else None,
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 1),
        "wall_s": round(wall, 1),
        "per_label": {
            label: {k: c[k] for k in ("n", "routed", "resolved")}
            for label, c in sorted(per_label.items())
        },
    }
    print(f"{'label':42} {'n':>4} {'routed':>7} {'resolved':>9}")
    for label, c in sorted(per_label.items()):
        print(f"{label:42} {c['n']:4} {c['routed'] / c['n']:7.1%} {c['resolved'] / c['n']:9.1%}")
    print(
        f"\nin scope: {n} rows, level-3 accuracy {result['level3_accuracy']:.1%}, "
        f"resolved {result['resolved_share']:.1%}; out of scope: {oos['n']} rows, "
        f"{(result['oos_resolved'] or 0):.1%} not answered with an intent; "
        f"HTTP p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if args.misses:
        args.misses.write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in misses), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
