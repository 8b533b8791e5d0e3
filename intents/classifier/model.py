"""IntentClassifier, the one class callers use: the predictor of inference.py plus training,
calibration, threshold choice, evaluation and persistence, each delegated to its own module."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import Calibration
from .data import check_eval_rows
from .evaluation import choose_threshold, evaluate_predictions, threshold_settings
from .inference import EnsemblePredictor
from .persistence import load_classifier, save_classifier
from .training import train_classifier


class IntentClassifier(EnsemblePredictor):
    """An ensemble of fastText models with a calibrated confidence and a handoff threshold.

    Each member is a supervised fastText model over the tokens of `tokenize.py` (word n-grams,
    character n-grams); members differ in features and seed, and their per-label scores are
    averaged. The top label's score, the share of the text's tokens the members know and the
    cosine between the text's sentence vector and the label's centroid are then mapped to a
    calibrated probability that the top label is right (a logistic regression fitted on
    validation rows, out-of-scope rows counting as "wrong"), and the handoff threshold is
    chosen on the same validation rows. docs/intent-benchmarks.md records the measurements
    behind the defaults.
    """

    @classmethod
    def train(
        cls,
        rows: Sequence[dict],
        valid_rows: Sequence[dict] | None = None,
        **params: Any,
    ) -> IntentClassifier:
        """Train on `rows` ({"text", "label"} dicts); calibrate and choose the threshold on
        `valid_rows` when given (they may hold `oos` rows), else keep the default threshold.
        `params`: see params.DEFAULT_PARAMS, plus fastText arguments for every member."""
        return train_classifier(cls, rows, valid_rows, **params)

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
        return choose_threshold(conf, pred, gold, **threshold_settings(self.params))

    def evaluate(self, rows: Sequence[dict], threshold: float | None = None) -> dict[str, Any]:
        """in_scope_accuracy, handoff_share, oos_recall, macro_f1 and threshold on `rows`."""
        rows = check_eval_rows(rows)
        thr = self.threshold if threshold is None else float(threshold)
        conf, top = self._confidence([r["text"] for r in rows])
        pred = np.array(self.labels)[top]
        gold = np.array([r["label"] for r in rows])
        return evaluate_predictions(conf, pred, gold, thr)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the members (.bin, or .ftz when quantised) and meta.json into `directory`."""
        return save_classifier(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> IntentClassifier:
        """Load a directory written by `save`."""
        return load_classifier(cls, directory)
