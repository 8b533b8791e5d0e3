"""The bot's answers through the services: grounded in catalog data,
multi-turn order verification, context carry-over, low confidence then handoff."""

import itertools
import json

import pytest
from django.contrib.auth.models import User
from django.forms.models import model_to_dict

from catalog.models import FaqEntry, Product, StorePolicy
from conversations import services
from conversations.dialogue.understanding import FastTextUnderstanding
from conversations.models import Conversation, HotQuestion, Message, VerifiedOrder
from csbot.identity import Shopper
from handoff.models import HandoffRequest
from intents.classifier import Prediction

pytestmark = pytest.mark.usefixtures("demo_store")
_ids = itertools.count()


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """Send one shopper message and return the replies stored for it."""

    def ask(conversation: Conversation, text: str) -> list[Message]:
        with django_capture_on_commit_callbacks(execute=True):
            message, _ = services.message_receive(
                conversation=conversation, text=text, client_msg_id=f"t{next(_ids)}"
            )
        return list(Message.objects.filter(reply_to=message).order_by("seq"))

    return ask


def bot(replies: list[Message]) -> Message:
    return next(m for m in replies if m.sender == "bot")


def test_shipping_fee_in_chinese_quotes_the_policy(conversation, ask):
    reply = bot(ask(conversation, "运费怎么算"))
    assert reply.intent == "consult.logistics.shipping_fee"
    assert (
        reply.text
        == "订单满¥99包邮；不满¥99收取基础运费¥8。新疆、西藏地区统一运费¥20，不参与包邮。"
    )
    assert reply.language == "zh"


def test_shipping_fee_in_english_computes_for_an_amount(conversation, ask):
    reply = bot(ask(conversation, "How much is shipping for an order of 50 yuan?"))
    assert reply.intent == "consult.logistics.shipping_fee"
    assert reply.text.endswith("An order of ¥50 pays ¥8 shipping; add ¥49 more to ship free.")
    assert reply.language == "en"


def test_shipping_to_a_remote_region(conversation, ask):
    reply = bot(ask(conversation, "寄到新疆运费多少"))
    assert reply.text.endswith("寄往新疆的运费是 ¥20。")


def test_price_stock_and_spec_follow_the_product_in_context(conversation, ask):
    assert bot(ask(conversation, "星河X5多少钱")).text == "星河 X5 手机 售价 ¥2999。"
    spec = bot(ask(conversation, "它支持无线充电吗"))
    assert spec.intent == "consult.product.spec"
    assert spec.text == "星河 X5 手机：支持15W无线快充，兼容Qi标准。"
    assert spec.payload["cards"][0]["sku"] == "XH-X5"


def test_english_stock_answer_for_out_of_stock_product_gives_restock_date(conversation, ask):
    reply = bot(ask(conversation, "Is the X5 Lite in stock?"))
    assert reply.text == ("The Xinghe X5 Lite is out of stock; restock expected on 2026-12-10.")
    follow = bot(ask(conversation, "does it support wireless charging?"))
    assert follow.text == "Xinghe X5 Lite: No wireless charging."


def admin_edit(client, obj, **changes) -> None:
    """Change a row through its admin form, as a shop manager would."""
    data = {k: v for k, v in model_to_dict(obj).items() if v is not None}
    data.update({k: json.dumps(v) for k, v in data.items() if isinstance(v, (list, dict))})
    data.update(changes)
    meta = obj._meta
    url = f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_answers_follow_catalog_and_policy_edits_in_the_admin(
    conversation, ask, client, django_capture_on_commit_callbacks
):
    # Asked once, so the answers sit in the hot-question cache.
    assert bot(ask(conversation, "星河X5多少钱")).text == "星河 X5 手机 售价 ¥2999。"
    assert bot(ask(conversation, "运费怎么算")).text.startswith("订单满¥99包邮")
    client.force_login(User.objects.get(username="admin"))
    # The edits announce themselves once they commit (a bump of the shop facts).
    with django_capture_on_commit_callbacks(execute=True):
        admin_edit(client, Product.objects.get(sku="XH-X5"), price="2799")
        admin_edit(
            client,
            StorePolicy.objects.get(key="shipping_fee"),
            text_zh="订单满¥199包邮；不满¥199收取基础运费¥10。",
        )
    assert bot(ask(conversation, "星河X5多少钱")).text == "星河 X5 手机 售价 ¥2799。"
    assert bot(ask(conversation, "运费怎么算")).text == "订单满¥199包邮；不满¥199收取基础运费¥10。"


