"""Per-conversation dialogue state, kept in the cache (Redis when configured).

The state is what the bot remembers between turns: the intent it is working on,
the slots it has filled, the product and order last talked about, and the last
five turns. Losing it (cache eviction) costs context, never data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

MAX_TURNS = 5


@dataclass
class DialogueState:
    node: str = "start"
    intent: str | None = None
    # An intent waiting for slots the shopper has not given yet.
    pending: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    last_product: str | None = None
    last_order: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    low_confidence_streak: int = 0

    def remember_turn(self, *, role: str, text: str, intent: str | None = None) -> None:
        self.turns.append({"role": role, "text": text[:300], "intent": intent})
        del self.turns[:-MAX_TURNS]


def _key(conversation_public_id: str) -> str:
    return f"dlg:{conversation_public_id}"


def _from_raw(raw: dict[str, Any] | None) -> DialogueState:
    if not raw:
        return DialogueState()
    known = DialogueState.__dataclass_fields__.keys()
    return DialogueState(**{k: v for k, v in raw.items() if k in known})


def state_load(conversation_public_id: str) -> DialogueState:
    return _from_raw(cache.get(_key(conversation_public_id)))


def state_load_many(conversation_public_ids: Iterable[str]) -> dict[str, DialogueState]:
    """Several conversations' states in one cache round trip (a reply batch)."""
    keys = {_key(public_id): public_id for public_id in conversation_public_ids}
    found = cache.get_many(list(keys))
    return {public_id: _from_raw(found.get(key)) for key, public_id in keys.items()}


def state_save(conversation_public_id: str, state: DialogueState) -> None:
    cache.set(_key(conversation_public_id), asdict(state), settings.CSBOT_STATE_TTL_S)


def state_save_many(states: dict[str, DialogueState]) -> None:
    """Save several conversations' states in one cache round trip (the cache pickles
    the values, so a shallow copy is a snapshot; `asdict` would deep-copy twice)."""
    if states:
        cache.set_many(
            {_key(public_id): vars(state).copy() for public_id, state in states.items()},
            settings.CSBOT_STATE_TTL_S,
        )


def state_clear(conversation_public_id: str) -> None:
    cache.delete(_key(conversation_public_id))
