"""Training: fits the fastText members (in parallel, reproducibly), then calibrates the
confidence and chooses the handoff threshold on validation rows scored out of fold."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

from .calibration import Calibration
from .data import check_eval_rows, check_training_rows, data_hash
from .evaluation import choose_threshold, evaluate_predictions, threshold_settings
from .inference import EnsemblePredictor, output_matrix
from .params import (
    BASE_MEMBER,
    CONFIDENCE_FEATURES,
    DEFAULT_PARAMS,
    FASTTEXT_ARGS,
    LABEL_PREFIX,
    MEMBER_OPTIONS,
    OOS,
    token_options,
)
from .tokenize import tokenized

logger = logging.getLogger(__name__)

C = TypeVar("C", bound=EnsemblePredictor)


def train_classifier(
    cls: type[C],
    rows: Sequence[dict],
    valid_rows: Sequence[dict] | None = None,
    **params: Any,
) -> C:
    """Train on `rows` ({"text", "label"} dicts); calibrate and choose the threshold on
    `valid_rows` when given (they may hold `oos` rows), else keep the default threshold."""
    unknown = set(params) - set(DEFAULT_PARAMS) - FASTTEXT_ARGS - MEMBER_OPTIONS
    if unknown:
        raise TypeError(f"unknown training params: {sorted(unknown)}")
    merged = {**DEFAULT_PARAMS, **params}
    features = _check_features(merged["confidence_features"])
    merged["confidence_features"] = list(features)
    usable = check_training_rows(rows, oos_class=merged["oos_class"])
    configs = _resolve_members(merged)
    labels = sorted({r["label"] for r in usable})
    valid = check_eval_rows(valid_rows) if valid_rows else []
    known = [r for r in valid if r["label"] in labels and r["label"] != OOS]
    crossfit = bool(merged["crossfit"]) and len(known) >= 2
    started = datetime.now(UTC)

    def fit(train_rows: list[dict]) -> C:
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
        folds: tuple[list[dict], list[dict]] = ([], [])
        for row in known:
            folds[crossfit_fold(row["text"])].append(row)
        known_ids = {id(r) for r in known}
        rest: tuple[list, list] = ([], [])  # oos rows: each half scores half of them
        for row in valid:
            if id(row) not in known_ids:
                rest[crossfit_fold(row["text"])].append(row)
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
        xs: list[np.ndarray] = []
        preds: list[np.ndarray] = []
        golds: list[np.ndarray] = []
        for scorer, part in scored:
            top, columns = scorer._top_features([r["text"] for r in part], features)
            xs.append(np.column_stack(columns))
            preds.append(np.array(labels)[top])
            golds.append(np.array([r["label"] for r in part]))
        x, pred, gold = np.concatenate(xs), np.concatenate(preds), np.concatenate(golds)
        clf.calibration = Calibration.fit(
            x, pred == gold, features, min_events=merged["calibration_min_events"]
        )
        # (On degenerate data the fit may fall back to fewer features: "z" alone.)
        by_feature = dict(zip(features, x.T, strict=True))
        conf = clf.calibration(*(by_feature[f] for f in clf.calibration.features))
        clf.threshold, threshold_rule = choose_threshold(
            conf, pred, gold, **threshold_settings(merged)
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


def crossfit_fold(text: str) -> int:
    """The half (0 or 1) of the validation rows a text falls in when cross-fitting."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] & 1


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
    Large blocks freed before the threshold was fixed can still sit in the heap (a
    process that ran other work first, such as a test suite loading torch), so before
    each training `malloc_trim(0)` hands free heap pages back to the kernel: the next
    touch of such a page is a fresh, zeroed one. A no-op where the C library is not
    glibc."""
    global _MALLOC_FIXED
    try:
        libc = ctypes.CDLL("libc.so.6")
        if not _MALLOC_FIXED:
            libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
            _MALLOC_FIXED = True
        libc.malloc_trim(0)
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
        outputs = [output_matrix(model, labels) for model in members]
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
    options = token_options(config)
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


def _train_member(rows: Sequence[dict], config: dict[str, Any], workdir: str, index: int):
    import fasttext

    options = token_options(config)
    path = os.path.join(workdir, f"train-{index}.txt")
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            text = tokenized(row["text"], **options)
            fh.write(f"{LABEL_PREFIX}{row['label']} {text}\n")
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
