"""`manage.py eval_intents --model PATH --data PATH [--threshold T | --valid PATH]`."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from intents.classifier import DataError, IntentClassifier, read_jsonl

KEYS = ("in_scope_accuracy", "handoff_share", "oos_recall", "macro_f1", "threshold")


class Command(BaseCommand):
    help = (
        "Evaluate an intent model on JSON Lines {text, label} rows (label 'oos' = out of "
        "scope) and print one JSON line: in_scope_accuracy, handoff_share, oos_recall, "
        "macro_f1, threshold. The threshold is --threshold, or re-chosen on --valid, or the "
        "model's own."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="model directory (train_intents --out)")
        parser.add_argument("--data", required=True, help="rows to evaluate")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--threshold", type=float, help="use this confidence threshold")
        group.add_argument("--valid", help="re-choose the threshold on these rows")

    def handle(self, *args, **options):
        threshold = options["threshold"]
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise CommandError(f"--threshold must be between 0 and 1, got {threshold}")
        try:
            clf = IntentClassifier.load(Path(options["model"]))
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"cannot load the model at {options['model']}: {exc}") from None
        try:
            rows = read_jsonl(options["data"])
            if options["valid"]:
                threshold, _rule = clf.choose_threshold(read_jsonl(options["valid"]))
        except DataError as exc:
            raise CommandError(str(exc)) from None
        metrics = clf.evaluate(rows, threshold=threshold)
        self.stdout.write(json.dumps({key: metrics[key] for key in KEYS}))
