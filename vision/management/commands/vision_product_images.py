"""Draw the catalog's product pictures and index them for photo search."""

from django.core.management.base import BaseCommand

from vision import search, services


class Command(BaseCommand):
    help = (
        "Generate a picture for every active product (or --sku ones) under MEDIA_ROOT and "
        "store its embedding for photo-to-product search. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sku", action="append", help="only this SKU (repeatable)")

    def handle(self, *args, sku=None, **options):
        rows = services.product_images_generate(skus=sku)
        mode = search.embedder_get().describe()
        self.stdout.write(f"{len(rows)} product pictures drawn and indexed (search mode: {mode})")
