"""`manage.py train_intents [--data PATH] [--valid PATH] [--out PATH]`: train the intent model."""

import json
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from intents.classifier import DataError, IntentClassifier, TrainingDataError, read_jsonl

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class Command(BaseCommand):
    help = (
        "Train the intent classifier on JSON Lines {text, label} rows (default: the project's "
        "intents/data/train.jsonl), calibrate it and choose the handoff threshold on --valid "
        "(default: intents/data/valid.jsonl + oos_valid.jsonl when present)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", help="training rows (JSON Lines of {text, label})")
        parser.add_argument(
            "--valid",
            action="append",
            help="validation rows (may hold label 'oos'); repeat to combine files",
        )
        parser.add_argument(
            "--out", help="model directory (default: VAR_DIR/models/intents/<UTC time>)"
        )
        parser.add_argument("--quantize", action="store_true", help="store smaller .ftz members")

    def handle(self, *args, **options):
        data = Path(options["data"]) if options["data"] else DATA_DIR / "train.jsonl"
        if options["valid"]:
            valid_paths = [Path(p) for p in options["valid"]]
        elif options["data"]:
            valid_paths = []
        else:
            valid_paths = [DATA_DIR / "valid.jsonl", DATA_DIR / "oos_valid.jsonl"]
            valid_paths = [valid_paths[0]] + [p for p in valid_paths[1:] if p.is_file()]
        if not options["data"] and not data.is_file():
            raise CommandError(
                f"{data}: no such file; build the project's splits first with "
                "`manage.py intents_build_data`, or pass --data PATH"
            )
        try:
            rows = read_jsonl(data, require_labels=2)
            valid = [row for p in valid_paths for row in read_jsonl(p)]
        except DataError as exc:
            raise CommandError(str(exc)) from None
        out = Path(options["out"]) if options["out"] else _default_out()
        try:
            clf = IntentClassifier.train(rows, valid or None, quantize=options["quantize"])
        except TrainingDataError as exc:
            raise CommandError(str(exc)) from None
        clf.meta["data_path"] = str(data)
        clf.meta["valid_paths"] = [str(p) for p in valid_paths]
        clf.save(out)
        self.stdout.write(f"Wrote the intent model to {out}")
        self.stdout.write(
            f"labels: {len(clf.labels)}, train rows: {clf.meta['n_train']}, "
            f"threshold: {clf.threshold} ({clf.meta['threshold_rule']})"
        )
        if "valid_metrics" in clf.meta:
            self.stdout.write("valid: " + json.dumps(clf.meta["valid_metrics"]))


def _default_out() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.VAR_DIR) / "models" / "intents" / stamp
