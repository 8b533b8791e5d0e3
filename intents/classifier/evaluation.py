"""Evaluation: the handoff threshold rules and the metrics of docs/intent-benchmarks.md, on
arrays of confidences, predicted and gold labels (so bench/ can compare rules without models).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .params import DEFAULT_PARAMS, DEFAULT_THRESHOLD, OOS


def threshold_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `choose_threshold` given by training params (or defaults)."""
    return {
        "rule": params.get("threshold_rule", DEFAULT_PARAMS["threshold_rule"]),
        "oos_recall_target": float(
            params.get("oos_recall_target", DEFAULT_PARAMS["oos_recall_target"])
        ),
        "no_oos_rule": params.get("no_oos_rule", DEFAULT_PARAMS["no_oos_rule"]),
        "default": float(params.get("default_threshold", DEFAULT_THRESHOLD)),
        "keep_correct": float(params.get("keep_correct", DEFAULT_PARAMS["keep_correct"])),
        "max_correct_loss": float(
            params.get("max_correct_loss", DEFAULT_PARAMS["max_correct_loss"])
        ),
        "wrong_cost": float(params.get("wrong_cost", DEFAULT_PARAMS["wrong_cost"])),
        "oos_share": params.get("oos_share", DEFAULT_PARAMS["oos_share"]),
    }


