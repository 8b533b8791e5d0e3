"""`manage.py backup [--target DIR|s3://bucket/prefix] [--keep N]`: back up the database."""

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (Django JSON, gzip) to a directory or an S3-compatible bucket."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--target", default=None, help="default: CSBOT_BACKUP_TARGET")
        parser.add_argument("--keep", type=int, default=None, help="default: CSBOT_BACKUP_KEEP")

    def handle(self, *args, **options) -> None:
        try:
            result = backup_create(target=options["target"], keep=options["keep"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{result.location} {result.objects} objects {result.size} bytes")
