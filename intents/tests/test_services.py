"""Model versions: register, activate, and a running process answering with the
newly active model without a restart; examples loaded into the admin table."""

import json

import pytest
from django.core.cache import cache

from conversations.dialogue.understanding import (
    FastTextUnderstanding,
    KeywordUnderstanding,
    get_understanding,
)
from intents import runtime, services
from intents.models import IntentModelVersion, TrainingExample
from intents.tests.test_classifier import FAST, make_rows, train_fresh

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small model; dim 50 on repeated rows trains stably (dim 20 on a few dozen
    rows makes fastText diverge with "Encountered NaN" on some runs)."""
    out = tmp_path_factory.mktemp("models") / "v1"
    valid = make_rows(["手柄"], ["speaker"]) + [
        {"text": "今天天气怎么样", "label": "oos"},
        {"text": "tell me a joke", "label": "oos"},
    ]
    params = {**FAST, "dim": 50, "crossfit": False}
    train_fresh(tmp_path_factory.mktemp("train"), make_rows() * 3, valid, workers=1, **params).save(
        out
    )
    return out


def test_activation_switches_the_running_process_without_restart(model_dir, monkeypatch):
    monkeypatch.setattr(runtime, "CHECK_S", 0.0)
    assert isinstance(get_understanding(), KeywordUnderstanding)
    version = services.intent_model_register(path=model_dir, activate=True)
    assert cache.get(services.ACTIVE_CACHE_KEY) is None  # set on commit, not yet
    runtime.runtime_reset()
    understanding = get_understanding()  # finds the active row in the database
    assert isinstance(understanding, FastTextUnderstanding)
    result = understanding.classify("这个手机多少钱", lang="zh")
    assert result.label == "consult.product.price"
    assert result.threshold == version.threshold
    assert IntentModelVersion.objects.get(is_active=True) == version


def test_only_one_version_is_active(model_dir, tmp_path):
    second_dir = tmp_path / "v2"
    second_dir.mkdir()
    for item in model_dir.iterdir():
        (second_dir / item.name).write_bytes(item.read_bytes())
    first = services.intent_model_register(path=model_dir, activate=True)
    second = services.intent_model_register(path=second_dir, activate=True)
    first.refresh_from_db()
    assert (first.is_active, second.is_active) == (False, True)


def test_a_directory_that_does_not_load_is_not_activated(tmp_path, model_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text(json.dumps({"threshold": 0.5, "format": "nope"}))
    version = services.intent_model_register(path=broken)
    with pytest.raises(ValueError):
        services.intent_model_activate(version=version)
    assert not IntentModelVersion.objects.filter(is_active=True).exists()


def test_examples_seed_is_idempotent(tmp_path):
    (tmp_path / "train.jsonl").write_text(
        json.dumps({"text": "运费多少", "label": "consult.logistics.shipping_fee", "lang": "zh"})
        + "\n"
    )
    (tmp_path / "heldout.jsonl").write_text(
        json.dumps({"text": "how much is shipping", "label": "x.y.z", "lang": "en"}) + "\n"
    )
    assert services.examples_seed(data_dir=tmp_path) == 2
    assert services.examples_seed(data_dir=tmp_path) == 0
    assert set(TrainingExample.objects.values_list("split", flat=True)) == {"train", "heldout"}
