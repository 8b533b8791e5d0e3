"""A starter set of canned replies (agents and managers edit them in the admin)."""

from django.db import migrations

CANNED = [
    (
        "Greeting",
        "您好，我是人工客服{agent}，很高兴为您服务。请问有什么可以帮您？",
        "Hi, I'm {agent} from customer service. How can I help you?",
    ),
    (
        "Checking the order",
        "好的，我这就为您查询订单 {order_no} 的情况，请稍等一下。",
        "Sure, I'm checking order {order_no} for you now; one moment please.",
    ),
    (
        "Sorry",
        "非常抱歉给您带来不便，我们会尽快为您处理。",
        "I'm very sorry for the trouble; we'll sort this out as quickly as we can.",
    ),
    (
        "Return steps",
        "签收后7天内可无理由退货（商品需未使用、不影响二次销售）。请在订单页申请退货，"
        "审核通过后按提示寄回即可。",
        "You can return an item within 7 days of receipt if it is unused and resaleable. "
        "Request the return on the order page and send it back as instructed.",
    ),
    (
        "Anything else",
        "请问还有其他可以帮您的吗？如果没有，我先结束本次服务，稍后请为我的服务打个分，谢谢！",
        "Is there anything else I can help with? If not, I'll close this chat; "
        "please rate my help afterwards. Thank you!",
    ),
]


def seed(apps, schema_editor):
    CannedReply = apps.get_model("handoff", "CannedReply")
    for position, (title, zh, en) in enumerate(CANNED):
        CannedReply.objects.get_or_create(
            title=title, defaults={"text_zh": zh, "text_en": en, "position": position}
        )


def unseed(apps, schema_editor):
    CannedReply = apps.get_model("handoff", "CannedReply")
    CannedReply.objects.filter(title__in=[title for title, _, _ in CANNED]).delete()


class Migration(migrations.Migration):
    dependencies = [("handoff", "0002_queue_events_agents_canned")]

    operations = [migrations.RunPython(seed, unseed)]
