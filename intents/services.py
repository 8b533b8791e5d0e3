"""Writes for intents: training examples, model versions, training and activation.

Activating a version bumps a cache key; every process checks it every few
seconds and loads the new model, so no restart is needed (see runtime.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from intents.classifier.model import IntentClassifier
from intents.models import IntentModelVersion, TrainingExample

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLIT_FILES = {
    TrainingExample.Split.TRAIN: "train.jsonl",
    TrainingExample.Split.VALID: "valid.jsonl",
    TrainingExample.Split.HELDOUT: "heldout.jsonl",
    TrainingExample.Split.OOS_VALID: "oos_valid.jsonl",
    TrainingExample.Split.OOS_HELDOUT: "oos_heldout.jsonl",
}
ACTIVE_CACHE_KEY = "intents:active-version"


def models_dir() -> Path:
    return Path(settings.VAR_DIR) / "models" / "intents"


def examples_seed(*, data_dir: Path = DATA_DIR) -> int:
    """Load the project's JSON Lines splits into the admin-editable examples table.
    Idempotent: existing (text, label) rows keep their admin edits."""
    existing = set(TrainingExample.objects.values_list("text", "label"))
    new = []
    for split, name in SPLIT_FILES.items():
        path = data_dir / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            key = (row["text"][:500], row["label"])
            if key in existing:
                continue
            existing.add(key)
            new.append(
                TrainingExample(
                    text=key[0],
                    label=row["label"],
                    lang=row.get("lang", "zh"),
                    split=split,
                    source=TrainingExample.Source.SEED,
                )
            )
    TrainingExample.objects.bulk_create(new, batch_size=500)
    return len(new)


def examples_rows(*, splits: list[str]) -> list[dict[str, str]]:
    return [
        {"text": text, "label": label}
        for text, label in TrainingExample.objects.filter(split__in=splits)
        .order_by("pk")
        .values_list("text", "label")
    ]


def intent_model_register(
    *, path: Path, activate: bool = False, note: str = ""
) -> IntentModelVersion:
    """Record a trained model directory (its meta.json holds threshold and metrics)."""
    meta = json.loads((Path(path) / "meta.json").read_text())
    version = IntentModelVersion.objects.create(
        version=Path(path).name,
        path=str(path),
        threshold=meta.get("threshold"),
        metrics={
            "valid": meta.get("valid_metrics"),
            "heldout": meta.get("heldout_metrics"),
        },
        examples=int(meta.get("n_train", 0) or 0),
        note=note,
    )
    if activate:
        intent_model_activate(version=version)
    return version


def intent_model_activate(*, version: IntentModelVersion) -> IntentModelVersion:
    """Make this version the one every process answers with."""
    if version.status != IntentModelVersion.Status.READY:
        raise ValueError(f"version {version.version} is {version.status}, not ready")
    IntentClassifier.load(version.path)  # refuse a directory that does not load
    with transaction.atomic():
        IntentModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(
            is_active=False
        )
        version.is_active = True
        version.activated_at = timezone.now()
        version.save(update_fields=["is_active", "activated_at"])
        transaction.on_commit(lambda: cache.set(ACTIVE_CACHE_KEY, version.version, None))
    return version


# How the shop's model picks its answer threshold on the valid rows: the least expected
# cost when a wrong answer (or answering an out-of-scope question) costs three times a
# clarification, with out-of-scope questions taken as 15% of traffic. The trade-off
# curve and where other rules and the seed system's 0.7 sit: bench/threshold_costs.py.
THRESHOLD_POLICY = {"threshold_rule": "cost", "wrong_cost": 3.0, "oos_share": 0.15}


def intent_model_train(*, note: str = "", activate: bool = False) -> IntentModelVersion:
    """Train a new version on the examples table (train split; valid and oos_valid
    choose calibration and the threshold, by THRESHOLD_POLICY), measure it on the
    held-out split, save it."""
    train = examples_rows(splits=[TrainingExample.Split.TRAIN])
    valid = examples_rows(splits=[TrainingExample.Split.VALID, TrainingExample.Split.OOS_VALID])
    heldout = examples_rows(
        splits=[TrainingExample.Split.HELDOUT, TrainingExample.Split.OOS_HELDOUT]
    )
    if len({row["label"] for row in train}) < 2:
        raise ValueError("need training examples for at least two labels")
    classifier = IntentClassifier.train(train, valid or None, **THRESHOLD_POLICY)
    if heldout:
        classifier.meta["heldout_metrics"] = classifier.evaluate(heldout)
    classifier.meta["n_train"] = len(train)
    out = models_dir() / timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    classifier.save(out)
    return intent_model_register(path=out, activate=activate, note=note)
