"""Privacy notice, the operator command, retention, and the API's refusals."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from conversations import services as chat
from conversations.dialogue.state import DialogueState, state_load, state_save
from conversations.models import Conversation, Message
from csbot.identity import Shopper
from privacy import services as privacy_services
from privacy.tasks import retention_purge_task
from safety import selectors, services
from safety.models import PrivacyNotice, SafetyFlag

pytestmark = pytest.mark.django_db


def _chat(visitor_id: str, text: str, user=None) -> Conversation:
    conversation = chat.conversation_open(
        shopper=Shopper(user=user, visitor_id=visitor_id), channel="api", language="zh"
    )
    chat.message_receive(conversation=conversation, text=text, client_msg_id=f"m-{text}")
    return conversation


# --- notice -------------------------------------------------------------------


def test_notice_falls_back_from_published_to_store_policy_to_built_in(
    django_capture_on_commit_callbacks,
):
    assert selectors.privacy_notice(lang="en") == selectors.DEFAULT_NOTICE["text_en"]
    assert selectors.privacy_notice(lang="zh") == selectors.DEFAULT_NOTICE["text_zh"]
    from catalog.models import StorePolicy

    StorePolicy.objects.create(
        key="privacy_notice", title_zh="隐私", title_en="Privacy", text_zh="店铺说明",
        text_en="Shop notice",
    )  # fmt: skip
    cache.delete(selectors.NOTICE_CACHE_KEY)
    assert selectors.privacy_notice(lang="en") == "Shop notice"
    with django_capture_on_commit_callbacks(execute=True):
        services.privacy_notice_publish(text_zh="新的说明", text_en="The new notice")
    notice = selectors.privacy_notice_get(lang="zh")
    assert (notice.title, notice.text) == ("隐私说明", "新的说明")
    assert selectors.privacy_notice(lang="en") == "The new notice"


def test_notice_needs_both_languages():
    with pytest.raises(ValueError):
        services.privacy_notice_publish(text_zh="只有中文", text_en="  ")
    assert PrivacyNotice.objects.count() == 0


def test_admin_edit_changes_the_notice_at_once(admin_client, django_capture_on_commit_callbacks):
    assert selectors.privacy_notice(lang="en") == selectors.DEFAULT_NOTICE["text_en"]  # cached
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/safety/privacynotice/add/",
            {
                "title_zh": "隐私说明",
                "title_en": "Privacy notice",
                "text_zh": "管理员写的说明",
                "text_en": "Written in the admin",
                "is_published": "on",
            },
        )
    assert response.status_code == 302
    assert selectors.privacy_notice(lang="en") == "Written in the admin"


# --- operator command -----------------------------------------------------------


def test_command_deletes_a_visitor_and_is_idempotent(capsys):
    mine = _chat("v_cmd_target", "我的电话13800138000")
    other = _chat("v_cmd_other", "运费多少")
    state_save(mine.public_id, DialogueState(intent="x", last_order="DD202611010001"))
    call_command("privacy_delete", "--visitor", "v_cmd_target")
    report = json.loads(capsys.readouterr().out)
    assert report["conversations"] == 1
    assert report["rows"]["conversations.Message"] >= 1
    assert not Conversation.objects.filter(visitor_id="v_cmd_target").exists()
    assert not Message.objects.filter(text__contains="13800138000").exists()
    assert state_load(mine.public_id) == DialogueState()
    assert Conversation.objects.filter(pk=other.pk).exists()
    call_command("privacy_delete", "--visitor", "v_cmd_target")
    assert json.loads(capsys.readouterr().out)["conversations"] == 0


def test_command_deletes_a_user_by_name_or_id(django_user_model, capsys):
    user = django_user_model.objects.create_user("dora", password="x" * 12)
    _chat("v_dora", "你好", user=user)
    call_command("privacy_delete", "--user", "dora")
    assert json.loads(capsys.readouterr().out)["conversations"] == 1
    assert not Conversation.objects.filter(user=user).exists()
    call_command("privacy_delete", "--user", str(user.pk))
    assert json.loads(capsys.readouterr().out)["conversations"] == 0


def test_command_refuses_bad_arguments_and_deletes_nothing():
    _chat("v_keep", "你好")
    with pytest.raises(CommandError):
        call_command("privacy_delete")
    with pytest.raises(CommandError):
        call_command("privacy_delete", "--user", "nobody-here")
    with pytest.raises(CommandError):
        call_command("privacy_delete", "--visitor", " ")
    assert Conversation.objects.count() == 1


def test_command_forgets_the_visitor_in_live_sessions():
    from django.contrib.sessions.backends.cached_db import SessionStore

    from csbot.identity import VISITOR_SESSION_KEY

    store = SessionStore()
    store[VISITOR_SESSION_KEY] = "v_in_session"
    store["other"] = 1
    store.save()
    _chat("v_in_session", "你好")
    call_command("privacy_delete", "--visitor", "v_in_session")
    reloaded = SessionStore(session_key=store.session_key)
    assert VISITOR_SESSION_KEY not in reloaded
    assert reloaded["other"] == 1


# --- retention --------------------------------------------------------------------


def test_retention_deletes_only_old_conversations(settings):
    settings.CSBOT_RETENTION_DAYS = 30
    old = _chat("v_old", "旧的消息")
    new = _chat("v_new", "新的消息")
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=31))
    state_save(old.public_id, DialogueState(intent="x"))
    SafetyFlag.objects.create(source="shopper", action="flag", masked_text="x", conversation=old)
    assert retention_purge_task.delay().get() == 1
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert not SafetyFlag.objects.exists()
    assert state_load(old.public_id) == DialogueState()
    assert Conversation.objects.filter(pk=new.pk).exists()
    assert retention_purge_task.delay().get() == 0  # idempotent


def test_retention_zero_keeps_everything(settings):
    settings.CSBOT_RETENTION_DAYS = 0
    old = _chat("v_old", "旧的消息")
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=9999))
    assert privacy_services.retention_purge() == 0
    assert Conversation.objects.filter(pk=old.pk).exists()


def test_retention_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention"]
    assert entry["task"] == retention_purge_task.name == "privacy.retention_purge"


# --- API refusals ------------------------------------------------------------------


def test_api_methods_are_checked_and_nothing_is_deleted(client):
    conversation = _chat("v_api", "你好")
    assert client.post("/api/privacy/export/").status_code == 405
    response = client.get("/api/privacy/delete/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_export_without_a_session_is_empty(client):
    _chat("v_someone", "你好")
    data = client.get("/api/privacy/export/").json()
    assert data["conversations"] == []
    assert data["shopper"] == {"user_id": None, "visitor_id": None}


def test_privacy_requests_are_rate_limited(client, settings):
    settings.CSBOT_PRIVACY_REQUESTS_PER_MINUTE = 2
    assert client.get("/api/privacy/export/").status_code == 200
    assert client.get("/api/privacy/export/").status_code == 200
    response = client.get("/api/privacy/export/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 429
    assert response.json()["error"]["message"] == "请求太频繁了，请稍后再试。"
