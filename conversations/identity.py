"""Who is chatting: a logged-in user, or an anonymous visitor known by a random
id kept in their Django session (so reloading the page keeps the conversation)."""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

VISITOR_SESSION_KEY = "csbot_visitor"


@dataclass(frozen=True)
class Shopper:
    user: AbstractBaseUser | None
    visitor_id: str

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


def visitor_id_from_session(session, *, create: bool) -> str | None:
    """The visitor id stored in the session, minting one when asked to."""
    visitor_id = session.get(VISITOR_SESSION_KEY)
    if visitor_id is None and create:
        visitor_id = "v_" + secrets.token_urlsafe(18)
        session[VISITOR_SESSION_KEY] = visitor_id
    return visitor_id


def shopper_from(user: AbstractBaseUser | AnonymousUser | None, visitor_id: str) -> Shopper:
    authenticated = user is not None and user.is_authenticated
    return Shopper(user=user if authenticated else None, visitor_id=visitor_id)