def threshold_costs(
    conf: np.ndarray,
    pred: np.ndarray,
    gold: np.ndarray,
    *,
    wrong_cost: float,
    oos_share: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The expected cost of every candidate threshold (candidates, costs), per question:
    a wrong answer (an in-scope question answered with the wrong label, or an
    out-of-scope one answered at all) costs `wrong_cost`; not answering an in-scope
    question (the bot clarifies, then offers a person) costs 1; a right answer, and not
    answering an out-of-scope question, cost nothing. `oos_share` weighs the out-of-scope
    rows as that share of traffic (None: as many as the valid rows hold)."""
    conf, pred, gold = np.asarray(conf, dtype=float), np.asarray(pred), np.asarray(gold)
    ins = gold != OOS
    usable = pred != OOS  # a trained `oos` class is never an answer
    n_in, n_oos = max(int(ins.sum()), 1), max(int((~ins).sum()), 1)
    share = float(ins.mean() if oos_share is None else 1 - oos_share)
    w_in, w_oos = share / n_in, (1 - share) / n_oos
    candidates = np.unique(np.concatenate([[0.0], conf, [1.0 + 1e-6]]))
    order = np.argsort(conf)
    sorted_conf = conf[order]
    # Rows at or above a candidate are answered: suffix sums over rows sorted by conf.
    wrong_in = (ins & usable & (pred != gold))[order].astype(float)
    right_in = (ins & usable & (pred == gold))[order].astype(float)
    oos_answered = (~ins & usable)[order].astype(float)

    def suffix(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.cumsum(values[::-1])[::-1], [0.0]])

    starts = np.searchsorted(sorted_conf, candidates, side="left")
    wrong = suffix(wrong_in)[starts]
    right = suffix(right_in)[starts]
    answered_oos = suffix(oos_answered)[starts]
    deferred_in = int(ins.sum()) - wrong - right
    costs = wrong_cost * (wrong * w_in + answered_oos * w_oos) + deferred_in * w_in
    return candidates, costs


def evaluate_predictions(
    conf: np.ndarray, pred: np.ndarray, gold: np.ndarray, threshold: float
) -> dict[str, Any]:
    """The metrics of docs/intent-benchmarks.md for top labels `pred` with confidences `conf`.

    in_scope_accuracy: share of in-scope rows answered with the right label (under the
    threshold counts as wrong); handoff_share: share of in-scope rows under the threshold;
    oos_recall: share of `oos` rows under the threshold (None without oos rows); macro_f1:
    mean F1 over the gold labels (oos included), an under-threshold answer counting as `oos`.
    """
    conf, pred, gold = np.asarray(conf), np.asarray(pred), np.asarray(gold)
    accepted = (conf >= threshold) & (pred != OOS)  # a trained `oos` class is a handoff
    ins = gold != OOS
    final = np.where(accepted, pred, OOS)
    f1s = []
    for label in np.unique(gold):
        tp = int(np.sum((final == label) & (gold == label)))
        fp = int(np.sum((final == label) & (gold != label)))
        fn = int(np.sum((final != label) & (gold == label)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    n_in, n_oos = int(ins.sum()), int((~ins).sum())
    return {
        "in_scope_accuracy": _r(np.mean((final == gold)[ins])) if n_in else None,
        "handoff_share": _r(np.mean(~accepted[ins])) if n_in else None,
        "oos_recall": _r(np.mean(~accepted[~ins])) if n_oos else None,
        "macro_f1": _r(np.mean(f1s)),
        "threshold": _r(threshold),
        "n": int(len(gold)),
        "n_oos": n_oos,
    }


def choose_threshold(
    conf: np.ndarray,
    pred: np.ndarray,
    gold: np.ndarray,
    *,
    rule: str = "max_loss",
    oos_recall_target: float = 0.7,
    no_oos_rule: str = "break_even",
    default: float = DEFAULT_THRESHOLD,
    keep_correct: float = 0.97,
    max_correct_loss: float = 0.01,
    wrong_cost: float = 4.0,
    oos_share: float | None = None,
) -> tuple[float, str]:
    """See IntentClassifier.choose_threshold; returns (threshold, rule description)."""
    conf, pred, gold = np.asarray(conf), np.asarray(pred), np.asarray(gold)
    ins = gold != OOS
    correct = (pred == gold) & ins
    if (~ins).any() and ins.any():
        if rule == "cost":
            # The threshold of least expected cost (the lowest of equal minima).
            candidates, costs = threshold_costs(
                conf, pred, gold, wrong_cost=wrong_cost, oos_share=oos_share
            )
            best = int(np.argmin(costs))
            name = f"least expected cost on valid (a wrong answer costs {wrong_cost:g}x a deferral)"
            return _floor(min(candidates[best], 0.9999)), name
        if rule == "max_loss":
            # Catch as much out of scope as possible while handing off at most
            # max_correct_loss of the in-scope questions the model would answer right: the
            # k lowest-scored correct answers fall under the threshold, the (k+1)-th does not.
            good = np.sort(conf[correct])
            k = math.floor(max_correct_loss * int(ins.sum()) + 1e-9)
            name = f"hand off ≤ {max_correct_loss:.1%} of in-scope valid rows answered right"
            if len(good) == 0:
                return float(default), name
            t = good[k] if k < len(good) else float(default)
            return _floor(min(t, default)), name
        if rule == "recall_target":
            # The lowest threshold that sends oos_recall_target of the oos rows to a human:
            # every higher one hands off more answerable questions for no required gain.
            oos_conf = np.sort(conf[~ins])
            k = math.ceil(oos_recall_target * len(oos_conf) - 1e-9)
            if k == 0:
                return 0.0, f"oos recall ≥ {oos_recall_target:.0%} on valid"
            t = _floor(oos_conf[k - 1]) + 1e-4  # strictly above the k-th lowest oos score
            return round(t, 4), f"oos recall ≥ {oos_recall_target:.0%} on valid"
        if rule != "sum":
            raise ValueError(f"unknown threshold rule {rule!r}")
        candidates = np.unique(np.concatenate([[0.0], conf]))
        acc = np.array([np.mean(correct[ins] & (conf[ins] >= t)) for t in candidates])
        rec = np.array([np.mean(conf[~ins] < t) for t in candidates])
        best = int(np.argmax(acc + rec))  # the first (lowest) of equal maxima
        return _floor(candidates[best]), "max in_scope_accuracy + oos_recall on valid"
    # No oos rows: a threshold only trades wrong answers for handoffs of answerable
    # questions. `conf` is a calibrated P(correct), so hand off where a wrong answer is more
    # likely than a right one (break-even 0.5 when both cost the same), never above the
    # default. The alternative, "keep 97% of correct predictions", is no_oos_rule="keep".
    if no_oos_rule == "keep":
        good = np.sort(conf[correct])
        if len(good) == 0:
            return float(default), "default (no correct valid predictions)"
        t = good[int(math.floor((1 - keep_correct) * len(good)))]
        return _floor(min(t, default)), f"keep {keep_correct:.0%} of correct valid predictions"
    return min(0.5, float(default)), "break-even: calibrated P(correct) ≥ 0.5 (no oos rows)"


def _floor(x: float) -> float:
    """Round a threshold down (4 places) so no row at exactly the threshold drops under it."""
    return math.floor(float(x) * 10_000) / 10_000


def _r(x: float | np.floating) -> float:
    return round(float(x), 4)
