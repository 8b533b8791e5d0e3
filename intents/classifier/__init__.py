"""The intent classifier: tokenizer, fastText ensemble, calibration, threshold, metrics.

Pure Python (no Django): the management commands, the Celery tasks and `bench/` all call it.

    clf = IntentClassifier.train(rows, valid_rows)   # rows: [{"text", "label"}, ...]
    clf.save(path); clf = IntentClassifier.load(path)
    clf.predict("我的订单到哪了").label               # None under clf.threshold
"""

from .data import DataError, read_jsonl
from .model import (
    CONFIDENCE_FEATURES,
    DEFAULT_THRESHOLD,
    OOS,
    IntentClassifier,
    Prediction,
    TrainingDataError,
    choose_threshold,
    evaluate_predictions,
)
from .tokenize import tokenize, tokenized

__all__ = [
    "CONFIDENCE_FEATURES",
    "DEFAULT_THRESHOLD",
    "OOS",
    "DataError",
    "IntentClassifier",
    "Prediction",
    "TrainingDataError",
    "choose_threshold",
    "evaluate_predictions",
    "read_jsonl",
    "tokenize",
    "tokenized",
]
