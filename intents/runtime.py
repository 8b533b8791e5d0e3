"""The active intent model inside a running process.

Each process keeps the loaded model and, at most every CHECK_S seconds, reads
which version is active (one cache read; the database when the cache has
nothing). A new active version is loaded in place: no restart needed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TypedDict

from django.core.cache import cache

from intents.classifier.model import IntentClassifier
from intents.models import IntentModelVersion
from intents.services import ACTIVE_CACHE_KEY

log = logging.getLogger(__name__)
CHECK_S = 5.0

_lock = threading.Lock()


class _Loaded(TypedDict):
    version: str | None
    classifier: IntentClassifier | None
    checked: float


_loaded: _Loaded = {"version": None, "classifier": None, "checked": -1e9}


def _active_version_name() -> str | None:
    name = cache.get(ACTIVE_CACHE_KEY)
    if name is None:
        name = (
            IntentModelVersion.objects.filter(is_active=True)
            .values_list("version", flat=True)
            .first()
        )
        if name:
            cache.set(ACTIVE_CACHE_KEY, name, None)
    return name


def active_classifier() -> IntentClassifier | None:
    """The active model, or None when no version has been trained and activated."""
    now = time.monotonic()
    with _lock:
        if now - _loaded["checked"] < CHECK_S:
            return _loaded["classifier"]
        _loaded["checked"] = now
        name = _active_version_name()
        if name == _loaded["version"]:
            return _loaded["classifier"]
        version = IntentModelVersion.objects.filter(version=name).first() if name else None
        classifier = None
        if version is not None:
            try:
                classifier = IntentClassifier.load(version.path)
            except (OSError, ValueError) as exc:
                log.error("intent model %s failed to load: %s", name, exc)
                return _loaded["classifier"]
            log.info("intent model %s loaded", name)
        _loaded.update({"version": name, "classifier": classifier})
        return classifier


# Versions an A/B arm asks for by name, beside the active one (a few at most).
_by_version: dict[str, IntentClassifier] = {}
MAX_EXTRA_VERSIONS = 3


def classifier_for_version(*, version: IntentModelVersion) -> IntentClassifier | None:
    """A given model version (an experiment arm's), loaded once per process; None when
    its files do not load (the arm then answers with the active model)."""
    with _lock:
        classifier = _by_version.get(version.version)
        if classifier is None:
            try:
                classifier = IntentClassifier.load(version.path)
            except (OSError, ValueError) as exc:
                log.error("intent model %s failed to load: %s", version.version, exc)
                return None
            if len(_by_version) >= MAX_EXTRA_VERSIONS:
                _by_version.pop(next(iter(_by_version)))
            _by_version[version.version] = classifier
        return classifier


def runtime_reset() -> None:
    """Forget the loaded models (tests, and after deleting model files)."""
    with _lock:
        _loaded.update({"version": None, "classifier": None, "checked": -1e9})
        _by_version.clear()
