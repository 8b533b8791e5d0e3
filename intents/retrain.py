"""Retraining the intent model on the project's data plus reviewed examples, and
activating the new version only when it is no worse than the active one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from intents.models import IntentModelVersion
from intents.services import intent_model_activate, intent_model_train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainResult:
    version: str
    activated: bool
    reason: str


# Held-out figures that must not get worse for a new model to go live.
RETRAIN_GUARDS = ("in_scope_accuracy", "macro_f1", "oos_recall")


def intent_retrain(*, note: str = "scheduled retrain", guarded: bool = True) -> RetrainResult:
    """Train a new intent model on the examples table (reviewed corrections included).
    `guarded`: activate it only when none of its held-out figures is worse than the
    active one's; otherwise keep it inactive for a person to review and activate."""
    active = IntentModelVersion.objects.filter(is_active=True).first()
    new = intent_model_train(note=note, activate=False)
    if not guarded:
        return RetrainResult(version=new.version, activated=False, reason="trained only")
    ok, reason = retrain_no_worse(
        new=(new.metrics or {}).get("heldout") or {},
        old=((active.metrics or {}).get("heldout") or {}) if active else None,
    )
    if ok:
        intent_model_activate(version=new)
    log.info("retrain %s: %s (%s)", new.version, "activated" if ok else "kept old", reason)
    return RetrainResult(version=new.version, activated=ok, reason=reason)


def retrain_no_worse(*, new: dict, old: dict | None) -> tuple[bool, str]:
    """Whether a new model's held-out metrics are no worse than the old one's."""
    if not new:
        return False, "the new model has no held-out metrics"
    if old is None:
        return True, "no active model"
    worse = [
        f"{key} {_fmt(new.get(key))} < {_fmt(old[key])}"
        for key in RETRAIN_GUARDS
        if old.get(key) is not None and (new.get(key) is None or new[key] < old[key])
    ]
    if worse:
        return False, "worse: " + ", ".join(worse)
    return True, "no held-out figure is worse"


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4f}"
