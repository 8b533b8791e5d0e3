"""What `IntentClassifier.train(**params)` accepts and its defaults, plus the shared constants.

Training, inference and persistence all read member configs and labels; one module keeps them
agreeing on the `oos` label, member settings and confidence features.
"""

from __future__ import annotations

from typing import Any

OOS = "oos"
DEFAULT_THRESHOLD = 0.7
LABEL_PREFIX = "__label__"  # fastText's label marker in training files and label names

# fastText arguments a member may set; anything else in params is ours.
FASTTEXT_ARGS = frozenset(
    {
        "lr",
        "dim",
        "ws",
        "epoch",
        "minCount",
        "minCountLabel",
        "minn",
        "maxn",
        "neg",
        "wordNgrams",
        "loss",
        "bucket",
        "thread",
        "lrUpdateRate",
        "t",
        "seed",
        "autotuneValidationFile",
        "autotuneMetric",
        "autotuneDuration",
        "autotuneModelSize",
    }
)
# Per-member options that are not fastText arguments.
MEMBER_OPTIONS = frozenset({"cjk_chars", "cjk_bigrams"})
# What the calibrated confidence may look at, per label (always "z" first):
#   z: the ensemble's mean log-odds for the label (the only feature of older models);
#   known: the share of the text's tokens in the members' fastText dictionaries (the
#     words they were trained on);
#   centroid: cosine between the text's sentence vector and the mean (unit) sentence
#     vector of the label's training rows, averaged over the members.
# Out-of-scope text tends to sit far from every label's rows and to use words no training
# row used; on the dev rows of CLINC150, BANKING77-OOS and the project's data, adding both
# to z raised the oos caught at the same 1% rule (docs/intent-benchmarks.md).
CONFIDENCE_FEATURES = ("z", "known", "centroid")

# Defaults chosen on CLINC150/BANKING77 validation data (docs/intent-benchmarks.md):
# one-vs-all loss separates out-of-scope text far better than softmax, and averaging
# members with different character n-gram ranges adds about a point of accuracy.
BASE_MEMBER: dict[str, Any] = {
    "loss": "ova",
    "epoch": 100,
    "lr": 0.5,
    "dim": 100,
    "wordNgrams": 2,
    "minn": 2,
    "maxn": 4,
    "bucket": 20_000,  # 2M default × dim floats is ~800 MB; 20k costs nothing measurable here
    "minCount": 1,
    "thread": 1,
    "cjk_chars": False,
    "cjk_bigrams": False,
}
# Every member also sees Chinese characters and character bigrams besides jieba's words
# (project valid, two seed sets: +0.9 and +0.5 raw accuracy for bigrams, then +0.5 and +0.9
# for characters in all members); English text is unaffected by both.
DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = (
    {"minn": 3, "maxn": 6, "seed": 1, "cjk_chars": True, "cjk_bigrams": True},
    {"minn": 2, "maxn": 5, "seed": 2, "cjk_chars": True, "cjk_bigrams": True},
    {"minn": 4, "maxn": 8, "seed": 3, "cjk_chars": True, "cjk_bigrams": True},
)
# Rows of the rarer outcome (right or wrong) wanted per calibration parameter before the
# extra confidence features are fitted (Peduzzi et al. 1996: about 10 events per variable).
EVENTS_PER_PARAMETER = 10


DEFAULT_PARAMS: dict[str, Any] = {
    "members": [dict(m) for m in DEFAULT_MEMBERS],
    "oos_class": False,  # train `oos` rows as a class of their own
    # Features of the calibrated confidence (logistic regression fitted on the valid rows);
    # ["z"] is the earlier Platt scaling of the log-odds alone.
    "confidence_features": list(CONFIDENCE_FEATURES),
    # Fit the features beyond "z" only with this many valid rows of the rarer outcome
    # (right or wrong) per calibration parameter; fewer, and Platt scaling of "z" is kept.
    "calibration_min_events": EVENTS_PER_PARAMETER,
    "quantize": False,  # store .ftz (product-quantised) members instead of .bin
    "workers": 2,  # members trained in parallel (each with `thread` fastText threads)
    "crossfit": True,  # also train on in-scope valid rows, scoring them out of fold
    "threshold": None,  # a fixed threshold instead of the one chosen on valid rows
    # "max_loss": the highest threshold that hands off at most `max_correct_loss` of the
    # in-scope valid rows the model answers right; or "recall_target": the lowest threshold
    # that hands off `oos_recall_target` of the valid oos rows; or "sum": max in-scope
    # accuracy + oos recall.
    "threshold_rule": "max_loss",
    "max_correct_loss": 0.01,
    # "cost": the threshold of least expected cost on the valid rows, where a wrong
    # answer (or answering an out-of-scope question) costs `wrong_cost` times a deferral
    # (clarify, then offer a person); `oos_share` weighs the out-of-scope rows as that
    # share of traffic (None: as the valid rows hold them).
    "wrong_cost": 4.0,
    "oos_share": None,
    "oos_recall_target": 0.7,
    "default_threshold": DEFAULT_THRESHOLD,
    "no_oos_rule": "break_even",  # or "keep": keep `keep_correct` of correct valid answers
    "keep_correct": 0.97,
}


def token_options(config: dict[str, Any]) -> dict[str, bool]:
    """The tokenizer options a member was trained with (absent in older meta.json: off)."""
    return {name: bool(config.get(name)) for name in ("cjk_chars", "cjk_bigrams")}
