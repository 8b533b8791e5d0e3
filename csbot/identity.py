"""Who is chatting: a logged-in user, or an anonymous visitor known by a random
id kept in their Django session (so reloading the page keeps the conversation)."""

import secrets
from dataclasses import dataclass
from typing import Literal, overload

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.base import SessionBase

VISITOR_SESSION_KEY = "csbot_visitor"


@dataclass(frozen=True)
class Shopper:
    user: User | None
    visitor_id: str

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


@overload
def visitor_id_from_session(session: SessionBase, *, create: Literal[True]) -> str: ...
@overload
def visitor_id_from_session(session: SessionBase, *, create: bool) -> str | None: ...
def visitor_id_from_session(session: SessionBase, *, create: bool) -> str | None:
    """The visitor id stored in the session, minting one when asked to."""
    visitor_id = session.get(VISITOR_SESSION_KEY)
    if visitor_id is None and create:
        visitor_id = "v_" + secrets.token_urlsafe(18)
        session[VISITOR_SESSION_KEY] = visitor_id
    return visitor_id


def shopper_from(user: User | AnonymousUser | None, visitor_id: str) -> Shopper:
    if user is None or not user.is_authenticated:
        return Shopper(user=None, visitor_id=visitor_id)
    return Shopper(user=user, visitor_id=visitor_id)
