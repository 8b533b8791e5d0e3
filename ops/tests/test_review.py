"""The feedback loop: flagged answers land in the review list, a reviewed correction
becomes an FAQ entry or a training example, and a retrain goes live only when its
held-out figures are no worse."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone

from catalog.models import FaqEntry
from intents.models import IntentModelVersion, TrainingExample
from intents.retrain import intent_retrain, retrain_no_worse
from intents.tests.test_classifier import make_rows
from ops.models import ReviewItem
from ops.review import review_items_collect, review_to_example, review_to_faq
from ops.tests.factories import ChatBuilder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_store")]


@pytest.fixture
def flagged():
    now = timezone.now()
    chat = ChatBuilder(visitor="v-review")
    good = chat.ask("运费多少", now - timedelta(minutes=5))
    chat.answer(good, after_s=0.1, intent="consult.logistics.shipping_fee", helpful=True)
    down = chat.ask("能开发票吗", now - timedelta(minutes=4))
    chat.answer(
        down, after_s=0.1, intent="consult.payment.methods", helpful=False, text="支付方式…"
    )
    unsure = chat.ask("你们支持以旧换新吗", now - timedelta(minutes=3))
    chat.answer(unsure, after_s=0.1, intent=None, text="您是想问…")
    angry = ChatBuilder(visitor="v-angry", language="en")
    q = angry.ask("terrible service", now - timedelta(minutes=2))
    angry.answer(q, after_s=0.1, intent="complaint.logistics.service", text="Sorry…")
    angry.hand_off(q)
    return now


def test_collect_lists_thumbs_down_clarify_and_handoff_once(flagged):
    assert review_items_collect() == 3
    assert review_items_collect() == 0
    items = {i.question: (i.reason, i.lang, i.intent, i.answer) for i in ReviewItem.objects.all()}
    assert items == {
        "能开发票吗": ("thumbs_down", "zh", "consult.payment.methods", "支付方式…"),
        "你们支持以旧换新吗": ("clarify", "zh", "", "您是想问…"),
        "terrible service": ("handoff", "en", "complaint.logistics.service", "Sorry…"),
    }


def test_correction_becomes_training_example(flagged):
    review_items_collect()
    item = ReviewItem.objects.get(question="能开发票吗")
    manager = get_user_model().objects.get(username="manager")
    review_to_example(item=item, label="consult.payment.invoice", reviewer=manager)
    example = TrainingExample.objects.get(text="能开发票吗")
    assert (example.label, example.lang, example.split, example.source) == (
        "consult.payment.invoice",
        "zh",
        "train",
        "review",
    )
    item.refresh_from_db()
    assert (item.status, item.corrected_label, item.reviewed_by) == (
        "example",
        "consult.payment.invoice",
        manager,
    )


def test_unknown_label_is_refused_and_nothing_changes(flagged):
    review_items_collect()
    item = ReviewItem.objects.get(question="能开发票吗")
    with pytest.raises(ValueError):
        review_to_example(item=item, label="consult.payment.bitcoin", reviewer=None)
    assert not TrainingExample.objects.filter(text="能开发票吗").exists()
    item.refresh_from_db()
    assert item.status == "open"


@pytest.mark.django_db(transaction=True)
def test_correction_becomes_faq_entry_answered_next_time(flagged):
    review_items_collect()
    item = ReviewItem.objects.get(question="你们支持以旧换新吗")
    entry = review_to_faq(
        item=item,
        answer_zh="目前不支持以旧换新。",
        answer_en="We do not offer trade-ins at the moment.",
        reviewer=None,
    )
    assert (entry.question_zh, entry.answer_en, entry.is_active) == (
        "你们支持以旧换新吗",
        "We do not offer trade-ins at the moment.",
        True,
    )
    item.refresh_from_db()
    assert item.status == "faq"
    # The bot now answers the question from the new entry.
    response = Client().post(
        "/api/chat/", {"text": "你们支持以旧换新吗"}, content_type="application/json"
    )
    assert response.json()["replies"][0]["text"] == "目前不支持以旧换新。"


def test_faq_needs_both_languages(flagged):
    review_items_collect()
    item = ReviewItem.objects.get(question="你们支持以旧换新吗")
    before = FaqEntry.objects.count()
    with pytest.raises(ValueError):
        review_to_faq(item=item, answer_zh="不支持。", answer_en=" ", reviewer=None)
    assert FaqEntry.objects.count() == before
    item.refresh_from_db()
    assert item.status == "open"


def test_admin_review_list_and_correction_form(flagged, manager_client):
    response = manager_client.get("/admin/ops/reviewitem/")
    assert response.status_code == 200
    assert "能开发票吗" in response.content.decode()  # collected on opening the list
    item = ReviewItem.objects.get(question="能开发票吗")
    url = f"/admin/ops/reviewitem/{item.pk}/change/"
    # Missing label: the form says so and nothing changes.
    response = manager_client.post(url, {"action": "example", "corrected_label": ""})
    assert response.status_code == 200
    assert "Choose the correct intent label" in response.content.decode()
    assert not TrainingExample.objects.filter(text="能开发票吗").exists()
    response = manager_client.post(
        url, {"action": "example", "corrected_label": "consult.payment.invoice"}
    )
    assert response.status_code == 302
    assert TrainingExample.objects.get(text="能开发票吗").label == "consult.payment.invoice"


@pytest.mark.parametrize(
    "new, old, ok",
    [
        ({"in_scope_accuracy": 0.9, "macro_f1": 0.8, "oos_recall": 0.7}, None, True),
        ({}, None, False),
        (
            {"in_scope_accuracy": 0.9, "macro_f1": 0.8, "oos_recall": 0.7},
            {"in_scope_accuracy": 0.9, "macro_f1": 0.8, "oos_recall": 0.7},
            True,
        ),
        (
            {"in_scope_accuracy": 0.91, "macro_f1": 0.79, "oos_recall": 0.9},
            {"in_scope_accuracy": 0.9, "macro_f1": 0.8, "oos_recall": 0.7},
            False,
        ),
        (
            {"in_scope_accuracy": 0.91, "macro_f1": 0.8},
            {"in_scope_accuracy": 0.9, "macro_f1": 0.8, "oos_recall": 0.7},
            False,
        ),
    ],
)
def test_no_worse_rule(new, old, ok):
    assert retrain_no_worse(new=new, old=old)[0] is ok


@pytest.fixture
def examples():
    rows = make_rows() * 2
    TrainingExample.objects.bulk_create(
        [
            TrainingExample(text=r["text"], label=r["label"], lang="zh", split="train")
            for r in {(r["text"], r["label"]): r for r in rows}.values()
        ]
    )
    held = make_rows(["手柄"], ["speaker"])
    TrainingExample.objects.bulk_create(
        [
            TrainingExample(text=r["text"], label=r["label"], lang="zh", split="heldout")
            for r in held
        ]
    )


def test_retrain_activates_only_when_no_worse(examples, tmp_path):
    with override_settings(VAR_DIR=tmp_path):
        first = intent_retrain(note="test")
        assert first.activated
        active = IntentModelVersion.objects.get(is_active=True)
        assert active.version == first.version
        # Make the live model look perfect: the next one cannot beat it.
        active.metrics = {"heldout": {"in_scope_accuracy": 1.0, "macro_f1": 1.0, "oos_recall": 1.0}}
        active.save(update_fields=["metrics"])
        second = intent_retrain(note="test")
    assert not second.activated and second.reason.startswith("worse:")
    assert IntentModelVersion.objects.get(is_active=True).version == first.version
    assert IntentModelVersion.objects.filter(version=second.version, is_active=False).exists()
