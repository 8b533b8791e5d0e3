"""The schema the code expects is the schema the migrations build."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from conversations.models import Message


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = StringIO()
    # --check exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_messages_are_indexed_by_sender_and_time_for_the_dashboard():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    index = constraints["message_sender_created"]
    assert index["index"] is True
    assert index["columns"] == ["sender", "created_at"]
