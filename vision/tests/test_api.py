"""Refusals and ownership at /api/chat/image/: each bad upload gets a clear error and
nothing is kept (no file, no row, no message)."""

import io

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from PIL import Image

from conversations.models import Conversation, Message
from vision import services
from vision.models import ChatImage
from vision.tests import images
from vision.tests.conftest import stored_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]


def assert_nothing_kept(media_root):
    assert not ChatImage.objects.exists()
    assert not Message.objects.exists()
    assert stored_files(media_root) == []


def error(response):
    return response.status_code, response.json()["error"]["code"]


def test_non_image_renamed_to_png_is_refused(upload, media_root):
    response = upload(
        images.NOT_AN_IMAGE, name="receipt.png", content_type="image/png", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert error(response) == (415, "unsupported_image")
    assert "JPEG, PNG, WebP" in response.json()["error"]["message"]
    assert_nothing_kept(media_root)


def test_chinese_message_for_a_refusal(upload, media_root):
    response = upload(images.NOT_AN_IMAGE, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.json()["error"]["message"] == (
        "无法识别这个文件，请上传 JPEG、PNG、WebP 或 GIF 图片。"
    )


def test_truncated_picture_is_refused(upload, media_root):
    data = images.to_bytes(images.label(["Cloud Buds Pro"]))
    assert error(upload(data[: len(data) // 2])) == (415, "unsupported_image")
    assert_nothing_kept(media_root)


def test_other_decodable_types_are_not_tried(upload, media_root):
    tiff = images.to_bytes(images.blank((50, 50)), "TIFF")
    assert error(upload(tiff, name="x.png")) == (415, "unsupported_image")
    assert_nothing_kept(media_root)


@pytest.mark.parametrize("side", [12_000, 20_000])
def test_oversized_picture_is_refused_before_decoding(upload, media_root, side):
    bomb = images.oversized_png(side)  # 144 or 400 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    response = upload(bomb, HTTP_ACCEPT_LANGUAGE="en")
    assert error(response) == (413, "image_too_many_pixels")
    assert response.json()["error"]["message"] == (
        "The picture has too many pixels (24 megapixels and 8000 pixels a side at most)."
    )
    assert_nothing_kept(media_root)


def test_too_many_bytes_is_refused(upload, media_root, settings):
    settings.CSBOT_IMAGE_MAX_BYTES = 50_000
    noisy = Image.effect_noise((400, 400), 80).convert("RGB")
    data = images.to_bytes(noisy)
    assert len(data) > 50_000
    assert error(upload(data)) == (413, "image_too_large")
    assert_nothing_kept(media_root)


def test_missing_field_wrong_form_and_method(client, upload, media_root):
    assert error(client.post("/api/chat/image/", {})) == (400, "no_image")
    assert error(client.post("/api/chat/image/", data=b"{}", content_type="application/json")) == (
        400,
        "bad_form",
    )
    assert error(client.get("/api/chat/image/")) == (405, "method_not_allowed")
    png = images.to_bytes(images.blank((20, 20)))
    extra = client.post(
        "/api/chat/image/",
        {"image": io.BytesIO(png), "text": "hello"},
    )
    assert error(extra) == (400, "bad_form")
    assert_nothing_kept(media_root)


def test_cross_site_browser_post_is_refused(upload, media_root):
    png = images.to_bytes(images.blank((20, 20)))
    response = upload(png, HTTP_ORIGIN="https://evil.example")
    assert error(response) == (403, "cross_site")
    response = upload(png, HTTP_SEC_FETCH_SITE="cross-site")
    assert error(response) == (403, "cross_site")
    assert_nothing_kept(media_root)


def test_someone_elses_conversation_is_not_found(upload, media_root):
    other = Conversation.objects.create(visitor_id="v_someone_else")
    png = images.to_bytes(images.blank((20, 20)))
    response = upload(png, conversation_id=other.public_id)
    assert error(response) == (404, "not_found")
    assert_nothing_kept(media_root)


def test_closed_conversation_takes_no_picture(client, upload, media_root):
    first = upload(images.to_bytes(images.blank((30, 30)))).json()
    conversation = Conversation.objects.get(public_id=first["conversation_id"])
    conversation.status = Conversation.Status.CLOSED
    conversation.save(update_fields=["status"])
    before = (ChatImage.objects.count(), Message.objects.count(), stored_files(media_root))
    response = upload(
        images.to_bytes(images.blank((30, 30))), conversation_id=first["conversation_id"]
    )
    assert error(response) == (409, "conversation_closed")
    assert (ChatImage.objects.count(), Message.objects.count(), stored_files(media_root)) == before


def test_rate_limit(upload, media_root, settings):
    settings.CSBOT_IMAGE_UPLOADS_PER_MINUTE = 1
    png = images.to_bytes(images.blank((20, 20)))
    assert upload(png).status_code == 200
    assert error(upload(png)) == (429, "rate_limited")
    assert ChatImage.objects.count() == 1


def test_exif_is_stripped_and_orientation_applied(upload, media_root):
    photo = images.blank((300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "SecretCam"  # camera make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPS position
    data = images.to_bytes(photo, "JPEG", exif=exif.tobytes())
    body = upload(data, name="p.jpg", content_type="image/jpeg").json()
    assert (body["image"]["width"], body["image"]["height"]) == (200, 300)
    image = ChatImage.objects.get()
    raw = services.media_path(image.file).read_bytes()
    assert b"SecretCam" not in raw and b"Exif" not in raw
    with Image.open(io.BytesIO(raw)) as stored:
        assert stored.format == "JPEG" and dict(stored.getexif()) == {}
    assert image.file.startswith("chat-images/") and "p.jpg" not in image.file


def test_picture_is_served_to_its_owner_and_agents_only(client, upload, media_root):
    body = upload(images.to_bytes(images.blank((64, 48)))).json()
    url = body["image"]["url"]
    own = client.get(url)
    assert own.status_code == 200 and own["Content-Type"] == "image/png"
    assert own["Cache-Control"] == "private, max-age=3600"
    with Image.open(io.BytesIO(b"".join(own.streaming_content))) as served:
        assert served.size == (64, 48)
    assert client.get(body["image"]["thumbnail_url"]).status_code == 200

    stranger = Client()
    assert stranger.get(url).status_code == 404
    assert stranger.get("/api/chat/image/img_does_not_exist/").status_code == 404
    agent = User.objects.create_user("agent_x", password="pw-agent-x-123")
    agent.groups.add(Group.objects.get(name="agents"))
    staff_client = Client()
    staff_client.force_login(agent)
    assert staff_client.get(url).status_code == 200
    shopper = User.objects.get(username="bob")
    other = Client()
    other.force_login(shopper)
    assert other.get(url).status_code == 404
    # Not under any public static path.
    assert not url.startswith("/static/") and not url.startswith("/media/")
