"""`manage.py seed_demo`: load the demo store of docs/protocol.md §11 (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog.services import demo_store_seed


class Command(BaseCommand):
    help = (
        "Load the 星河商城 Xinghe Mall demo store: products, store policies and orders. "
        "Demo accounts (password demo12345) are created only when DEBUG is on or "
        "--with-accounts is given. Safe to run again: rows are updated, not duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--with-accounts",
            action="store_true",
            help="Create the demo accounts even though DEBUG is off (never on a public site).",
        )

    def handle(self, *args, **options):
        with_accounts = settings.DEBUG or options["with_accounts"]
        result = demo_store_seed(with_accounts=with_accounts)
        if options["verbosity"] == 0:
            return
        if result.accounts_skipped:
            self.stdout.write(
                self.style.WARNING(
                    "Skipped demo accounts (DEBUG is off; pass --with-accounts to create them); "
                    "order owners that did not exist yet were created without a usable password."
                )
            )
        accounts = "skipped" if result.accounts_skipped else str(result.accounts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo store loaded: {result.products} products, {result.policies} policies, "
                f"{result.orders} orders, accounts: {accounts}."
            )
        )
