"""Whole conversations, scored the way a shopper feels them: the stories of
tests/stories/ played over HTTP against a real server (fresh SQLite, the demo store, the
trained intent model, as `make demo` serves it), each story three times with fresh
visitors; a story counts as resolved only when all three runs pass every turn.

Prints, per category: stories, resolved share, the share of turns handed to a person;
then the overall figures and every failing story with its turns.

    .venv/bin/python bench/conversations.py                  # the held-out part
    .venv/bin/python bench/conversations.py --part dev       # the part CI runs
    .venv/bin/python bench/conversations.py --base http://127.0.0.1:8000 --runs 1
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import stories  # noqa: E402
from tests.browser_server import running_server  # noqa: E402
from tests.stories.http import HttpShopper  # noqa: E402


def play_all(base: str, chosen: list[stories.Story], runs: int) -> dict[str, list]:
    """Every story `runs` times (fresh visitors), a few at a time. A logged-in user's
    stories run one after another, each ending with the user's data erased, so the next
    starts a new conversation."""
    anonymous = [[(story, run)] for run in range(runs) for story in chosen if not story.login]
    by_user: dict[str, list] = collections.defaultdict(list)
    for run in range(runs):
        for story in chosen:
            if story.login:
                by_user[story.login].append((story, run))
    groups = anonymous + list(by_user.values())

    def play_group(group):
        out = []
        for story, _ in group:
            shopper = HttpShopper(base, login=story.login, page=story.page)
            try:
                out.append((story, stories.play(story, shopper.send)))
            finally:
                if story.login:
                    shopper.forget()
        return out

    results: dict[str, list] = collections.defaultdict(list)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for played in pool.map(play_group, groups):
            for story, result in played:
                results[story.id].append(result)
    return results


def report(chosen: list[stories.Story], results: dict[str, list]) -> dict:
    by_category: dict[str, list[stories.Story]] = collections.defaultdict(list)
    for story in chosen:
        by_category[story.category].append(story)
    rows = {}
    print(f"{'category':<16} {'stories':>7} {'resolved':>9} {'handoff turns':>14}")
    total_ok = total_turns = total_handoff = 0
    for category in sorted(by_category):
        group = by_category[category]
        ok = sum(all(r.passed for r in results[s.id]) for s in group)
        turns = [t for s in group for r in results[s.id] for t in r.turns]
        handoff = sum(any(f.get("type") == "handoff" for f in t.replies) for t in turns)
        rows[category] = {"stories": len(group), "resolved": ok / len(group)}
        total_ok += ok
        total_turns += len(turns)
        total_handoff += handoff
        print(
            f"{category:<16} {len(group):>7} {ok / len(group):>8.1%} "
            f"{handoff / max(1, len(turns)):>13.1%}"
        )
    overall = total_ok / max(1, len(chosen))
    print(
        f"{'overall':<16} {len(chosen):>7} {overall:>8.1%} "
        f"{total_handoff / max(1, total_turns):>13.1%}"
    )
    return {"categories": rows, "resolved": overall, "stories": len(chosen)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["heldout", "dev", "all"], default="heldout")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", help="a running server instead of a fresh one")
    parser.add_argument("--category", help="only this category")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    chosen = [
        s
        for s in stories.load()
        if (args.part == "all" or stories.split(s) == args.part)
        and (args.category is None or s.category == args.category)
    ]
    print(f"{len(chosen)} {args.part} stories, {args.runs} run(s) each")
    server = (
        contextlib.nullcontext(args.base)
        if args.base
        else running_server(env_extra=stories.SERVER_ENV, setup=(("intents_ensure_model",),))
    )
    with server as base:
        began = time.perf_counter()
        results = play_all(base, chosen, args.runs)
        elapsed = time.perf_counter() - began
    figures = report(chosen, results)
    print(f"played in {elapsed:.0f} s")
    failing = [s for s in chosen if not all(r.passed for r in results[s.id])]
    for story in failing:
        bad = next(r for r in results[story.id] if not r.passed)
        print("\n" + bad.describe())
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
