"""Fixtures for picture tests: a private media folder, the demo store's product
pictures, uploads through the real HTTP endpoint."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from vision import search, services


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes pictures to its own folder and starts with no index."""
    settings.MEDIA_ROOT = tmp_path / "media"
    services.product_index_reset()
    search.embedder_reset()
    yield settings.MEDIA_ROOT
    services.product_index_reset()
    search.embedder_reset()


@pytest.fixture
def product_pictures(demo_store):
    """The demo store with its generated product pictures indexed."""
    return services.product_images_generate()


@pytest.fixture
def upload(client):
    """POST a picture to /api/chat/image/ as this test client's shopper."""

    def post(data: bytes, *, name: str = "photo.png", content_type: str = "image/png", **extra):
        fields = {"image": SimpleUploadedFile(name, data, content_type=content_type)}
        conversation_id = extra.pop("conversation_id", None)
        if conversation_id:
            fields["conversation_id"] = conversation_id
        return client.post("/api/chat/image/", fields, **extra)

    return post


def stored_files(root) -> list[str]:
    """Files under the media folder's chat pictures (not the product pictures)."""
    base = root / services.CHAT_DIR
    return sorted(p.name for p in base.rglob("*") if p.is_file()) if base.exists() else []
