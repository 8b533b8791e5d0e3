"""The intent classifier: an ensemble of fastText models with a calibrated confidence.

Each member is a supervised fastText model over the tokens of `tokenize.py` (word n-grams,
character n-grams); members differ in features and seed, and their per-label scores are
averaged. The top label's score, the share of the text's tokens the members know and the
cosine between the text's sentence vector and the label's centroid are then mapped to a
calibrated probability that the top label is right (a logistic regression fitted on
validation rows, out-of-scope rows counting as "wrong"), and the handoff threshold is chosen
on the same validation rows. docs/intent-benchmarks.md records the measurements behind the
defaults.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .tokenize import tokenized

logger = logging.getLogger(__name__)

OOS = "oos"
DEFAULT_THRESHOLD = 0.7
FORMAT_VERSION = 1
_LABEL_PREFIX = "__label__"

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
#   z: the ensemble's mean log-odds for the label (the only feature before this round);
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
    "oos_recall_target": 0.7,
    "default_threshold": DEFAULT_THRESHOLD,
    "no_oos_rule": "break_even",  # or "keep": keep `keep_correct` of correct valid answers
    "keep_correct": 0.97,
}


class TrainingDataError(ValueError):
    """The rows cannot train a classifier (too few labels, empty texts, …)."""


@dataclass(frozen=True)
class Prediction:
    """What the classifier thinks of one text.

    `label` is None when `confidence` is under the threshold (the caller clarifies or hands
    off); `top_label` is the best label regardless. `confidence` and the candidate scores are
    calibrated probabilities that the label is the right one.
    """

    label: str | None
    top_label: str
    confidence: float
    candidates: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Calibration:
    """Logistic calibration of per-label features: p = sigmoid(Σ wᵢ · xᵢ + b).

    `features` names the columns (see CONFIDENCE_FEATURES); with the single feature "z" (the
    ensemble's log-odds) this is Platt scaling, p = sigmoid(a · z + b), as in models saved
    before the other features existed.
    """

    a: float = 1.0
    b: float = 0.0
    features: tuple[str, ...] = ("z",)
    weights: tuple[float, ...] = ()  # one per feature; empty: (a,) for Platt

    def __post_init__(self) -> None:
        self.features = tuple(self.features)
        self.weights = tuple(float(w) for w in self.weights) or (float(self.a),)
        if len(self.weights) != len(self.features):
            raise ValueError(f"{len(self.weights)} weights for features {self.features}")
        self.a = self.weights[0]

    def __call__(self, *columns: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for feature arrays (in `features` order) that broadcast
        together: per label (n, labels) or per text (n, 1)."""
        if len(columns) != len(self.features):
            raise ValueError(f"expected {len(self.features)} feature arrays: {self.features}")
        u = self.b + sum(w * np.asarray(c) for w, c in zip(self.weights, columns, strict=True))
        # Never exactly 0 or 1: threshold 1.0 hands everything off, as one would expect.
        return np.clip(_sigmoid(u), 1e-4, 1 - 1e-4)

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        correct: np.ndarray,
        features: Sequence[str] = ("z",),
        *,
        min_events: float = 0.0,
    ) -> Calibration:
        """Minimise the log loss of `correct` given the feature matrix `x` (n × features, or
        a vector for one feature) by Newton steps with backtracking, with Platt's smoothed
        targets so a perfectly separated validation set does not push a weight to ∞."""
        x = np.asarray(x, dtype=float)
        x = x.reshape(len(x), -1)
        y = np.asarray(correct, dtype=bool)
        features = tuple(features)
        identity = cls(features=features, weights=(1.0,) + (0.0,) * (len(features) - 1))
        if len(x) == 0:
            return identity
        if x.shape[1] != len(features):
            raise ValueError(f"{x.shape[1]} columns for features {features}")
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        if len(features) > 1 and min(n_pos, n_neg) < min_events * (len(features) + 1):
            # Too few rows of the rarer outcome to fit every weight (`min_events` per
            # parameter, the bias included); Platt scaling has two parameters.
            return cls.fit(x[:, 0], y)
        t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
        design = np.column_stack([x, np.ones(len(x))])
        # With several features, a whisker of ridge on the weights (not the bias): a feature
        # that is constant on the validation rows (every token known, say) would leave the
        # Newton system singular. Platt scaling (one feature) fits as it always did.
        scale_ridge = 1e-6 * len(x) if x.shape[1] > 1 else 0.0
        ridge = np.diag([scale_ridge] * x.shape[1] + [0.0])

        def loss(w: np.ndarray) -> float:
            u = design @ w  # log(1 + e^u) - t·u, computed stably
            return float(np.sum(np.logaddexp(0.0, u) - t * u) + 0.5 * w @ ridge @ w)

        w = np.array(identity.weights + (0.0,))
        current = loss(w)
        for _ in range(100):
            p = _sigmoid(design @ w)
            g = design.T @ (p - t) + ridge @ w
            h = (design * (p * (1 - p) + 1e-12)[:, None]).T @ design + ridge
            step = np.linalg.solve(h + np.eye(len(w)) * 1e-9, g)
            scale = 1.0
            while scale > 1e-6:
                new_w = w - scale * step
                new = loss(new_w)
                if new <= current:
                    break
                scale /= 2
            else:
                break
            converged = current - new < 1e-10 * max(1.0, abs(current))
            w, current = new_w, new
            if converged:
                break
        if not np.all(np.isfinite(w)) or w[0] <= 0:
            # Degenerate data, or confidence falling as the log-odds rise: Platt scaling of
            # the log-odds alone, and failing that the raw scores.
            return cls.fit(x[:, 0], y) if len(features) > 1 else identity
        return cls(b=float(w[-1]), features=features, weights=tuple(float(v) for v in w[:-1]))

    def to_json(self) -> dict[str, Any]:
        if self.features == ("z",):  # the format of models saved before the other features
            return {"method": "platt", "a": self.a, "b": self.b}
        return {
            "method": "logistic",
            "features": list(self.features),
            "weights": list(self.weights),
            "b": self.b,
        }

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> Calibration:
        if spec.get("method", "platt") == "platt":
            return cls(spec["a"], spec["b"])
        return cls(b=spec["b"], features=spec["features"], weights=spec["weights"])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def data_hash(rows: Iterable[dict]) -> str:
    """sha256 over the sorted (label, text) pairs: the same data in any order, same hash."""
    digest = hashlib.sha256()
    for label, text in sorted((str(r["label"]), str(r["text"])) for r in rows):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def _check_rows(rows: Sequence[dict], *, oos_class: bool) -> list[dict]:
    usable = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "text" not in row or "label" not in row:
            raise TrainingDataError(f"row {i + 1} needs 'text' and 'label'")
        label = str(row["label"]).strip()
        if not label or any(ch.isspace() for ch in label):
            raise TrainingDataError(f"row {i + 1}: label {row['label']!r} is empty or has spaces")
        if label == OOS and not oos_class:
            continue
        usable.append({"text": str(row["text"]), "label": label})
    labels = {r["label"] for r in usable}
    if len(labels) < 2:
        raise TrainingDataError(f"training needs at least 2 labels, got {len(labels)}")
    return usable


