"""Inference: scoring texts with a trained fastText ensemble and turning the scores into
calibrated predictions (`predict`, `predict_many`); what the chat server runs per message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .calibration import Calibration
from .params import LABEL_PREFIX, OOS, token_options
from .tokenize import tokenized


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


def output_matrix(model, labels: list[str], weights: np.ndarray | None = None) -> np.ndarray:
    """The member's output matrix with rows in `labels` order (given when quantised)."""
    if weights is not None:
        return np.asarray(weights, dtype=np.float32)
    order = [model.get_label_id(f"{LABEL_PREFIX}{label}") for label in labels]
    return model.get_output_matrix()[order].astype(np.float32)


class EnsemblePredictor:
    """A trained ensemble with its labels, calibration and handoff threshold, that predicts.

    Each member is a supervised fastText model over the tokens of `tokenize.py`; their
    per-label log-odds are averaged and, with the other confidence features, calibrated.
    IntentClassifier (model.py) adds training, evaluation and persistence.
    """

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
        outputs: Sequence[np.ndarray | None] | None = None,
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
            output_matrix(m, labels, w)
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
        self._token_keys = [tuple(sorted(token_options(c).items())) for c in member_configs]
        self._vocab_groups: list[tuple[tuple, frozenset[str], int]] | None = None

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
        hidden: list[np.ndarray] = []
        for model, key in zip(self.members, self._token_keys, strict=True):
            if key not in tokens:
                tokens[key] = [tokenized(t, **dict(key)) for t in texts]
            hidden.append(np.array([model.get_sentence_vector(t) for t in tokens[key]]))
        # Stacked: one (members, texts, labels [+ centroid rows]) array; else one per member.
        products: np.ndarray | list[np.ndarray]
        stacked_hidden: np.ndarray | None = None
        stacked_products: np.ndarray | None = None
        if self._stacked is not None:
            stacked_hidden = np.stack(hidden)
            # Blocks of 32 texts stay under OpenBLAS's size for threading: on the shared
            # 2-core machine, waking its threads for each batch cost 3-10× the product itself.
            products = stacked_products = np.concatenate(
                [
                    np.matmul(stacked_hidden[:, i : i + 32], self._stacked)
                    for i in range(0, len(texts), 32)
                ],
                axis=1,
            )
        else:
            products = [h @ head.T for h, head in zip(hidden, self._heads, strict=True)]
        logits: np.ndarray | list[np.ndarray] = (
            [p[:, :n_labels] for p in products] if self._softmax else products
        )
        for i in self._softmax:
            shifted = logits[i] - logits[i].max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            logits[i] = logp - np.log(-np.expm1(np.minimum(logp, -1e-12)))
        if self._softmax or stacked_products is None:
            out["z"] = np.sum([x[:, :n_labels] for x in logits], axis=0, dtype=np.float64)
        else:
            out["z"] = stacked_products[:, :, :n_labels].sum(axis=0, dtype=np.float64)
        out["z"] /= len(self.members)
        if want_centroid and stacked_products is not None:
            assert stacked_hidden is not None  # set with stacked_products
            norm = np.sqrt(np.einsum("mnd,mnd->mn", stacked_hidden, stacked_hidden))[:, :, None]
            cosines = stacked_products[:, :, n_labels:] / np.maximum(norm, 1e-12)
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
                key = tuple(sorted(token_options(config).items()))
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
