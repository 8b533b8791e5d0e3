"""Delete chat picture files that no row refers to any more."""

from django.core.management.base import BaseCommand

from vision import services


class Command(BaseCommand):
    help = (
        "Delete chat picture files older than an hour that no picture row refers to "
        "(conversations deleted without the vision hook, interrupted uploads)."
    )

    def handle(self, *args, **options):
        removed = services.orphan_files_delete()
        self.stdout.write(f"{removed} orphaned picture files deleted")
