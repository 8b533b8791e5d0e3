"""The wording step inside the reply pipeline, over the HTTP chat API: the arm's LLM
rephrases answers from the policy's facts, refused or failed wording falls back to the
template answer, handoffs are never rephrased, and each reply is recorded per arm."""

from __future__ import annotations

import json

import pytest

from conversations.models import Message
from experiments import services as experiment_services
from experiments.models import Arm, ArmReply, Experiment
from tests.test_llm_openai import FakeOpenAI

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]

TEMPLATE_PRICE = "星河 X5 手机 售价 ¥2999。"


@pytest.fixture
def fake(settings):
    from conversations.llm.registry import backend_get, backends_reset

    server = FakeOpenAI(answer="您好，星河 X5 手机的价格是 ¥2999 哦。")
    settings.CSBOT_LLM_OPENAI_BASE_URL = server.base_url
    settings.CSBOT_LLM_OPENAI_MODEL = "qwen-fake"
    settings.CSBOT_LLM_RETRY_BACKOFF_S = 0.01
    settings.CSBOT_HOT_CACHE_TTL_S = 0
    settings.CSBOT_LLM_DEADLINE_S = 2.0  # a loaded test machine still gets the model's answer
    backends_reset()
    backend_get(name="openai")  # built before the first question, as a worker does
    yield server
    server.close()
    backends_reset()


def arms(*shares: tuple[str, int, str]) -> Experiment:
    experiment = Experiment.objects.create(name="wording")
    for name, percent, backend in shares:
        Arm.objects.create(experiment=experiment, name=name, percent=percent, llm_backend=backend)
    experiment_services.experiment_activate(experiment=experiment)  # bumps the shop facts
    return experiment


def ask(client, text: str) -> dict:
    response = client.post(
        "/api/chat/", data=json.dumps({"text": text}), content_type="application/json"
    )
    assert response.status_code == 200
    return response.json()


def test_without_an_experiment_or_model_the_template_answer_goes_out(client, fake):
    reply = ask(client, "星河X5多少钱")["replies"][0]
    assert reply["text"] == TEMPLATE_PRICE
    assert fake.requests == 0
    assert ArmReply.objects.count() == 0


def test_an_llm_arm_rephrases_from_the_facts_and_is_recorded(client, fake):
    arms(("llm", 100, "openai"))
    reply = ask(client, "星河X5多少钱")["replies"][0]
    assert reply["text"] == "您好，星河 X5 手机的价格是 ¥2999 哦。"
    assert reply["intent"] == "consult.product.price"
    sent = fake.bodies[0]["messages"][1]["content"]
    assert TEMPLATE_PRICE in sent and '"sku":"XH-X5"' in sent and "星河X5多少钱" in sent
    stored = Message.objects.get(sender="bot")
    assert stored.text == reply["text"]
    row = ArmReply.objects.get()
    assert (row.arm.name, row.message_id, row.resolved, row.handoff, row.wording) == (
        "llm",
        stored.pk,
        True,
        False,
        "model",
    )


def test_a_made_up_price_is_never_sent(client, fake):
    arms(("llm", 100, "openai"))
    fake.answer = "星河 X5 手机今天特价 ¥1999！"
    reply = ask(client, "星河X5多少钱")["replies"][0]
    assert reply["text"] == TEMPLATE_PRICE
    assert ArmReply.objects.get().wording == "fallback"


def test_a_hanging_model_costs_the_deadline_then_the_template_goes_out(client, fake, settings):
    settings.CSBOT_LLM_DEADLINE_S = 0.3
    arms(("llm", 100, "openai"))
    fake.mode = "hang"
    reply = ask(client, "星河X5多少钱")["replies"][0]
    assert reply["text"] == TEMPLATE_PRICE
    assert fake.started.is_set() and not fake.finished.is_set()


def test_handoffs_are_not_rephrased_but_are_recorded(client, fake):
    arms(("llm", 100, "openai"))
    body = ask(client, "转人工")
    assert [f["type"] for f in body["replies"]] == ["bot", "handoff"]
    assert fake.requests == 0
    row = ArmReply.objects.get()
    assert (row.resolved, row.handoff, row.wording) == (False, True, "template")


def test_a_template_arm_sends_the_template_and_is_recorded(client, fake):
    arms(("control", 100, "template"))
    reply = ask(client, "星河X5多少钱")["replies"][0]
    assert reply["text"] == TEMPLATE_PRICE
    assert fake.requests == 0
    assert ArmReply.objects.get().wording == "template"
