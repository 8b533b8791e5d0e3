"""Every level-3 label's answer path, end to end: a real fastText model trained on the
project's own training split (smaller than the shipped one, so the suite stays quick),
activated through the model-version service, and one plain question per label and
language asked over `POST /api/chat/`. Each answer must carry the label and the facts
from the demo store's database (docs/protocol.md §11), and must change when those facts do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from intents import services as intent_services

DATA = Path(__file__).resolve().parent.parent / "intents" / "data"
# One ensemble member, fewer epochs: a few seconds to train, same code path as make demo.
SMALL = {"members": [{"minn": 2, "maxn": 5, "seed": 1}], "epoch": 40, "dim": 50, "thread": 1}

HANDOFF = "handoff"
# (label, language, question, fragments every one of which the answer must contain)
CASES = [
    ("consult.product.price", "zh", "星河X5手机多少钱", ["2999"]),
    ("consult.product.price", "en", "how much is the smart watch s3", ["899"]),
    ("consult.product.stock", "zh", "星河X5 Lite有货吗", ["2026年12月10日"]),
    ("consult.product.stock", "en", "is the steel thermos in stock", ["12"]),
    ("consult.product.spec", "zh", "云朵降噪耳机Pro的续航是多少", ["30"]),
    ("consult.product.spec", "en", "what is the battery capacity of the xinghe x5 phone", ["5000"]),
    ("consult.product.recommend", "zh", "有什么耳机推荐吗", ["云朵降噪耳机"]),
    ("consult.product.recommend", "en", "can you recommend some running shoes", ["Featherlight"]),
    ("consult.logistics.shipping_fee", "zh", "运费怎么算", ["99", "8"]),
    ("consult.logistics.shipping_fee", "en", "how much is shipping", ["99", "8"]),
    ("consult.logistics.delivery_time", "zh", "下单后几天能到货", ["16:00"]),
    ("consult.logistics.delivery_time", "en", "how many days does delivery take", ["16:00"]),
    ("consult.logistics.order_status", "zh", "我的订单到哪了", ["订单号"]),
    ("consult.logistics.order_status", "en", "where is my order", ["order number"]),
    ("consult.payment.methods", "zh", "可以用哪些方式付款", ["支付宝"]),
    ("consult.payment.methods", "en", "what payment methods do you accept", ["Alipay"]),
    ("consult.payment.installment", "zh", "可以分期付款吗", ["600"]),
    ("consult.payment.installment", "en", "can I pay in installments", ["600"]),
    ("consult.payment.invoice", "zh", "怎么开发票", ["30"]),
    ("consult.payment.invoice", "en", "how do I get an invoice", ["30"]),
    ("after_sales.product.return", "zh", "怎么退货", ["7"]),
    ("after_sales.product.return", "en", "how do I return an item", ["7"]),
    ("after_sales.product.exchange", "zh", "收到的衣服尺码不合适可以换货吗", ["15"]),
    ("after_sales.product.exchange", "en", "can I exchange it for another size", ["15"]),
    ("after_sales.product.warranty", "zh", "手表的保修期是多久", ["1"]),
    ("after_sales.product.warranty", "en", "how long is the warranty", ["1"]),
    ("after_sales.logistics.change_address", "zh", "下单后可以修改收货地址吗", ["发货"]),
    ("after_sales.logistics.change_address", "en", "can I change my delivery address", ["ship"]),
    ("after_sales.logistics.lost_damaged", "zh", "快递到了但是东西摔坏了", []),
    ("after_sales.logistics.lost_damaged", "en", "my package arrived damaged", []),
    ("after_sales.logistics.urge", "zh", "能不能催一下快点发货", []),
    ("after_sales.logistics.urge", "en", "please hurry up and ship my order", []),
    ("after_sales.payment.refund_status", "zh", "退款什么时候到账", ["1", "3"]),
    ("after_sales.payment.refund_status", "en", "when will I get my refund", ["1", "3"]),
    ("after_sales.payment.price_protection", "zh", "刚买就降价了能退差价吗", ["7"]),
    ("after_sales.payment.price_protection", "en", "the price dropped after I bought it", ["7"]),
    ("complaint.product.quality", "zh", "质量太差了我要投诉", [HANDOFF]),
    ("complaint.product.quality", "en", "terrible quality, I want to complain", [HANDOFF]),
    ("complaint.logistics.service", "zh", "快递员态度太差了我要投诉", [HANDOFF]),
    ("complaint.logistics.service", "en", "I want to complain about the courier", [HANDOFF]),
    ("complaint.payment.charge", "zh", "我被重复扣款了我要投诉", [HANDOFF]),
    ("complaint.payment.charge", "en", "you charged me twice, I want to complain", [HANDOFF]),
    ("general.chat.greeting", "zh", "你好", []),
    ("general.chat.greeting", "en", "hello", []),
    ("general.chat.thanks", "zh", "谢谢你", []),
    ("general.chat.thanks", "en", "thank you", []),
    ("general.chat.goodbye", "zh", "再见", []),
    ("general.chat.goodbye", "en", "bye", []),
    ("general.chat.human", "zh", "转人工客服", [HANDOFF]),
    ("general.chat.human", "en", "I want to talk to a human agent", [HANDOFF]),
]


def _rows(*names: str) -> list[dict]:
    rows = []
    for name in names:
        text = (DATA / name).read_text(encoding="utf-8")
        rows += [json.loads(line) for line in text.splitlines() if line.strip()]
    return rows


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """Trained in a process of its own, as `make demo` trains: in the suite's process,
    after other tests, fastText training sometimes ended in "Encountered NaN" at every
    learning rate (cause not found yet; see the closing notes)."""
    out = tmp_path_factory.mktemp("label-model") / "v-labels"
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from intents.classifier import IntentClassifier\n"
        "data = Path(sys.argv[1])\n"
        "def rows(*names):\n"
        "    return [json.loads(line) for name in names\n"
        "            for line in (data / name).read_text(encoding='utf-8').splitlines()\n"
        "            if line.strip()]\n"
        "params = json.loads(sys.argv[3])\n"
        "valid = rows('valid.jsonl', 'oos_valid.jsonl')\n"
        "model = IntentClassifier.train(rows('train.jsonl'), valid, **params)\n"
        "model.save(sys.argv[2])\n"
    )
    for _attempt in range(3):
        result = subprocess.run(
            [sys.executable, "-c", script, str(DATA), str(out), json.dumps(SMALL)],
            cwd=DATA.parent.parent,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        # fastText's "Encountered NaN" has come back on every retry inside one process
        # (see intents/classifier/training.py) but not in a new one: a new process it is.
        if "Encountered NaN" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture
def model(transactional_db, demo_store, model_path):
    return intent_services.intent_model_register(path=model_path, activate=True)


def ask(client, text: str, lang: str) -> dict:
    response = client.post(
        "/api/chat/",
        data=json.dumps({"text": text}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-CN" if lang == "zh" else "en-US",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_taxonomy_is_covered():
    labels = {row["label"] for row in _rows("train.jsonl")} - {"oos"}
    assert {case[0] for case in CASES} == labels
    assert {(case[0], case[1]) for case in CASES} == {
        (label, lang) for label in labels for lang in ("zh", "en")
    }


@pytest.mark.parametrize(("label", "lang", "question", "fragments"), CASES)
def test_each_label_is_answered_from_the_store(model, client, label, lang, question, fragments):
    body = ask(client, question, lang)
    frames = {frame["type"]: frame for frame in body["replies"]}
    bot = frames["bot"]
    assert bot["intent"] == label, (question, body)
    assert bot["confidence"] >= model.threshold
    handed_off = "handoff" in frames
    assert handed_off == (HANDOFF in fragments), (question, body)
    for fragment in (f for f in fragments if f != HANDOFF):
        assert fragment in bot["text"], (question, bot["text"])


def _one_arm_experiment(**arm_fields) -> None:
    from experiments import services as experiment_services
    from experiments.models import Arm, Experiment

    experiment = Experiment.objects.create(name="understanding")
    Arm.objects.create(experiment=experiment, name="only", percent=100, **arm_fields)
    experiment_services.experiment_activate(experiment=experiment)  # bumps the shop facts


def test_an_arm_can_answer_with_its_own_intent_model(
    transactional_db, demo_store, model_path, client
):
    # No model is active: the keyword router answers, and does not know this phrasing.
    question = "how many days does delivery take"
    assert ask(client, question, "en")["replies"][0]["intent"] != "consult.logistics.delivery_time"
    version = intent_services.intent_model_register(path=model_path, activate=False)
    _one_arm_experiment(intent_model_version=version)
    bot = ask(client, question, "en")["replies"][0]
    assert bot["intent"] == "consult.logistics.delivery_time"
    assert "16:00" in bot["text"]


def test_an_arm_can_raise_the_handoff_threshold(model, client):
    question = "how much is shipping"
    assert ask(client, question, "en")["replies"][0]["intent"] == "consult.logistics.shipping_fee"
    _one_arm_experiment(handoff_threshold=1.0)
    bot = ask(client, question, "en")["replies"][0]
    assert bot["intent"] is None  # below the arm's threshold: a clarifying question
    assert bot["suggestions"]