def test_hot_question_cache_reuses_answers_but_never_order_data(conversation, ask):
    other = Conversation.objects.create(visitor_id="v_other")
    first = bot(ask(conversation, "怎么退货"))
    again = bot(ask(other, "怎么退货"))
    assert again.text == first.text
    assert HotQuestion.objects.get(question="怎么退货").intent == "after_sales.product.return"
    ask(conversation, "订单 DD202611010001 尾号 8000")
    assert not HotQuestion.objects.filter(intent="consult.logistics.order_status").exists()
    assert bot(ask(other, "订单 DD202611010001 尾号 1234")).text.startswith("抱歉，没能用")


def test_product_question_without_a_product_asks_which_then_answers(conversation, ask):
    first = bot(ask(conversation, "多少钱"))
    assert first.text == "请问您想了解哪款商品？"
    assert first.payload["suggestions"][0] == "星河 X5 手机"
    assert bot(ask(conversation, "云朵降噪耳机 Pro")).text == "云朵降噪耳机 Pro 售价 ¥499。"


def test_order_status_asks_for_missing_slots_then_verifies(conversation, ask):
    assert bot(ask(conversation, "查一下我的订单")).text == (
        "为保护您的隐私，请提供订单号（以 DD 开头）和下单手机号的后四位。"
    )
    assert (
        bot(ask(conversation, "DD202611010001")).text
        == "请再提供下单手机号的后四位，用于核实身份。"
    )
    reply = bot(ask(conversation, "8000"))
    assert reply.text == (
        "订单 DD202611010001 当前状态：已发货。承运快递：顺丰速运，运单号 SF1234567890。"
    )
    assert reply.payload["cards"][0]["tracking_no"] == "SF1234567890"
    assert VerifiedOrder.objects.filter(conversation=conversation).count() == 1


def test_wrong_phone_and_unknown_order_get_the_same_reply(conversation, ask):
    wrong_phone = bot(ask(conversation, "订单 DD202611010001 尾号 1234")).text
    unknown = bot(ask(conversation, "订单 DD209912310099 尾号 8000")).text
    assert (
        wrong_phone == unknown == "抱歉，没能用这组订单号和手机尾号核实到订单，请检查后重新输入。"
    )
    assert not VerifiedOrder.objects.exists()


def test_repeated_verification_failures_lock_and_hand_off(conversation, ask):
    for _ in range(2):
        ask(conversation, "订单 DD202611010001 尾号 1111")
    replies = ask(conversation, "订单 DD202611010001 尾号 2222")
    assert bot(replies).text.startswith("核实失败次数过多，订单查询已暂时锁定。")
    assert [m.payload["status"] for m in replies if m.kind == "handoff"] == ["queued"]
    # Locked: even the right digits are refused now.
    assert bot(ask(conversation, "订单 DD202611010001 尾号 8000")).text.startswith(
        "核实失败次数过多"
    )
    assert not VerifiedOrder.objects.exists()
    assert HandoffRequest.objects.get(conversation=conversation).reason == "verification_locked"


def test_logged_in_owner_sees_orders_without_verification(db, ask, django_user_model):
    alice = django_user_model.objects.get(username="alice")
    conversation = services.conversation_open(
        shopper=Shopper(user=alice, visitor_id="v_alice"), channel="web", language="zh"
    )
    listing = bot(ask(conversation, "查订单"))
    assert [c["order_no"] for c in listing.payload["cards"]] == [
        "DD202611020002",
        "DD202611010001",
    ]
    detail = bot(ask(conversation, "DD202611020002 到哪了"))
    assert detail.text == "订单 DD202611020002 当前状态：已签收。签收日期：2026年11月5日。"
    # Someone else's order still needs the phone digits.
    assert bot(ask(conversation, "DD202611030003 到哪了")).text == (
        "请再提供下单手机号的后四位，用于核实身份。"
    )


def test_greeting_offers_starter_questions(conversation, ask):
    reply = bot(ask(conversation, "你好"))
    assert reply.intent == "general.chat.greeting"
    assert reply.payload["suggestions"] == [
        "运费怎么算",
        "星河 X5 多少钱",
        "查询订单状态",
        "怎么退货",
    ]


