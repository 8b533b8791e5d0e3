"""`manage.py intents_build_data`: rebuild the train/valid/heldout splits from intents/data/src."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from intents.data.build import DATA_DIR, SRC_DIR, build


class Command(BaseCommand):
    help = (
        "Build intents/data/{train,valid,heldout,oos_valid,oos_heldout}.jsonl from the "
        "utterance files intents/data/src/<label>.<zh|en>.txt (deterministic, deduplicated)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--src", default=str(SRC_DIR), help="folder of source .txt files")
        parser.add_argument("--out", default=str(DATA_DIR), help="folder for the .jsonl splits")

    def handle(self, *args, **options):
        src, out = Path(options["src"]), Path(options["out"])
        if not src.is_dir() or not any(src.glob("*.txt")):
            raise CommandError(f"{src}: no <label>.<zh|en>.txt source files")
        try:
            report = build(src, out)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(report.counts))
        if report.duplicates:
            self.stdout.write(f"dropped {report.duplicates} duplicate lines")
        for text in report.conflicts:
            self.stdout.write(self.style.WARNING(f"dropped, seen under two labels: {text}"))
