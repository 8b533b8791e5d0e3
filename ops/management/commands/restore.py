"""`manage.py restore [NAME|latest] [--target DIR|s3://…] [--list]`: load a backup into
an empty, migrated database (run `migrate` first)."""

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError, backup_restore, backups_list


class Command(BaseCommand):
    help = "Restore a backup into an empty database (all or nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", nargs="?", default="latest")
        parser.add_argument("--target", default=None, help="default: CSBOT_BACKUP_TARGET")
        parser.add_argument("--list", action="store_true", help="list the backups and stop")

    def handle(self, *args, **options) -> None:
        try:
            if options["list"]:
                for name in backups_list(target=options["target"]):
                    self.stdout.write(name)
                return
            counts = backup_restore(name=options["name"], target=options["target"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored {sum(counts.values())} objects in {len(counts)} models")
