"""Erase one shopper's chat data on an operator's request: `privacy_delete --user ID`
or `privacy_delete --visitor ID` (both may be given). Safe to run twice."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from privacy import services


class Command(BaseCommand):
    help = "Delete a user's or visitor's conversations, messages, handoffs and cached state."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--user", help="user id (or username) whose chat data to delete")
        parser.add_argument("--visitor", help="visitor id (v_…) whose chat data to delete")

    def handle(self, *args, user=None, visitor=None, **options) -> None:  # noqa: ANN001
        if not user and not visitor:
            raise CommandError("Give --user ID and/or --visitor ID.")
        user_id = None
        if user:
            model = get_user_model()
            found = (
                model.objects.filter(pk=int(user)).first()
                if user.isdigit()
                else model.objects.filter(**{model.USERNAME_FIELD: user}).first()
            )
            if found is None:
                raise CommandError(f"No user {user!r}.")
            user_id = found.pk
        if visitor is not None and not visitor.strip():
            raise CommandError("--visitor must not be empty.")
        deleted = services.shopper_data_delete(
            user_id=user_id, visitor_id=visitor or None, any_visitor=True
        )
        sessions = services.sessions_forget_visitor(visitor_id=visitor) if visitor else 0
        self.stdout.write(json.dumps({**deleted.as_dict(), "sessions": sessions}))
