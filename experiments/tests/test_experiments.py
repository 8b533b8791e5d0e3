"""A/B experiments: stable sha256 assignment, shares, activation, per-arm metrics, admin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from conversations.models import Conversation, Csat, Message
from csbot.cache import local_reset_all
from experiments import services
from experiments.assignment import arm_pick, bucket_of
from experiments.models import Arm, ArmReply, Experiment
from experiments.selectors import arm_for, arm_metrics, shopper_key

ROOT = Path(__file__).resolve().parents[2]
SHARES = [("control", 50), ("llm", 30), ("prompt_b", 20)]


def experiment_make(name: str = "wording-2026", shares=SHARES, active: bool = True) -> Experiment:
    experiment = Experiment.objects.create(name=name)
    for arm_name, percent in shares:
        Arm.objects.create(experiment=experiment, name=arm_name, percent=percent)
    if active:
        services.experiment_activate(experiment=experiment)
    local_reset_all()  # the activation's bump waits for a commit these tests never make
    return experiment


def test_the_same_shopper_gets_the_same_arm_in_two_separate_processes():
    keys = [f"visitor:v_{i}" for i in range(300)]
    here = [arm_pick(experiment="wording-2026", arms=SHARES, shopper_key=k) for k in keys]
    script = (
        "import json, sys\n"
        "from experiments.assignment import arm_pick\n"
        "keys, shares = json.load(sys.stdin)\n"
        "print(json.dumps([arm_pick(experiment='wording-2026', arms=shares, shopper_key=k)"
        " for k in keys]))\n"
    )
    runs = []
    for seed in ("1", "2"):  # different hash salts: Python's hash() would differ
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script],
            input=json.dumps([keys, SHARES]),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == here
    assert set(here) == {"control", "llm", "prompt_b"}


def test_over_ten_thousand_shoppers_each_arm_is_within_two_points_of_its_share():
    counts = Counter(
        arm_pick(experiment="wording-2026", arms=SHARES, shopper_key=f"visitor:v_{i:05d}")
        for i in range(10_000)
    )
    assert set(counts) == {"control", "llm", "prompt_b"}
    for name, percent in SHARES:
        assert abs(counts[name] / 100 - percent) <= 2, (name, counts[name])


def test_the_experiment_name_reshuffles_shoppers():
    keys = [f"visitor:v_{i}" for i in range(200)]
    a = [bucket_of(experiment="exp-a", shopper_key=k) for k in keys]
    b = [bucket_of(experiment="exp-b", shopper_key=k) for k in keys]
    assert a != b
    assert all(0 <= x < 10_000 for x in a + b)


def test_shares_under_100_leave_the_rest_of_the_shoppers_out():
    picks = [
        arm_pick(experiment="small", arms=[("llm", 10)], shopper_key=f"user:{i}")
        for i in range(2000)
    ]
    assert {None, "llm"} == set(picks)
    assert 150 <= picks.count("llm") <= 250


@pytest.mark.django_db
def test_arm_for_picks_the_active_experiments_arm():
    experiment = experiment_make()
    for i in range(50):
        key = shopper_key(user_id=None, visitor_id=f"v_{i}")
        arm = arm_for(shopper_key=key)
        assert arm is not None
        assert arm.name == arm_pick(experiment=experiment.name, arms=SHARES, shopper_key=key)
        assert arm.key == f"wording-2026:{arm.name}"
    assert shopper_key(user_id=7, visitor_id="v_x") == "user:7"


@pytest.mark.django_db
def test_no_active_experiment_means_no_arm():
    experiment_make(active=False)
    assert arm_for(shopper_key="visitor:v_1") is None


@pytest.mark.django_db
def test_activation_needs_shares_adding_to_100_and_changes_nothing_when_refused():
    running = experiment_make(name="running")
    broken = experiment_make(name="broken", shares=[("a", 50), ("b", 40)], active=False)
    with pytest.raises(ValidationError, match="100"):
        services.experiment_activate(experiment=broken)
    assert list(Experiment.objects.filter(is_active=True)) == [running]
    broken.refresh_from_db()
    assert broken.is_active is False


@pytest.mark.django_db
def test_activating_one_experiment_deactivates_the_other():
    first = experiment_make(name="first")
    second = experiment_make(name="second", shares=[("x", 100)], active=False)
    services.experiment_activate(experiment=second)
    first.refresh_from_db()
    assert (first.is_active, Experiment.objects.get(is_active=True)) == (False, second)
    local_reset_all()
    assert arm_for(shopper_key="visitor:any").name == "x"


@pytest.mark.django_db
def test_activation_and_deactivation_reach_the_cached_experiment_once_they_commit(
    django_capture_on_commit_callbacks,
):
    experiment = experiment_make(name="cached", shares=[("only", 100)], active=False)
    assert arm_for(shopper_key="visitor:any") is None  # cached: no experiment
    with django_capture_on_commit_callbacks(execute=True):
        services.experiment_activate(experiment=experiment)
    assert arm_for(shopper_key="visitor:any").name == "only"
    with django_capture_on_commit_callbacks(execute=True):
        services.experiment_deactivate(experiment=experiment)
    assert arm_for(shopper_key="visitor:any") is None


@pytest.mark.django_db
def test_arm_metrics_aggregate_replies_feedback_and_csat():
    experiment = experiment_make(shares=[("control", 50), ("llm", 50)])
    control, llm = experiment.arms.order_by("name")
    rows = [
        # arm, resolved, handoff, latency ms, helpful
        (llm, True, False, 100, True),
        (llm, True, False, 300, False),
        (llm, False, True, 200, None),
        (llm, True, False, 900, None),
        (control, True, False, 50, None),
    ]
    for i, (arm, resolved, handoff, latency, helpful) in enumerate(rows):
        conversation = Conversation.objects.create(visitor_id=f"v_{i}")
        shopper = Message.objects.create(conversation=conversation, seq=1, sender="shopper")
        bot = Message.objects.create(
            conversation=conversation, seq=2, sender="bot", reply_to=shopper, helpful=helpful
        )
        services.arm_replies_record(
            records=[
                services.ReplyRecord(
                    arm=arm,
                    message_id=bot.pk,
                    conversation_id=conversation.pk,
                    resolved=resolved,
                    handoff=handoff,
                    latency_ms=latency,
                    wording="model",
                )
            ]
        )
        if i < 2:
            Csat.objects.create(conversation=conversation, score=5 - i * 2)  # 5 and 3
    # Recording the same reply again (a redelivered task) stores nothing new.
    bot_message = ArmReply.objects.filter(arm=llm).first().message
    services.arm_replies_record(
        records=[
            services.ReplyRecord(
                arm=llm,
                message_id=bot_message.pk,
                conversation_id=bot_message.conversation_id,
                resolved=True,
                handoff=False,
                latency_ms=1,
                wording="model",
            )
        ]
    )
    by_arm = {m.arm: m for m in arm_metrics(experiment=experiment)}
    m = by_arm["llm"]
    assert (m.replies, m.resolution_rate, m.handoff_rate) == (4, 0.75, 0.25)
    assert (m.latency_p50_ms, m.latency_p99_ms) == (300, 900)
    assert (m.csat_avg, m.csat_count) == (4.0, 2)
    assert (m.feedback_count, m.negative_feedback_rate) == (2, 0.5)
    c = by_arm["control"]
    assert (c.replies, c.resolution_rate, c.csat_avg, c.negative_feedback_rate) == (
        1,
        1.0,
        None,
        None,
    )


@pytest.mark.django_db
def test_admin_lists_experiments_shows_metrics_and_activates(admin_client):
    experiment = experiment_make(name="draft", shares=[("a", 60), ("b", 40)], active=False)
    listing = admin_client.get("/admin/experiments/experiment/")
    assert listing.status_code == 200
    assert "a 60%, b 40%" in listing.content.decode()
    page = admin_client.get(f"/admin/experiments/experiment/{experiment.pk}/change/")
    assert page.status_code == 200
    assert "<th>negative feedback</th>" in page.content.decode()
    response = admin_client.post(
        "/admin/experiments/experiment/",
        {"action": "activate", "_selected_action": [experiment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    experiment.refresh_from_db()
    assert experiment.is_active is True


@pytest.mark.django_db
def test_admin_refuses_activating_shares_that_do_not_add_up(admin_client):
    experiment = experiment_make(name="bad", shares=[("a", 60), ("b", 30)], active=False)
    response = admin_client.post(
        "/admin/experiments/experiment/",
        {"action": "activate", "_selected_action": [experiment.pk]},
        follow=True,
    )
    assert "must add up to 100 (now 90)" in response.content.decode()
    experiment.refresh_from_db()
    assert experiment.is_active is False
