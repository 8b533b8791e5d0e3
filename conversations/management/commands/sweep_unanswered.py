"""Re-queue shopper messages that never got a reply (run at start-up and by beat)."""

from django.core.management.base import BaseCommand

from conversations.services import unanswered_sweep


class Command(BaseCommand):
    help = "Re-queue replies for shopper messages left unanswered."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="only messages older than this many seconds (default: CSBOT_SWEEP_AFTER_S)",
        )

    def handle(self, *args, older_than: int | None = None, **options) -> None:
        count = unanswered_sweep(older_than_s=older_than)
        if options["verbosity"]:
            self.stdout.write(f"Re-queued {count} unanswered message(s).")
