"""Backups: the whole database as Django's JSON serialisation (gzip), to a local
directory or an S3-compatible bucket, and restore into an empty database.

Serialisation instead of pg_dump keeps one format for SQLite and PostgreSQL and
needs no client binaries in the image; natural keys make it load into a fresh
database whose content types and permissions were made by `migrate`.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import transaction
from django.utils import timezone

# Rebuilt by `migrate` or worth nothing after a restore.
EXCLUDE = ["contenttypes", "auth.permission", "sessions", "conversations.hotquestion"]
NAME_RE = re.compile(r"^csbot-\d{8}T\d{6}\d*Z\.json\.gz$")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    location: str
    name: str
    size: int
    objects: int
    counts: dict[str, int]


# --- Storage: a directory or s3://bucket/prefix ------------------------------


class _Dir:
    def __init__(self, path: str) -> None:
        self.root = Path(path)

    def put(self, name: str, data: bytes) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
        return str(target)

    def get(self, name: str) -> bytes:
        path = self.root / name
        if not path.is_file():
            raise BackupError(f"no backup {name} in {self.root}")
        return path.read_bytes()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if NAME_RE.match(p.name))

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)


class _S3:
    def __init__(self, url: str) -> None:
        import boto3

        rest = url[len("s3://") :]
        self.bucket, _, prefix = rest.partition("/")
        if not self.bucket:
            raise BackupError(f"bad S3 target {url!r} (want s3://bucket/prefix)")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = url
        self.client = boto3.client("s3", endpoint_url=settings.CSBOT_BACKUP_S3_ENDPOINT_URL or None)

    def put(self, name: str, data: bytes) -> str:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType="application/gzip"
        )
        return f"s3://{self.bucket}/{self.prefix}{name}"

    def get(self, name: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise BackupError(f"no backup {name} in {self.url}") from exc

    def names(self) -> list[str]:
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if NAME_RE.match(name):
                    names.append(name)
        return sorted(names)

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)


def _store(target: str | None):
    target = target or settings.CSBOT_BACKUP_TARGET
    return _S3(target) if target.startswith("s3://") else _Dir(target)


# --- Backup and restore -------------------------------------------------------


def backup_create(*, target: str | None = None, keep: int | None = None) -> BackupResult:
    """Write a backup of every table (but EXCLUDE) to `target` (default the setting)
    and keep only the newest `keep` backups there."""
    buffer = io.StringIO()
    call_command(
        "dumpdata",
        exclude=EXCLUDE,
        natural_foreign=True,
        natural_primary=True,
        format="json",
        stdout=buffer,
        verbosity=0,
    )
    text = buffer.getvalue()
    rows = json.loads(text)
    counts = dict(Counter(row["model"] for row in rows))
    data = gzip.compress(text.encode("utf-8"), compresslevel=6)
    name = f"csbot-{timezone.now().strftime('%Y%m%dT%H%M%S%f')}Z.json.gz"
    store = _store(target)
    location = store.put(name, data)
    keep = settings.CSBOT_BACKUP_KEEP if keep is None else keep
    if keep > 0:
        for old in store.names()[:-keep]:
            store.delete(old)
    return BackupResult(
        location=location, name=name, size=len(data), objects=len(rows), counts=counts
    )


def backups_list(*, target: str | None = None) -> list[str]:
    return _store(target).names()


def _rows_present() -> dict[str, int]:
    """Rows in the tables a restore writes (what `migrate` alone does not create)."""
    skip = {"contenttypes.contenttype", "auth.permission", "sessions.session"}
    present = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in skip or model._meta.proxy or not model._meta.managed:
            continue
        n = model._default_manager.count()
        if n:
            present[label] = n
    return present


def backup_restore(*, name: str = "latest", target: str | None = None) -> dict[str, int]:
    """Load a backup into this (empty, migrated) database, all or nothing. Refuses a
    database that already holds data, so a restore never mixes two stores."""
    store = _store(target)
    if name == "latest":
        names = store.names()
        if not names:
            raise BackupError("no backups to restore")
        name = names[-1]
    if not NAME_RE.match(name):
        raise BackupError(f"{name!r} is not a backup name (csbot-<time>Z.json.gz)")
    present = _rows_present()
    if present:
        listed = ", ".join(f"{k}={v}" for k, v in sorted(present.items())[:5])
        raise BackupError(f"the database is not empty ({listed}); restore needs an empty one")
    try:
        text = gzip.decompress(store.get(name)).decode("utf-8")
        rows = json.loads(text)
    except (OSError, EOFError, ValueError) as exc:
        raise BackupError(f"{name} is not a readable backup: {exc}") from exc
    with transaction.atomic():
        for obj in serializers.deserialize("json", text, handle_forward_references=True):
            obj.save()
    _sequences_reset()
    return dict(Counter(row["model"] for row in rows))


def _sequences_reset() -> None:
    """After loading explicit ids, move PostgreSQL's id sequences past them."""
    from django.db import connection

    models = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
