"""The answer threshold's trade-off curve on the project's data, and where each rule puts it.

Trains the project's intent model as production does (train split; valid + oos_valid for
calibration and the threshold, cross-fitted so valid scores are out of fold), then prints,
for a range of thresholds, on the valid rows (what rules may look at) and on the held-out
rows (what nobody tunes on): the share of in-scope questions answered right, answered
wrong, and not answered (clarified, then offered a person); the share of out-of-scope
questions that get no confident answer; and the expected cost per question with a wrong
answer costing `--wrong-cost` times a deferral and out-of-scope questions taken as
`--oos-share` of traffic. Marks the threshold each rule picks
("cost", the old "max_loss") and the seed system's 0.7.

    .venv/bin/python bench/threshold_costs.py [--wrong-cost 3] [--oos-share 0.15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intents.classifier import OOS, IntentClassifier, choose_threshold, read_jsonl  # noqa: E402
from intents.classifier.evaluation import threshold_costs  # noqa: E402

DATA = ROOT / "intents" / "data"


def rates(conf, pred, gold, t: float) -> dict[str, float]:
    ins = gold != OOS
    answered = (conf >= t) & (pred != OOS)
    return {
        "right": float(np.mean((answered & (pred == gold))[ins])),
        "wrong": float(np.mean((answered & (pred != gold))[ins])),
        "deferred": float(np.mean(~answered[ins])),
        "oos_declined": float(np.mean(~answered[~ins])) if (~ins).any() else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wrong-cost", type=float, default=3.0)
    parser.add_argument(
        "--oos-share", type=float, default=0.15, help="out-of-scope share of traffic"
    )
    args = parser.parse_args()
    train = read_jsonl(DATA / "train.jsonl")
    valid = read_jsonl(DATA / "valid.jsonl") + read_jsonl(DATA / "oos_valid.jsonl")
    heldout = read_jsonl(DATA / "heldout.jsonl") + read_jsonl(DATA / "oos_heldout.jsonl")
    began = time.perf_counter()
    clf = IntentClassifier.train(train, valid)
    print(f"trained in {time.perf_counter() - began:.0f} s; its threshold {clf.threshold:.4f}")
    assert clf.valid_scores is not None
    v_conf, v_pred, v_gold = (np.asarray(a) for a in clf.valid_scores)
    h_conf, h_top = clf._confidence([r["text"] for r in heldout])
    h_pred = np.array(clf.labels)[h_top]
    h_gold = np.array([r["label"] for r in heldout])
    picks = {
        "cost": choose_threshold(
            v_conf,
            v_pred,
            v_gold,
            rule="cost",
            wrong_cost=args.wrong_cost,
            oos_share=args.oos_share,
        )[0],
        "max_loss": choose_threshold(v_conf, v_pred, v_gold, rule="max_loss")[0],
        "seed 0.7": 0.7,
    }
    grid = sorted({round(x, 2) for x in np.linspace(0.05, 0.95, 19)} | set(picks.values()))
    candidates, v_costs = threshold_costs(
        v_conf, v_pred, v_gold, wrong_cost=args.wrong_cost, oos_share=args.oos_share
    )
    print(
        f"wrong answer = {args.wrong_cost:g} x a deferral, out of scope = {args.oos_share:.0%} "
        "of traffic; rates are shares of in-scope / oos rows"
    )
    print(
        "threshold  | valid: right wrong defer oos-declined cost "
        "| held-out: right wrong defer oos-declined"
    )
    for t in grid:
        v = rates(v_conf, v_pred, v_gold, t)
        h = rates(h_conf, h_pred, h_gold, t)
        cost = float(v_costs[np.searchsorted(candidates, t)])
        marks = ", ".join(name for name, value in picks.items() if abs(value - t) < 1e-9)
        print(
            f"{t:9.4f}  | {v['right']:.3f} {v['wrong']:.3f} {v['deferred']:.3f} "
            f"{v['oos_declined']:.3f} {cost:.3f} | {h['right']:.3f} {h['wrong']:.3f} "
            f"{h['deferred']:.3f} {h['oos_declined']:.3f}  {marks}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
