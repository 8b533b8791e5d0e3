"""Pictures through POST /api/chat/image/ into the normal reply pipeline."""

import json

import pytest

from conversations.models import Conversation, Message
from vision import services
from vision.models import ChatImage
from vision.tests import images
from vision.tests.conftest import stored_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("product_pictures")]


def chat(client, text, conversation_id, **extra):
    body = {"text": text, "conversation_id": conversation_id}
    return client.post(
        "/api/chat/", data=json.dumps(body), content_type="application/json", **extra
    ).json()


def test_order_screenshot_continues_into_the_order_status_flow(client, upload, media_root):
    shot = images.order_screenshot(order_no="DD202611010001", phone="13800138000")
    response = upload(images.to_bytes(shot), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 200
    body = response.json()
    assert body["image"]["outcome"] == "order"
    # Only the order number goes on: the phone in the picture never verifies anyone.
    assert body["message"]["text"] == "DD202611010001"
    assert body["message"]["image"]["id"] == body["image"]["id"]
    [reply] = body["replies"]
    assert reply["intent"] == "consult.logistics.order_status"
    assert reply["text"] == "请再提供下单手机号的后四位，用于核实身份。"
    image = ChatImage.objects.get()
    assert "[手机号]" in image.ocr_text and "13800138000" not in image.ocr_text
    assert image.message.payload["image"]["id"] == image.public_id
    # The shopper verifies by typing, as in a typed chat, and gets the order's status.
    answer = chat(client, "8000", body["conversation_id"])
    assert answer["replies"][0]["intent"] == "consult.logistics.order_status"
    assert "SF1234567890" in answer["replies"][0]["text"]
    assert len(stored_files(media_root)) == 2  # the picture and its thumbnail


def test_personal_data_is_painted_over_in_the_stored_picture(client, upload, media_root):
    from PIL import Image

    from vision.ocr import ocr_read

    shot = images.order_screenshot(order_no="DD202611030003", phone="13900139000", lang="en")
    upload(images.to_bytes(shot))
    image = ChatImage.objects.get()
    with Image.open(services.media_path(image.file)) as stored:
        read = ocr_read(stored.copy()).text
    assert "DD202611030003" in read
    assert "13900139000" not in read and "0139000" not in read


def test_chinese_label_finds_the_product_and_the_bot_answers_about_it(upload):
    label = images.label(["品名：不锈钢保温杯 500ml", "货号：TM-500", "产地：中国 浙江"])
    body = upload(images.to_bytes(label), HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert body["image"]["outcome"] == "product"
    assert body["image"]["product"] == "TM-500"
    assert body["message"]["text"] == "不锈钢保温杯 500ml"
    [reply] = body["replies"]
    assert reply["intent"] == "consult.product.spec"
    assert reply["text"].startswith("不锈钢保温杯 500ml")
    assert reply["cards"][0]["sku"] == "TM-500"
    assert ChatImage.objects.get().match["via"] == "text"


def test_english_label_finds_the_product_and_answers_in_english(upload):
    label = images.label(["Product: Cloud Buds Pro", "Model CB-PRO", "Made in China"])
    body = upload(images.to_bytes(label), HTTP_ACCEPT_LANGUAGE="en-US").json()
    assert body["image"]["product"] == "CB-PRO"
    assert body["message"]["text"] == "Cloud Buds Pro"
    [reply] = body["replies"]
    assert reply["text"] == (
        "Cloud Buds Pro specs: Active noise cancelling; 30 hours with the charging case; "
        "Bluetooth 5.3; IPX4 water resistance."
    )


def test_photo_of_a_product_finds_it_by_its_printed_name_and_its_look(upload):
    photo = images.photo_like("SW-S3", seed=5)
    body = upload(images.to_bytes(photo, "JPEG", quality=85), HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["image"]["product"] == "SW-S3"
    assert body["message"]["text"] == "Smart Watch S3"
    assert body["replies"][0]["cards"][0]["sku"] == "SW-S3"
    assert ChatImage.objects.get().match == {
        "sku": "SW-S3",
        "via": "text+image",
        "score": ChatImage.objects.get().match["score"],
        "mode": "hash",
    }


@pytest.mark.parametrize("sku", ["FL-RUN", "MC-15", "CT-TEE", "TM-500"])
def test_photo_without_any_text_is_found_by_image_similarity(sku):
    photo = images.photo_like(sku, seed=11, with_text=False)
    match = services.product_search(image=photo, text="")
    assert match["sku"] == sku
    assert match["via"] == "image" and match["mode"] == "hash"


def test_blank_picture_says_nothing_was_found_and_offers_a_human(upload):
    body = upload(images.to_bytes(images.blank()), HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert body["image"]["outcome"] == "nothing"
    assert body["message"]["text"] == "[图片]"
    [reply] = body["replies"]
    assert reply["intent"] is None
    assert reply["text"] == services.NOTHING_FOUND["zh"]
    assert reply["suggestions"] == ["转人工"]
    assert services.product_search(image=images.blank(), text="") == {}


def test_blank_picture_in_english(upload):
    body = upload(images.to_bytes(images.blank()), HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["replies"][0]["text"] == services.NOTHING_FOUND["en"]
    assert body["replies"][0]["suggestions"] == ["Talk to a human"]
    assert Message.objects.filter(sender=Message.Sender.BOT).count() == 1


def test_reading_twice_posts_one_message_and_one_reply(upload):
    upload(images.to_bytes(images.blank()))
    image = ChatImage.objects.get()
    again = services.image_process(image_id=image.pk)
    assert again.message_id == image.message_id
    assert Message.objects.filter(sender=Message.Sender.SHOPPER).count() == 1
    assert Message.objects.filter(sender=Message.Sender.BOT).count() == 1


def test_privacy_delete_hook_removes_files_and_rows(upload, media_root):
    upload(images.to_bytes(images.blank()))
    conversation = Conversation.objects.get()
    assert len(stored_files(media_root)) == 2
    assert services.images_delete(conversation_ids=[conversation.pk]) == 1
    assert stored_files(media_root) == []
    assert not ChatImage.objects.exists()


def test_export_lists_what_was_read_from_each_picture(upload):
    from vision.selectors import images_export

    label = images.label(["Product: Cloud Buds Pro", "Model CB-PRO"])
    body = upload(images.to_bytes(label), HTTP_ACCEPT_LANGUAGE="en").json()
    conversation = Conversation.objects.get()
    [row] = images_export(conversation_ids=[conversation.pk])
    assert row["id"] == body["image"]["id"] and row["seq"] == body["seq"]
    assert (row["outcome"], row["product"]) == ("product", "CB-PRO")
    assert row["text"] == "Product: Cloud Buds Pro\nModel CB-PRO"
    assert row["url"] == body["image"]["url"]


def test_privacy_delete_takes_the_pictures_files_too(client, upload, media_root):
    from csbot.identity import VISITOR_SESSION_KEY
    from privacy.services import shopper_data_delete

    upload(images.to_bytes(images.blank()))
    visitor_id = client.session[VISITOR_SESSION_KEY]
    assert len(stored_files(media_root)) == 2
    deleted = shopper_data_delete(visitor_id=visitor_id)
    assert deleted.conversations == 1
    assert stored_files(media_root) == []
    assert not ChatImage.objects.exists() and not Message.objects.exists()


def test_retention_purge_takes_old_pictures_too(upload, media_root):
    from datetime import timedelta

    from django.utils import timezone

    from privacy.services import retention_purge

    upload(images.to_bytes(images.blank()))
    Conversation.objects.update(updated_at=timezone.now() - timedelta(days=400))
    assert retention_purge(days=180) == 1
    assert stored_files(media_root) == []
    assert not ChatImage.objects.exists()


def test_other_text_in_a_picture_goes_through_the_normal_pipeline(upload):
    note = images.label(["怎么退货？", "七天无理由吗"])
    body = upload(images.to_bytes(note), HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert body["image"]["outcome"] == "text"
    assert body["message"]["text"] == "怎么退货？ 七天无理由吗"
    [reply] = body["replies"]
    assert reply["intent"] == "after_sales.product.return"
    assert "7" in reply["text"]


def test_webp_and_gif_are_accepted_and_stored_as_png(upload):
    label = images.label(["Product: Cloud Buds Pro"])
    for fmt in ("WEBP", "GIF"):
        body = upload(images.to_bytes(label, fmt), name=f"x.{fmt.lower()}").json()
        assert body["image"]["product"] == "CB-PRO"
    assert set(ChatImage.objects.values_list("content_type", flat=True)) == {"image/png"}


def test_with_an_agent_the_bot_stays_silent(upload):
    first = upload(images.to_bytes(images.blank((40, 40)))).json()
    conversation = Conversation.objects.get(public_id=first["conversation_id"])
    conversation.status = Conversation.Status.AGENT
    conversation.save(update_fields=["status"])
    label = images.label(["Product: Cloud Buds Pro"])
    body = upload(images.to_bytes(label), conversation_id=conversation.public_id).json()
    assert body["message"]["text"] == "云朵降噪耳机 Pro"
    assert body["replies"] == []
    assert Message.objects.filter(sender=Message.Sender.BOT).count() == 1  # the first one's