def _resolve_members(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Member configs: BASE_MEMBER < the member's own settings < fastText args given at top
    level (so `train(rows, epoch=5)` shortens every member)."""
    overrides = {k: v for k, v in params.items() if k in FASTTEXT_ARGS | MEMBER_OPTIONS}
    members = []
    for spec in params["members"]:
        unknown = set(spec) - FASTTEXT_ARGS - MEMBER_OPTIONS
        if unknown:
            raise TypeError(f"unknown member settings: {sorted(unknown)}")
        members.append({**BASE_MEMBER, **spec, **overrides})
    return members


def _fold(text: str) -> int:
    return hashlib.sha256(text.encode("utf-8")).digest()[0] & 1


def _threshold_settings(params: dict[str, Any]) -> dict[str, Any]:
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
    }


_MALLOC_FIXED = False


def _fresh_pages_for_large_allocations() -> None:
    """Make glibc serve every allocation of 128 KiB or more from fresh (zeroed) pages.

    The fastText build we use (fasttext-numpy2 0.10.4) leaves most of the input matrix
    uninitialised with `thread=1`: its uniform initialisation fills one tenth of the
    rows per thread, and the rest is whatever the allocator hands back. A fresh mmap
    is zeros (what upstream fastText's zero-filled vector gives); recycled heap memory
    is garbage, which made the same training run give different models in one process
    and often "Encountered NaN" (measured: 6 runs of one job in one process, 3-6
    different models and 1-2 NaN; with this, 6 identical models). glibc raises its mmap
    threshold after large frees, so recycling grows with the life of the process;
    fixing the threshold at its 128 KiB default keeps large blocks on fresh pages.
    Once per process; a no-op where the C library is not glibc."""
    global _MALLOC_FIXED
    if _MALLOC_FIXED:
        return
    _MALLOC_FIXED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def _fit_members(
    rows: Sequence[dict], configs: list[dict[str, Any]], labels: list[str], params: dict
) -> tuple[list, list[np.ndarray], list[dict[str, Any]], list[np.ndarray | None]]:
    """Train one fastText model per config (in parallel threads: fastText drops the GIL)."""
    _fresh_pages_for_large_allocations()
    with tempfile.TemporaryDirectory(prefix="csbot-intents-") as workdir:
        workers = max(1, min(int(params["workers"]), len(configs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(_train_member, rows, config, workdir, i)
                for i, config in enumerate(configs)
            ]
            results = [f.result() for f in futures]
        members = [model for model, _ in results]
        used = []
        for model, config in zip(members, configs, strict=True):
            if model.csbot_lr != config["lr"]:
                logger.warning(
                    "intent member %s diverged; retrained with lr %s", config, model.csbot_lr
                )
            used.append({**config, "lr": model.csbot_lr})
        outputs = [_output_matrix(model, labels) for model in members]
        centroids: list[np.ndarray | None] = [None] * len(members)
        if "centroid" in params["confidence_features"]:
            centroids = [
                _label_centroids(model, config, rows, labels)
                for model, config in zip(members, configs, strict=True)
            ]
        if params["quantize"]:
            for model, path in results:
                model.quantize(input=path, retrain=False, qnorm=True)
    return members, outputs, used, centroids


def _label_centroids(
    model, config: dict[str, Any], rows: Sequence[dict], labels: list[str]
) -> np.ndarray:
    """Per label, the unit mean of the unit sentence vectors of the member's training rows
    (zero for a label without rows), shape (len(labels), dim), float32."""
    options = _token_options(config)
    vectors = _unit(
        np.stack([model.get_sentence_vector(tokenized(r["text"], **options)) for r in rows])
    )
    index = {label: i for i, label in enumerate(labels)}
    sums = np.zeros((len(labels), vectors.shape[1]))
    np.add.at(sums, [index[r["label"]] for r in rows], vectors)
    return _unit(sums).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def _check_features(features: Sequence[str]) -> tuple[str, ...]:
    features = tuple(features)
    unknown = set(features) - set(CONFIDENCE_FEATURES)
    if unknown or not features or features[0] != "z" or len(set(features)) != len(features):
        raise TypeError(
            f"confidence_features must start with 'z' and name each of "
            f"{list(CONFIDENCE_FEATURES)} at most once, got {list(features)}"
        )
    return features


def _token_options(config: dict[str, Any]) -> dict[str, bool]:
    """The tokenizer options a member was trained with (absent in older meta.json: off)."""
    return {name: bool(config.get(name)) for name in ("cjk_chars", "cjk_bigrams")}


def _train_member(rows: Sequence[dict], config: dict[str, Any], workdir: str, index: int):
    import fasttext

    options = _token_options(config)
    path = os.path.join(workdir, f"train-{index}.txt")
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            text = tokenized(row["text"], **options)
            fh.write(f"{_LABEL_PREFIX}{row['label']} {text}\n")
    args = {k: v for k, v in config.items() if k in FASTTEXT_ARGS}
    for attempt in range(4):
        try:
            model = fasttext.train_supervised(input=path, verbose=0, **args)
            break
        except RuntimeError as exc:  # "Encountered NaN": diverged; a lower rate is stabler
            if "NaN" not in str(exc) or attempt == 3:
                raise
            args["lr"] /= 2
            # Under a loaded machine the same run failed at every rate; a fresh start
            # (another seed) is the other half of the retry.
            args["seed"] = int(args.get("seed", 0)) + 1000
    model.csbot_lr = args["lr"]  # the rate that trained it, for meta.json
    return model, path


class IntentClassifier:
    """A trained ensemble with its labels, calibration and handoff threshold."""

    def __init__(
        self,
        *,
        members: list,
        member_configs: list[dict[str, Any]],
        labels: list[str],
        calibration: Calibration,
        threshold: float,
        params: dict[str, Any],
        meta: dict[str, Any] | None = None,
        outputs: list[np.ndarray] | None = None,
        centroids: list[np.ndarray | None] | None = None,
    ) -> None:
        self.members = members
        self.member_configs = member_configs
        self.labels = labels
        self.calibration = calibration
        self.threshold = float(threshold)
        self.params = params
        self.meta = meta or {}
        self.valid_scores: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._outputs = [
            _output_matrix(m, labels, w)
            for m, w in zip(members, outputs or [None] * len(members), strict=True)
        ]
        self._centroids = list(centroids or [None] * len(members))
        # One matrix per member: output rows, then centroid rows (one product per text).
        self._heads = [
            w if c is None else np.vstack([w, c]).astype(np.float32)
            for w, c in zip(self._outputs, self._centroids, strict=True)
        ]
        # Members of one shape are scored with one batched product (fewer numpy calls per
        # text: prediction speed is part of the chat server's throughput).
        shapes = {h.shape for h in self._heads}
        self._stacked = np.stack(self._heads).transpose(0, 2, 1) if len(shapes) == 1 else None
        self._softmax = [i for i, c in enumerate(member_configs) if c.get("loss") == "softmax"]
        self._token_keys = [tuple(sorted(_token_options(c).items())) for c in member_configs]
        self._vocab_groups: list[tuple[tuple, frozenset[str], int]] | None = None

    # ---- training -------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        rows: Sequence[dict],
        valid_rows: Sequence[dict] | None = None,
        **params: Any,
    ) -> IntentClassifier:
        """Train on `rows` ({"text", "label"} dicts); calibrate and choose the threshold on
        `valid_rows` when given (they may hold `oos` rows), else keep the default threshold."""
        unknown = set(params) - set(DEFAULT_PARAMS) - FASTTEXT_ARGS - MEMBER_OPTIONS
        if unknown:
            raise TypeError(f"unknown training params: {sorted(unknown)}")
        merged = {**DEFAULT_PARAMS, **params}
        features = _check_features(merged["confidence_features"])
        merged["confidence_features"] = list(features)
        usable = _check_rows(rows, oos_class=merged["oos_class"])
        configs = _resolve_members(merged)
        labels = sorted({r["label"] for r in usable})
        valid = _check_eval_rows(valid_rows) if valid_rows else []
        known = [r for r in valid if r["label"] in labels and r["label"] != OOS]
        crossfit = bool(merged["crossfit"]) and len(known) >= 2
        started = datetime.now(UTC)

        def fit(train_rows: list[dict]) -> IntentClassifier:
            members, outputs, used, centroids = _fit_members(train_rows, configs, labels, merged)
            return cls(
                members=members,
                outputs=outputs,
                centroids=centroids,
                member_configs=used,
                labels=labels,
                calibration=Calibration(),
                threshold=merged["default_threshold"],
                params={k: v for k, v in merged.items() if k != "members"},
            )

        if crossfit:
            # Two halves of the validation rows: each half-model trains on the training rows
            # plus the in-scope rows of one half and scores the other half, so every valid
            # row is scored once, by a model that never saw it.
            folds = ([], [])
            for row in known:
                folds[_fold(row["text"])].append(row)
            known_ids = {id(r) for r in known}
            rest: tuple[list, list] = ([], [])  # oos rows: each half scores half of them
            for row in valid:
                if id(row) not in known_ids:
                    rest[_fold(row["text"])].append(row)
            halves = [fit(usable + folds[k]) for k in (0, 1)]
            scored = [(halves[k], folds[1 - k] + rest[1 - k]) for k in (0, 1)]
            clf = cls(
                members=halves[0].members + halves[1].members,
                outputs=halves[0]._outputs + halves[1]._outputs,
                centroids=halves[0]._centroids + halves[1]._centroids,
                member_configs=halves[0].member_configs + halves[1].member_configs,
                labels=labels,
                calibration=Calibration(),
                threshold=merged["default_threshold"],
                params=halves[0].params,
            )
        else:
            clf = fit(usable)
            scored = [(clf, valid)] if valid else []
        clf.meta = {
            "created": started.isoformat(timespec="seconds"),
            "train_seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
            "data_hash": data_hash(usable),
            "n_train": len(usable),
            "crossfit": crossfit,
        }
        threshold_rule = "default"
        if scored:
            x, pred, gold = [], [], []
            for scorer, part in scored:
                top, columns = scorer._top_features([r["text"] for r in part], features)
                x.append(np.column_stack(columns))
                pred.append(np.array(labels)[top])
                gold.append(np.array([r["label"] for r in part]))
            x, pred, gold = np.concatenate(x), np.concatenate(pred), np.concatenate(gold)
            clf.calibration = Calibration.fit(
                x, pred == gold, features, min_events=merged["calibration_min_events"]
            )
            # (On degenerate data the fit may fall back to fewer features: "z" alone.)
            columns = dict(zip(features, x.T, strict=True))
            conf = clf.calibration(*(columns[f] for f in clf.calibration.features))
            clf.threshold, threshold_rule = choose_threshold(
                conf, pred, gold, **_threshold_settings(merged)
            )
            clf.meta["valid_hash"] = data_hash(valid)
            clf.meta["n_valid"] = len(valid)
        if merged["threshold"] is not None:
            clf.threshold, threshold_rule = float(merged["threshold"]), "fixed"
        clf.meta["threshold_rule"] = threshold_rule
        if scored:
            # What the threshold was chosen on (not saved): bench/ compares rules with it.
            clf.valid_scores = (conf, pred, gold)
            # Out-of-fold when cross-fitted: the honest estimate for unseen text.
            clf.meta["valid_metrics"] = evaluate_predictions(conf, pred, gold, clf.threshold)
        return clf

    def calibrate(self, valid_rows: Sequence[dict]) -> Calibration:
        """Fit the confidence calibration on validation rows (any `oos` row is a miss), over
        the features the current calibration uses."""
        features = self.calibration.features
        top, columns = self._top_features([r["text"] for r in valid_rows], features)
        gold = [r["label"] for r in valid_rows]
        correct = np.array([self.labels[t] == g for t, g in zip(top, gold, strict=True)])
        self.calibration = Calibration.fit(
            np.column_stack(columns),
            correct,
            features,
            min_events=self.params.get("calibration_min_events", 0.0),
        )
        return self.calibration

    def choose_threshold(self, valid_rows: Sequence[dict]) -> tuple[float, str]:
        """The handoff threshold for validation rows, and the rule that chose it.

        With `oos` rows, by `threshold_rule`: "max_loss" (default) takes the highest
        threshold that hands off at most `max_correct_loss` of the in-scope rows answered
        right (so it catches as many oos rows as that allows); "recall_target" takes the
        lowest threshold that hands off `oos_recall_target` of the oos rows; "sum" maximises
        in-scope accuracy + oos recall. Without oos rows, by `no_oos_rule`: "break_even"
        (default) answers when the calibrated P(correct) ≥ 0.5; "keep" takes the largest
        threshold keeping `keep_correct` of the correct predictions. Both are capped at the
        default threshold.
        """
        conf, top = self._confidence([r["text"] for r in valid_rows])
        gold = np.array([r["label"] for r in valid_rows])
        pred = np.array(self.labels)[top]
        return choose_threshold(conf, pred, gold, **_threshold_settings(self.params))

    # ---- prediction -----------------------------------------------------------------------

    def _features(
        self, texts: Sequence[str], features: Sequence[str] = ("z",)
    ) -> dict[str, np.ndarray]:
        """Per-label confidence features (CONFIDENCE_FEATURES) for `texts`, each of shape
        (len(texts), len(labels)), or (len(texts), 1) when the same for every label.

        "z" is the mean per-label log-odds over the members, computed from the sentence
        vector and the output matrix rather than from `predict`, whose float32
        probabilities saturate at 1.0 for confident texts and would leave nothing to
        calibrate. One-vs-all members give log-odds directly; softmax members give
        log p − log(1 − p).
        """
        n, n_labels = len(texts), len(self.labels)
        out = {"z": np.zeros((n, n_labels))}
        want_centroid = "centroid" in features
        if want_centroid:
            if any(c is None for c in self._centroids):
                raise ValueError("this model has no label centroids (saved without them)")
            out["centroid"] = np.zeros((n, n_labels))
        tokens: dict[tuple, list[str]] = {}
        if "known" in features:
            out["known"] = self._known_share(texts, tokens)
        if not texts:
            return out
        hidden = []
        for model, key in zip(self.members, self._token_keys, strict=True):
            if key not in tokens:
                tokens[key] = [tokenized(t, **dict(key)) for t in texts]
            hidden.append(np.array([model.get_sentence_vector(t) for t in tokens[key]]))
        if self._stacked is not None:  # (members, texts, labels [+ centroid rows])
            hidden = np.stack(hidden)
            # Blocks of 32 texts stay under OpenBLAS's size for threading: on the shared
            # 2-core machine, waking its threads for each batch cost 3-10× the product itself.
            products = np.concatenate(
                [np.matmul(hidden[:, i : i + 32], self._stacked) for i in range(0, len(texts), 32)],
                axis=1,
            )
        else:
            products = [h @ head.T for h, head in zip(hidden, self._heads, strict=True)]
        logits = [p[:, :n_labels] for p in products] if self._softmax else products
        for i in self._softmax:
            shifted = logits[i] - logits[i].max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            logits[i] = logp - np.log(-np.expm1(np.minimum(logp, -1e-12)))
        if self._softmax or self._stacked is None:
            out["z"] = np.sum([x[:, :n_labels] for x in logits], axis=0, dtype=np.float64)
        else:
            out["z"] = products[:, :, :n_labels].sum(axis=0, dtype=np.float64)
        out["z"] /= len(self.members)
        if want_centroid and self._stacked is not None:
            norm = np.sqrt(np.einsum("mnd,mnd->mn", hidden, hidden))[:, :, None]
            cosines = products[:, :, n_labels:] / np.maximum(norm, 1e-12)
            out["centroid"] = cosines.sum(axis=0, dtype=np.float64) / len(self.members)
        elif want_centroid:
            out["centroid"] = np.zeros((len(texts), n_labels))
            for p, h in zip(products, hidden, strict=True):
                norm = np.sqrt(np.einsum("ij,ij->i", h, h))
                out["centroid"] += p[:, n_labels:] / np.maximum(norm, 1e-12)[:, None]
            out["centroid"] /= len(self.members)
        return out

    def _known_share(self, texts: Sequence[str], tokens: dict[tuple, list[str]]) -> np.ndarray:
        """Share of each text's tokens found in the members' dictionaries, averaged over
        the members (members trained on the same rows share one dictionary), (n, 1).
        `tokens` caches the tokenized texts per tokenizer options (filled in here)."""
        if self._vocab_groups is None:
            groups: list[tuple[tuple, frozenset[str], int]] = []
            for model, config in zip(self.members, self.member_configs, strict=True):
                key = tuple(sorted(_token_options(config).items()))
                vocab = frozenset(model.get_words())
                for i, (k, v, count) in enumerate(groups):
                    if k == key and v == vocab:
                        groups[i] = (k, v, count + 1)
                        break
                else:
                    groups.append((key, vocab, 1))
            self._vocab_groups = groups
        share = np.zeros((len(texts), 1))
        for key, vocab, count in self._vocab_groups:
            if key not in tokens:
                tokens[key] = [tokenized(t, **dict(key)) for t in texts]
            for row, text in enumerate(tokens[key]):
                words = text.split()
                if words:
                    share[row, 0] += count * sum(map(vocab.__contains__, words)) / len(words)
        return share / len(self.members)

    def _scores(self, texts: Sequence[str]) -> np.ndarray:
        """Mean per-label log-odds over the members, shape (len(texts), len(labels))."""
        return self._features(texts)["z"]

    @staticmethod
    def _top(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = scores.argmax(axis=1)
        return top, scores[np.arange(len(scores)), top]

    def _top_features(
        self, texts: Sequence[str], features: Sequence[str]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The top label (by log-odds) of each text and its feature columns."""
        values = self._features(texts, features)
        top = values["z"].argmax(axis=1) if len(texts) else np.zeros(0, dtype=int)
        rows = np.arange(len(top))
        columns = [
            values[f][rows, top] if values[f].shape[1] > 1 else values[f][:, 0] for f in features
        ]
        return top, columns

    def _confidence(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        top, columns = self._top_features(texts, self.calibration.features)
        return self.calibration(*columns), top

    def predict_many(self, texts: Sequence[str], k: int = 3) -> list[Prediction]:
        """Predictions for many texts at once."""
        texts = [str(t) for t in texts]
        values = self._features(texts, self.calibration.features)
        scores = values["z"]
        calibrated = self.calibration(*(values[f] for f in self.calibration.features))
        order = np.argsort(-scores, axis=1, kind="stable")[:, : max(1, k)]
        # Candidates keep the log-odds order; a lower-ranked label never reads as more
        # likely than the one above it (with "z" alone the calibration is monotone anyway).
        ranked = np.minimum.accumulate(np.take_along_axis(calibrated, order, axis=1), axis=1)
        results = []
        for row in range(len(texts)):
            cands = [
                (self.labels[j], float(p)) for j, p in zip(order[row], ranked[row], strict=True)
            ]
            top_label, conf = cands[0]
            answered = conf >= self.threshold and top_label != OOS
            results.append(
                Prediction(
                    label=top_label if answered else None,
                    top_label=top_label,
                    confidence=conf,
                    candidates=cands,
                )
            )
        return results

    def predict(self, text: str, k: int = 3) -> Prediction:
        """The prediction for one text (label None under the threshold)."""
        return self.predict_many([text], k=k)[0]

    # ---- evaluation -----------------------------------------------------------------------

    def evaluate(self, rows: Sequence[dict], threshold: float | None = None) -> dict[str, Any]:
        """in_scope_accuracy, handoff_share, oos_recall, macro_f1 and threshold on `rows`."""
        rows = _check_eval_rows(rows)
        thr = self.threshold if threshold is None else float(threshold)
        conf, top = self._confidence([r["text"] for r in rows])
        pred = np.array(self.labels)[top]
        gold = np.array([r["label"] for r in rows])
        return evaluate_predictions(conf, pred, gold, thr)

    # ---- persistence ----------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the members (.bin, or .ftz when quantised) and meta.json into `directory`."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for i, model in enumerate(self.members):
            name = f"member-{i}.{'ftz' if model.is_quantized() else 'bin'}"
            model.save_model(str(out / name))
            if model.is_quantized():  # fastText will not hand back a quantised output matrix
                np.save(out / f"member-{i}.out.npy", self._outputs[i].astype(np.float32))
            entry = {"file": name}
            if self._centroids[i] is not None:
                entry["centroids"] = f"member-{i}.centroids.npy"
                np.save(out / entry["centroids"], self._centroids[i].astype(np.float32))
            files.append(entry)
        meta = {
            "format": FORMAT_VERSION,
            "labels": self.labels,
            "threshold": self.threshold,
            "calibration": self.calibration.to_json(),
            "members": [{**f, **c} for f, c in zip(files, self.member_configs, strict=True)],
            "params": self.params,
            **self.meta,
        }
        tmp = out / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str) + "\n")
        tmp.replace(out / "meta.json")
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike) -> IntentClassifier:
        """Load a directory written by `save`."""
        import fasttext

        src = Path(directory)
        meta_path = src / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"no intent model at {src} (meta.json missing)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{meta_path}: unsupported format {meta.get('format')!r}")
        members, configs, outputs, centroids = [], [], [], []
        for spec in meta.pop("members"):
            spec = dict(spec)
            path = src / spec.pop("file")
            model = fasttext.load_model(str(path))
            members.append(model)
            # Models saved before the centroid feature have none (and calibrate on "z").
            centroid_file = spec.pop("centroids", None)
            centroids.append(np.load(src / centroid_file) if centroid_file else None)
            configs.append(spec)
            outputs.append(np.load(path.with_suffix(".out.npy")) if model.is_quantized() else None)
        calibration = Calibration.from_json(meta.pop("calibration"))
        if "centroid" in calibration.features and any(c is None for c in centroids):
            raise ValueError(f"{meta_path}: the calibration needs label centroids; files missing")
        return cls(
            members=members,
            outputs=outputs,
            centroids=centroids,
            member_configs=configs,
            labels=meta.pop("labels"),
            calibration=calibration,
            threshold=meta.pop("threshold"),
            params=meta.pop("params"),
            meta={k: v for k, v in meta.items() if k != "format"},
        )


def _output_matrix(model, labels: list[str], weights: np.ndarray | None = None) -> np.ndarray:
    """The member's output matrix with rows in `labels` order (given when quantised)."""
    if weights is not None:
        return np.asarray(weights, dtype=np.float32)
    order = [model.get_label_id(f"{_LABEL_PREFIX}{label}") for label in labels]
    return model.get_output_matrix()[order].astype(np.float32)


def _check_eval_rows(rows: Sequence[dict]) -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "text" not in row or "label" not in row:
            raise TrainingDataError(f"row {i + 1} needs 'text' and 'label'")
        out.append({"text": str(row["text"]), "label": str(row["label"]).strip()})
    if not out:
        raise TrainingDataError("no rows to evaluate")
    return out


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
) -> tuple[float, str]:
    """See IntentClassifier.choose_threshold; returns (threshold, rule description)."""
    conf, pred, gold = np.asarray(conf), np.asarray(pred), np.asarray(gold)
    ins = gold != OOS
    correct = (pred == gold) & ins
    if (~ins).any() and ins.any():
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


def _r(x: float) -> float:
    return round(float(x), 4)
