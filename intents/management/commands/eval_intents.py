"""`manage.py eval_intents --model PATH --data PATH [--threshold T | --valid PATH]`."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from intents.classifier import OOS, DataError, IntentClassifier, read_jsonl

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
        parser.add_argument(
            "--per-label",
            action="store_true",
            help="also add per_label: {label: {n, top1, accuracy}} (top1 ignores the threshold)",
        )

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
        out = {key: metrics[key] for key in KEYS}
        if options["per_label"]:
            out["per_label"] = _per_label(clf, rows, metrics["threshold"])
        self.stdout.write(json.dumps(out, ensure_ascii=False))


def _per_label(clf: IntentClassifier, rows: list[dict], threshold: float) -> dict:
    """Per gold label: rows, top-1 accuracy (no threshold) and accuracy at `threshold`; for
    `oos` rows, accuracy is the share handed off and top1 is null."""
    counts: dict[str, list[int]] = {}
    predictions = clf.predict_many([r["text"] for r in rows], k=1)
    for row, pred in zip(rows, predictions, strict=True):
        confident = pred.confidence >= threshold and pred.top_label != OOS
        answered = pred.top_label if confident else None
        c = counts.setdefault(row["label"], [0, 0, 0])
        c[0] += 1
        c[1] += pred.top_label == row["label"]
        c[2] += answered is None if row["label"] == OOS else answered == row["label"]
    return {
        label: {
            "n": n,
            "top1": None if label == OOS else round(top1 / n, 4),
            "accuracy": round(acc / n, 4),
        }
        for label, (n, top1, acc) in sorted(counts.items())
    }