def test_unknown_question_is_honest_then_second_one_hands_off(conversation, ask):
    first = ask(conversation, "你们老板是谁")
    assert bot(first).intent is None
    assert bot(first).text.startswith("抱歉，我不太确定您的意思。")
    assert bot(first).payload["suggestions"][-1] == "转人工"
    assert [m.kind for m in first] == ["text"]
    second = ask(conversation, "火星上能送货吗")
    assert [m.kind for m in second] == ["text", "handoff"]
    assert HandoffRequest.objects.get(conversation=conversation).reason == "low_confidence"
    conversation.refresh_from_db()
    assert conversation.status == "waiting"


def test_asking_for_a_human_queues_with_position(conversation, ask):
    replies = ask(conversation, "转人工")
    assert (
        bot(replies).text
        == "正在为您转接人工客服，请稍候。" + StorePolicy.objects.get(key="agent_hours").text_zh
    )
    handoff = next(m for m in replies if m.kind == "handoff")
    assert handoff.payload == {
        "status": "queued",
        "priority": "normal",
        "position": 1,
        "wait_s": 120,
    }


def test_complaint_goes_to_the_queue_with_high_priority(conversation, ask):
    replies = ask(conversation, "我要投诉，你们服务太差了")
    assert bot(replies).intent.startswith("complaint.")
    assert HandoffRequest.objects.get(conversation=conversation).priority == 1


@pytest.mark.parametrize(
    ("question", "policy_key"),
    [
        ("怎么退货", "returns"),
        ("可以换货吗", "exchange"),
        ("手表保修多久", "warranty"),
        ("退款多久到账", "refund"),
        ("支持哪些支付方式", "payment_methods"),
        ("可以分期吗", "installment"),
        ("发票怎么开", "invoice"),
        ("买了降价了能保价吗", "price_protection"),
        ("地址写错了能改地址吗", "change_address"),
        ("几天能到", "dispatch"),
    ],
)
def test_policy_questions_are_answered_from_the_policy(conversation, ask, question, policy_key):
    assert bot(ask(conversation, question)).text == StorePolicy.objects.get(key=policy_key).text_zh


def test_reply_language_follows_the_shopper(conversation, ask):
    assert bot(ask(conversation, "hello")).language == "en"
    conversation.refresh_from_db()
    assert conversation.language == "en"
    # An order number alone keeps the conversation's language.
    assert bot(ask(conversation, "DD202611010001")).text == (
        "Please also give me the last four digits of the phone number on the order."
    )


def test_faq_answers_a_question_the_templates_do_not_cover(conversation, ask):
    reply = bot(ask(conversation, "磁吸无线充电器能给星河X5充电吗"))
    assert (
        reply.text == FaqEntry.objects.get(question_zh="磁吸无线充电器能给星河X5充电吗").answer_zh
    )
    english = bot(ask(conversation, "Who pays for return shipping?"))
    assert english.text == FaqEntry.objects.get(question_zh="退货运费谁承担").answer_en


def test_faq_does_not_answer_a_question_sharing_one_word(conversation, ask):
    reply = bot(ask(conversation, "星河X5的屏幕多大"))
    assert reply.intent == "consult.product.spec"
    assert reply.text == "星河 X5 手机：6.7英寸OLED屏幕。"


def test_misspelled_product_names_are_recognised(conversation, ask):
    assert bot(ask(conversation, "how much are the clowd buds pro?")).text == (
        "The Cloud Buds Pro costs ¥499."
    )
    assert bot(ask(conversation, "云朵降躁耳机多少钱")).text == "云朵降噪耳机 Pro 售价 ¥499。"


def test_size_and_colour_are_checked_against_the_product(conversation, ask):
    assert bot(ask(conversation, "轻羽跑鞋42码有货吗")).text.endswith(
        "42 码在可选尺码内（尺码36–45）。"
    )
    assert bot(ask(conversation, "跑鞋有47码的吗")).text.endswith("没有 47 码，可选尺码36–45。")
    assert bot(ask(conversation, "星河X5有蓝色的吗")).text.endswith("有海湾蓝可选。")
    assert bot(ask(conversation, "does the X5 come in red?")).text.endswith(
        "It doesn't come in red; colours: black, white, blue."
    )


def test_long_message_is_classified_on_its_summary(
    conversation, ask, django_capture_on_commit_callbacks
):
    story = (
        "我上个月在你们店里买了好几样东西，有T恤也有保温杯，快递小哥态度也挺好的，"
        "我家里人都说东西不错，我自己也很满意，平时上班比较忙所以一直没来得及评价。"
        "这次想再给爸爸买一部手机当生日礼物，他平时喜欢拍照看视频，"
        "家里的老手机已经用了五年了，电池也不太行了，所以想换个新的。"
        "请问星河X5现在多少钱？"
    )
    long_message = story * 3
    assert len(long_message) > 300
    reply = bot(ask(conversation, long_message))
    assert reply.intent == "consult.product.price"
    assert reply.text == "星河 X5 手机 售价 ¥2999。"


