"""Backups: a round trip into an empty database gives back every row, to a local
directory and to an S3-compatible bucket (moto's server on loopback)."""

import gzip
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from catalog.models import Order
from conversations.models import Message
from ops.backups import BackupError, backup_create, backup_restore, backups_list
from ops.tests.factories import ChatBuilder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]


def snapshot() -> list:
    """Every row that a backup carries, in a stable order."""
    out = io.StringIO()
    call_command(
        "dumpdata",
        exclude=["contenttypes", "auth.permission", "sessions", "conversations.hotquestion"],
        natural_foreign=True,
        natural_primary=True,
        stdout=out,
        verbosity=0,
    )
    rows = json.loads(out.getvalue())
    return sorted(
        rows,
        key=lambda r: (
            r["model"],
            json.dumps(r.get("pk")),
            json.dumps(r["fields"], sort_keys=True),
        ),
    )


def empty_database() -> None:
    """What a fresh `migrate` leaves: no data, content types and permissions rebuilt."""
    call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def history():
    from django.utils import timezone

    chat = ChatBuilder(visitor="v-backup")
    q = chat.ask("运费怎么算", timezone.now())
    chat.answer(q, after_s=0.05, intent="consult.logistics.shipping_fee", helpful=True)


def test_round_trip_through_a_directory(history, tmp_path):
    before = snapshot()
    result = backup_create(target=str(tmp_path))
    assert result.location == str(tmp_path / result.name)
    assert result.counts["catalog.order"] == 5
    assert result.counts["conversations.message"] == 2
    assert backups_list(target=str(tmp_path)) == [result.name]

    empty_database()
    assert Order.objects.count() == 0 and Message.objects.count() == 0
    counts = backup_restore(target=str(tmp_path))
    assert counts == result.counts
    assert snapshot() == before
    # New rows get fresh ids after the restored ones (sequences moved on PostgreSQL).
    chat = ChatBuilder(visitor="v-after")
    assert chat.conversation.pk > max(
        r["pk"] for r in before if r["model"] == "conversations.conversation"
    )


def test_restore_refuses_a_database_with_data(tmp_path):
    backup_create(target=str(tmp_path))
    before = snapshot()
    with pytest.raises(BackupError, match="not empty"):
        backup_restore(target=str(tmp_path))
    assert snapshot() == before


def test_restore_of_a_damaged_file_fails_cleanly(tmp_path):
    name = backup_create(target=str(tmp_path)).name
    (tmp_path / name).write_bytes(gzip.compress(b"[{broken"))
    empty_database()
    with pytest.raises(BackupError, match="not a readable backup"):
        backup_restore(name=name, target=str(tmp_path))
    assert Order.objects.count() == 0


def test_unknown_names_are_refused(tmp_path):
    with pytest.raises(BackupError, match="no backups"):
        backup_restore(target=str(tmp_path))
    with pytest.raises(BackupError, match="not a backup name"):
        backup_restore(name="../../etc/passwd", target=str(tmp_path))


def test_keeps_only_the_newest(tmp_path):
    names = [backup_create(target=str(tmp_path), keep=2).name for _ in range(3)]
    assert backups_list(target=str(tmp_path)) == names[1:]


def test_commands(tmp_path, history):
    out = io.StringIO()
    call_command("backup", target=str(tmp_path), stdout=out)
    assert out.getvalue().startswith(str(tmp_path))
    out = io.StringIO()
    call_command("restore", "--list", target=str(tmp_path), stdout=out)
    assert out.getvalue().strip() == backups_list(target=str(tmp_path))[0]
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", target=str(tmp_path))
    empty_database()
    out = io.StringIO()
    call_command("restore", target=str(tmp_path), stdout=out)
    assert out.getvalue().startswith("restored ")
    assert Order.objects.count() == 5


@pytest.fixture
def s3(monkeypatch):
    """An S3-compatible server on loopback (moto) with an empty bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="csbot-backups")
    with override_settings(CSBOT_BACKUP_S3_ENDPOINT_URL=endpoint):
        yield endpoint
    server.stop()


def test_round_trip_through_s3(history, s3):
    import boto3

    before = snapshot()
    target = "s3://csbot-backups/shop-1"
    result = backup_create(target=target)
    assert result.location == f"{target}/{result.name}"
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3).list_objects_v2(Bucket="csbot-backups")[
            "Contents"
        ]
    ]
    assert keys == [f"shop-1/{result.name}"]
    empty_database()
    assert backup_restore(target=target) == result.counts
    assert snapshot() == before


def test_s3_target_without_a_bucket_is_refused():
    with pytest.raises(BackupError, match="bad S3 target"):
        backup_create(target="s3://")
