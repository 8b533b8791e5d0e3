"""Photo search modes, the product-picture command, and screening of picture text."""

import io

import pytest
from django.core.management import call_command

from safety import banned
from safety.models import BannedWord
from vision import search, services
from vision.models import ChatImage, ProductImage
from vision.tests import images

pytestmark = pytest.mark.django_db(transaction=True)

SKUS = ["XH-X5", "XH-X5L", "CB-PRO", "MC-15", "FL-RUN", "CT-TEE", "TM-500", "SW-S3"]


def test_command_draws_and_indexes_every_demo_product(demo_store, media_root):
    out = io.StringIO()
    call_command("vision_product_images", stdout=out)
    assert out.getvalue().strip() == "8 product pictures drawn and indexed (search mode: hash)"
    rows = ProductImage.objects.select_related("product").order_by("product_id")
    assert [row.product.sku for row in rows] == SKUS
    for row in rows:
        assert (media_root / row.file).is_file()
        [views] = row.embeddings.values()
        assert len(views) == 2 and len(views[0]) == search.HashColourEmbedder.dim
    # Idempotent: run again, still one generated picture per product.
    call_command("vision_product_images", stdout=io.StringIO())
    assert ProductImage.objects.count() == 8
    index = services.product_index_get()
    assert index.key == "hash-v2" and index.matrix.shape == (16, search.HashColourEmbedder.dim)


def test_each_catalog_picture_finds_itself(product_pictures):
    for sku in SKUS:
        match = services.product_search(image=images.catalog_picture(sku), text="")
        assert match["sku"] == sku and match["score"] == pytest.approx(1.0, abs=1e-4)


def test_missing_embeddings_are_computed_from_the_files(product_pictures):
    ProductImage.objects.update(embeddings={})
    services.product_index_reset()
    index = services.product_index_get()
    assert index.matrix.shape[0] == 16
    assert all(row.embeddings for row in ProductImage.objects.all())


@pytest.fixture
def tiny_clip(tmp_path, settings):
    """A randomly initialised CLIP model, saved the way a downloaded one would be."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    config = transformers.CLIPConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "vocab_size": 99,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    path = tmp_path / "tiny-clip"
    transformers.CLIPModel(config).save_pretrained(path)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(path)
    settings.CSBOT_VISION_CLIP_DIR = str(path)
    search.embedder_reset()
    return path


def test_clip_mode_loads_a_local_model_and_indexes_with_it(demo_store, tiny_clip):
    embedder = search.embedder_get()
    assert embedder.mode == "clip" and embedder.describe() == f"clip ({tiny_clip})"
    assert embedder.key.startswith("clip:tiny-clip:")
    services.product_images_generate()
    row = ProductImage.objects.get(product__sku="MC-15")
    assert list(row.embeddings) == [embedder.key]
    assert [len(v) for v in row.embeddings[embedder.key]] == [16, 16]
    index = services.product_index_get()
    assert index.matrix.shape == (16, 16)
    # The same picture embeds to the same vector: a catalog picture finds itself first.
    picture = images.catalog_picture("MC-15")
    [top, *_] = index.query(embedder.embed(embedder.query_views(picture)))
    assert top.sku == "MC-15" and top.score == pytest.approx(1.0, abs=1e-4)
    # Random weights see every picture alike, so only the printed name decides here.
    match = services.product_search(image=picture, text="magcharge 15w wireless charger")
    assert (match["sku"], match["mode"]) == ("MC-15", "clip")


def test_clip_directory_that_does_not_exist_fails_loudly(settings, tmp_path):
    settings.CSBOT_VISION_CLIP_DIR = str(tmp_path / "nowhere")
    search.embedder_reset()
    with pytest.raises(FileNotFoundError, match="CSBOT_VISION_CLIP_DIR"):
        search.embedder_get()


def test_banned_words_and_personal_data_in_a_picture_are_masked(product_pictures, upload):
    BannedWord.objects.create(word="spamsite", action=BannedWord.Action.MASK)
    banned.matcher_reset()
    label = images.label(["Cloud Buds Pro", "visit spamsite now", "mail: bob@example.com"])
    body = upload(images.to_bytes(label), HTTP_ACCEPT_LANGUAGE="en").json()
    image = ChatImage.objects.get()
    assert "spamsite" not in image.ocr_text and "bob@example.com" not in image.ocr_text
    assert "spamsite" not in body["image"]["text"]
    assert body["image"]["product"] == "CB-PRO"
    banned.matcher_reset()


def test_a_new_product_gets_a_picture_when_the_index_is_built(product_pictures):
    from catalog.models import Product

    Product.objects.create(
        sku="NB-01", name_zh="星河笔记本", name_en="Xinghe Notebook", category="home", price=59
    )
    services.product_index_reset()
    index = services.product_index_get()
    assert index.skus.count("NB-01") == 2
    row = ProductImage.objects.get(product__sku="NB-01")
    assert row.source == ProductImage.Source.GENERATED and row.file == "product-images/NB-01.png"


def test_prune_deletes_only_old_files_no_row_refers_to(product_pictures, upload, media_root):
    import os
    import time

    upload(images.to_bytes(images.blank((40, 40))))
    kept = [media_root / name for name in ChatImage.objects.values_list("file", "thumbnail")[0]]
    stray_old = media_root / services.CHAT_DIR / "2020" / "01" / "stray.png"
    stray_new = media_root / services.CHAT_DIR / "2020" / "01" / "uploading.png"
    stray_old.parent.mkdir(parents=True)
    stray_old.write_bytes(b"x")
    stray_new.write_bytes(b"x")
    long_ago = time.time() - 2 * services.ORPHAN_MIN_AGE_S
    for path in [stray_old, *kept]:
        os.utime(path, (long_ago, long_ago))
    out = io.StringIO()
    call_command("vision_prune_files", stdout=out)
    assert out.getvalue().strip() == "1 orphaned picture files deleted"
    assert not stray_old.exists() and stray_new.exists()
    assert all(path.exists() for path in kept)


def test_pictures_are_counted_by_outcome(product_pictures, upload):
    from prometheus_client import REGISTRY

    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("csbot_images_total", {"outcome": outcome}) or 0.0

    before = (count("received"), count("nothing"), count("product"))
    upload(images.to_bytes(images.blank((40, 40))))
    upload(images.to_bytes(images.label(["Product: Cloud Buds Pro"])))
    assert (count("received"), count("nothing"), count("product")) == (
        before[0] + 2,
        before[1] + 1,
        before[2] + 1,
    )