def test_low_confidence_offers_the_candidate_questions(conversation, ask):
    reply = bot(ask(conversation, "那个东西怎么弄"))
    assert reply.intent is None
    assert reply.payload["suggestions"][-1] == "转人工"


def test_admin_lists_and_clears_the_hot_question_cache(conversation, ask, client):
    ask(conversation, "怎么退货")
    client.force_login(User.objects.get(username="admin"))
    page = client.get("/admin/conversations/hotquestion/")
    assert page.status_code == 200 and "怎么退货" in page.content.decode()
    row = HotQuestion.objects.get()
    response = client.post(
        "/admin/conversations/hotquestion/",
        {"action": "clear_all", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    assert not HotQuestion.objects.exists()
    other = Conversation.objects.create(visitor_id="v_after_clear")
    ask(other, "怎么退货")
    assert HotQuestion.objects.get().hits == 0


def test_recommendations_follow_what_was_asked_for(conversation, ask):
    assert bot(ask(conversation, "推荐一款跑步用的鞋")).text == "为您推荐：轻羽跑鞋（¥399）。"
    # Sport suits shoes and watches; a budget leaves out what costs more.
    assert bot(ask(conversation, "推荐个运动用的，500以内")).text == "为您推荐：轻羽跑鞋（¥399）。"
    reply = bot(ask(conversation, "推荐一下适合运动的"))
    assert reply.text == "为您推荐：轻羽跑鞋（¥399）、智能手表 S3（¥899）。"
    assert [card["sku"] for card in reply.payload["cards"]] == ["FL-RUN", "SW-S3"]


def test_recommendations_skip_what_is_out_of_stock_and_say_when_nothing_fits(conversation, ask):
    Product.objects.filter(sku="FL-RUN").update(stock=0)
    assert bot(ask(conversation, "推荐一款跑鞋")).text == (
        "抱歉，暂时没有符合您要求的在售商品。您可以告诉我想要哪类商品。"
    )
    assert bot(ask(conversation, "推荐个耳机，100块以内")).text == (
        "抱歉，¥100 以内暂时没有合适的商品。您可以放宽预算，或告诉我想要哪类商品。"
    )


def test_outside_agent_hours_the_bot_promises_no_one_at_once(conversation, ask, settings):
    settings.CSBOT_AGENT_HOURS = "00:00-00:00"  # never on duty
    replies = ask(conversation, "转人工")
    assert bot(replies).text.startswith("已为您登记人工客服。")
    assert "请稍候" not in bot(replies).text
    handoff = next(m for m in replies if m.kind == "handoff")
    assert handoff.payload["after_hours"] is True


def test_a_later_order_question_means_the_order_already_talked_about(conversation, ask):
    assert "SF1234567890" in bot(ask(conversation, "订单 DD202611010001 手机尾号 8000")).text
    bot(ask(conversation, "谢谢"))
    reply = bot(ask(conversation, "我的快递到哪了"))
    assert reply.intent == "consult.logistics.order_status"
    assert "SF1234567890" in reply.text


class _CountingModel:
    """A stand-in for the intent classifier that records how it was asked."""

    threshold = 0.4

    def __init__(self) -> None:
        self.single: list[str] = []
        self.batched: list[list[str]] = []

    def _prediction(self, text: str):
        label = "consult.logistics.shipping_fee" if "运费" in text else "general.chat.greeting"
        return Prediction(label=label, top_label=label, confidence=0.9, candidates=[(label, 0.9)])

    def predict(self, text: str, k: int = 3):
        self.single.append(text)
        return self._prediction(text)

    def predict_many(self, texts, k: int = 3):
        self.batched.append(list(texts))
        return [self._prediction(t) for t in texts]


def test_classify_many_predicts_a_batch_at_once_with_the_same_results():
    model = _CountingModel()
    understanding = FastTextUnderstanding(model)
    alone = [understanding.classify(t, lang="zh") for t in ("运费怎么算", "你好")]
    batch = understanding.classify_many(["运费怎么算", "你好", "运费怎么算"], langs=["zh"] * 3)
    assert batch == [alone[0], alone[1], alone[0]]
    # One prediction call for the batch, each text once.
    assert model.batched == [["运费怎么算", "你好"]]
    assert model.single == ["运费怎么算", "你好"]
