"""Load banned words from a file: one per line, or CSV lines `word,category,action`
(`#` starts a comment). Existing words are updated; every process reloads the list.

    manage.py banned_words_import words.txt [--category abuse] [--action mask]
"""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from safety import services
from safety.models import BannedWord


class Command(BaseCommand):
    help = "Import banned words (word per line, or word,category,action CSV)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("path")
        parser.add_argument("--category", default=BannedWord.Category.OTHER)
        parser.add_argument("--action", default=BannedWord.Action.MASK)

    def handle(self, *args, path: str, category: str, action: str, **options) -> None:  # noqa: ANN001
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text.") from exc
        max_length = BannedWord._meta.get_field("word").max_length
        assert max_length is not None  # a CharField
        rows: dict[str, tuple[str, str]] = {}
        for number, row in enumerate(csv.reader(lines), start=1):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            word = row[0].strip()
            row_category = (row[1].strip() if len(row) > 1 else "") or category
            row_action = (row[2].strip() if len(row) > 2 else "") or action
            if row_category not in BannedWord.Category.values:
                raise CommandError(f"line {number}: unknown category {row_category!r}")
            if row_action not in BannedWord.Action.values:
                raise CommandError(f"line {number}: unknown action {row_action!r}")
            if len(word) > max_length:
                raise CommandError(f"line {number}: word longer than 100 characters")
            rows[word] = (row_category, row_action)
        with transaction.atomic():
            existing = set(
                BannedWord.objects.filter(word__in=list(rows)).values_list("word", flat=True)
            )
            BannedWord.objects.bulk_create(
                [BannedWord(word=w, category=c, action=a) for w, (c, a) in rows.items()],
                update_conflicts=True,
                unique_fields=["word"],
                update_fields=["category", "action"],
                batch_size=1000,
            )
            services.banned_words_changed()
        self.stdout.write(json.dumps({"imported": len(rows), "new": len(rows) - len(existing)}))
