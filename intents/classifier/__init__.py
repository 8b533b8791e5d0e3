"""The intent classifier: tokenizer, fastText ensemble, calibration, threshold, metrics.

Pure Python (no Django): the management commands, the Celery tasks and `bench/` all call it.

    clf = IntentClassifier.train(rows, valid_rows)   # rows: [{"text", "label"}, ...]
    clf.save(path); clf = IntentClassifier.load(path)
    clf.predict("我的订单到哪了").label               # None under clf.threshold

Modules: model.py (IntentClassifier), params.py (training params, defaults, constants),
training.py, inference.py (predict), calibration.py, evaluation.py (threshold rules,
metrics), persistence.py (save/load), data.py (rows: reading, checks, hash), tokenize.py.
"""

from .data import DataError, TrainingDataError, read_jsonl
from .evaluation import choose_threshold, evaluate_predictions
from .inference import Prediction
from .model import IntentClassifier
from .params import CONFIDENCE_FEATURES, DEFAULT_THRESHOLD, OOS
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
