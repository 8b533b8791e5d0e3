"""The managers' dashboard over a large message table, with and without the index on
(sender, created_at), in the same run.

    .venv/bin/python bench/dashboard_queries.py [--pairs 200000] [--days 30] [--repeat 5]

Builds a throwaway SQLite database (migrated, so the index is there), fills it with
`--pairs` shopper messages and their bot replies spread evenly over `--days` days, then
times `ops.dashboard.dashboard_compute` for the hour, day and week windows (median of
`--repeat` runs), and a 50-message batch insert as the chat path writes it; then drops
the index and times the same again. Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INDEX = "message_sender_created"


def _prepare_env(var_dir: str) -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="csbot.settings",
        CSBOT_VAR_DIR=var_dir,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"migrate failed:\n{done.stderr[-3000:]}")


def _fill(pairs: int, days: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from conversations.models import Conversation, Message

    now = timezone.now()
    span_s = days * 86_400
    conversations = Conversation.objects.bulk_create(
        [Conversation(visitor_id=f"bench-{i}", channel="web", language="zh") for i in range(2000)]
    )
    chunk = 5000
    for first in range(0, pairs, chunk):
        count = min(chunk, pairs - first)
        with transaction.atomic():
            asks = Message.objects.bulk_create(
                [
                    Message(
                        conversation=conversations[(first + i) % len(conversations)],
                        seq=2 * ((first + i) // len(conversations)) + 1,
                        sender=Message.Sender.SHOPPER,
                        text="运费怎么算",
                        client_msg_id=f"m{first + i}",
                    )
                    for i in range(count)
                ]
            )
            Message.objects.bulk_create(
                [
                    Message(
                        conversation=ask.conversation,
                        seq=ask.seq + 1,
                        sender=Message.Sender.BOT,
                        text="满99元包邮",
                        reply_to=ask,
                        intent="consult.logistics.shipping_fee",
                        confidence=0.9,
                        language="zh",
                    )
                    for ask in asks
                ]
            )
    # Spread the rows evenly over the span, newest last (auto_now_add set them all to now).
    table = Message._meta.db_table
    total = Message.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} ORDER BY id")  # noqa: S608 - our table
        ids = [row[0] for row in cursor.fetchall()]
        cursor.executemany(
            f"UPDATE {table} SET created_at = %s WHERE id = %s",  # noqa: S608 - our table
            [
                (now - timedelta(seconds=span_s * (total - 1 - n) / total), pk)
                for n, pk in enumerate(ids)
            ],
        )
        conversation_table = Conversation._meta.db_table
        cursor.execute(
            f"UPDATE {conversation_table} SET last_seq = "  # noqa: S608 - our tables
            f"(SELECT MAX(seq) FROM {table} WHERE conversation_id = {conversation_table}.id)"
        )
        cursor.execute("ANALYZE")


def _time_dashboard(repeat: int) -> dict[str, float]:
    from ops.dashboard import WINDOWS, dashboard_compute

    out = {}
    for window in WINDOWS:
        runs = []
        for _ in range(repeat):
            began = time.perf_counter()
            dashboard_compute(window=window)
            runs.append(time.perf_counter() - began)
        out[window] = statistics.median(runs)
    return out


def _time_insert(repeat: int) -> float:
    """A 50-message batch as the chat path stores it (one transaction), median seconds."""
    from conversations import services
    from conversations.models import Conversation

    conversations = list(Conversation.objects.all()[:50])
    runs = []
    for r in range(repeat * 4):
        items = [
            services.Incoming(conversation=c, text="有货吗", client_msg_id=f"ins-{r}-{i}")
            for i, c in enumerate(conversations)
        ]
        began = time.perf_counter()
        services.messages_receive(items=items, enqueue_replies=False)
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.pairs < 1 or args.days < 1 or args.repeat < 1:
        parser.error("--pairs, --days and --repeat must be >= 1")

    with tempfile.TemporaryDirectory(prefix="csbot-dash-") as var_dir:
        _prepare_env(var_dir)
        import django

        django.setup()
        from django.db import connection

        began = time.perf_counter()
        _fill(args.pairs, args.days)
        print(
            f"{2 * args.pairs:,} messages over {args.days} days "
            f"(filled in {time.perf_counter() - began:.0f} s)"
        )
        with_index = _time_dashboard(args.repeat), _time_insert(args.repeat)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {INDEX}")
        without = _time_dashboard(args.repeat), _time_insert(args.repeat)

    print(f"{'':18} {'with index':>12} {'without':>12} {'ratio':>7}")
    for window in with_index[0]:
        a, b = with_index[0][window], without[0][window]
        print(f"dashboard {window:8} {a * 1000:10.1f} ms {b * 1000:10.1f} ms {b / a:6.1f}x")
    a, b = with_index[1], without[1]
    print(f"insert 50 msgs     {a * 1000:10.2f} ms {b * 1000:10.2f} ms {b / a:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
