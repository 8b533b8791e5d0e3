"""Canned reply titles in Chinese and English, like their texts."""

from django.db import migrations, models

TITLES_ZH = {
    "Greeting": "问候",
    "Checking the order": "查询订单",
    "Sorry": "致歉",
    "Return steps": "退货流程",
    "Anything else": "结束前确认",
}


def titles_zh(apps, schema_editor):
    CannedReply = apps.get_model("handoff", "CannedReply")
    for canned in CannedReply.objects.all():
        canned.title_zh = TITLES_ZH.get(canned.title_en, canned.title_en)
        canned.save(update_fields=["title_zh"])


class Migration(migrations.Migration):
    dependencies = [("handoff", "0003_canned_replies_seed")]

    operations = [
        migrations.RenameField("cannedreply", "title", "title_en"),
        migrations.AddField(
            model_name="cannedreply",
            name="title_zh",
            field=models.CharField(default="", max_length=60),
            preserve_default=False,
        ),
        migrations.RunPython(titles_zh, migrations.RunPython.noop),
    ]
