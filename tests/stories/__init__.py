"""Conversation stories: whole chats, played through the public seams, judged per turn.

A story file (`tests/stories/*.yaml`) is a list of stories:

    - id: order-verify-zh-1              # unique; its hash puts it in dev or held-out
      category: verification             # the report groups by this
      login: alice                       # optional: a logged-in shopper
      page: CB-PRO                       # optional: the product page the shopper is on
      turns:
        - say: 我的快递到哪了
          expect:
            has: [[订单号, 单号]]          # every group must appear; a group is any-of
            not: [再见]                    # none of these may appear
            handoff: false                 # whether the turn hands the chat to a person
            intent: consult.logistics.order_status   # the bot's intent (optional)
            answered: true                 # a confident answer (intent set); false: no
                                           # confident answer (clarify, honest no, handoff)

Every reply is also checked for other people's data: an order number or phone number
that belongs to an order the shopper neither owns (logged in) nor named in this chat.
A story passes when every turn passes. `split(story)` is "heldout" for about 3 in 10
stories, by a hash of the id: nobody tunes on those (`bench/conversations.py` reports
them, three fresh runs each); the rest run in CI (`tests/test_stories.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STORIES_DIR = Path(__file__).resolve().parent
# The server stories are played against: limits lifted so a suite can talk to it
# quickly; agents on duty around the clock, so a story reads the same whatever the
# hour; no hot-answer cache, so it reads the same whichever stories ran before it.
SERVER_ENV = {
    "LOG_LEVEL": "WARNING",
    "CSBOT_MESSAGES_PER_MINUTE": "1000000",
    "CSBOT_IP_MESSAGES_PER_MINUTE": "1000000",
    "CSBOT_AGENT_HOURS": "00:00-24:00",
    "CSBOT_HOT_CACHE_TTL_S": "0",
}
HELDOUT_SHARE = 3  # out of 10

# The demo store's orders (docs/protocol.md §11): who owns which, and their phones.
ORDERS = {
    "DD202611010001": ("alice", "13800138000"),
    "DD202611020002": ("alice", "13800138000"),
    "DD202611030003": ("bob", "13900139000"),
    "DD202611040004": ("bob", "13900139000"),
    "DD202611050005": ("carol", "13700137000"),
}
TRACKING = {"SF1234567890": "DD202611010001"}
_ORDER_NO = re.compile(r"DD\d{12}", re.IGNORECASE)
_LONG_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


@dataclass(frozen=True)
class Expect:
    has: tuple[tuple[str, ...], ...] = ()
    not_: tuple[str, ...] = ()
    handoff: bool | None = None
    intent: tuple[str, ...] = ()
    answered: bool | None = None


@dataclass(frozen=True)
class Turn:
    say: str
    expect: Expect


@dataclass(frozen=True)
class Story:
    id: str
    category: str
    turns: tuple[Turn, ...]
    login: str | None = None
    page: str | None = None
    source: str = ""


@dataclass
class TurnResult:
    say: str
    replies: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return reply_text(self.replies)


@dataclass
class StoryResult:
    story: Story
    turns: list[TurnResult]

    @property
    def passed(self) -> bool:
        return all(not t.problems for t in self.turns)

    def describe(self) -> str:
        lines = [f"{self.story.id} ({self.story.category}, {self.story.source})"]
        for t in self.turns:
            mark = "ok " if not t.problems else "BAD"
            lines.append(f"  {mark} > {t.say}")
            lines.append(f"        < {t.text[:300]}")
            lines += [f"        ! {p}" for p in t.problems]
        return "\n".join(lines)


def _group(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def _expect(data: dict[str, Any] | None) -> Expect:
    data = data or {}
    unknown = set(data) - {"has", "not", "handoff", "intent", "answered"}
    if unknown:
        raise ValueError(f"unknown expectation keys {sorted(unknown)}")
    return Expect(
        has=tuple(_group(g) for g in data.get("has", [])),
        not_=tuple(str(v) for v in data.get("not", [])),
        handoff=data.get("handoff"),
        intent=_group(data["intent"]) if data.get("intent") else (),
        answered=data.get("answered"),
    )


def load(paths: Iterable[Path] | None = None) -> list[Story]:
    """Every story in these files (default: all of tests/stories/*.yaml); ids unique."""
    stories: list[Story] = []
    seen: set[str] = set()
    for path in sorted(paths or STORIES_DIR.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            story = Story(
                id=str(raw["id"]),
                category=str(raw["category"]),
                login=raw.get("login"),
                page=raw.get("page"),
                source=path.name,
                turns=tuple(
                    Turn(say=str(t["say"]), expect=_expect(t.get("expect"))) for t in raw["turns"]
                ),
            )
            if story.id in seen:
                raise ValueError(f"duplicate story id {story.id} in {path.name}")
            seen.add(story.id)
            stories.append(story)
    return stories


def split(story: Story) -> str:
    """ "heldout" or "dev", fixed by the story's id."""
    digest = hashlib.sha256(story.id.encode()).digest()
    return "heldout" if digest[0] % 10 < HELDOUT_SHARE else "dev"


def reply_text(replies: list[dict[str, Any]]) -> str:
    """The text a shopper reads in these frames: bot and agent texts, and what the cards
    show (every value but links, pictures and the card's kind)."""
    parts: list[str] = []
    for frame in replies:
        if frame.get("type") in ("bot", "agent") and frame.get("text"):
            parts.append(frame["text"])
        for card in frame.get("cards") or []:
            parts += _card_values(card)
    return "\n".join(parts)


def _card_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [
            text
            for key, item in value.items()
            if key not in ("kind", "url", "image", "sku")
            for text in _card_values(item)
        ]
    if isinstance(value, list):
        return [text for item in value for text in _card_values(item)]
    return [] if value is None else [str(value)]


def _contains(text: str, needle: str) -> bool:
    return needle.lower() in text.lower()


def judge(story: Story, turn: Turn, replies: list[dict[str, Any]], said: list[str]) -> list[str]:
    """What is wrong with the replies to one turn (empty: the turn passes)."""
    problems: list[str] = []
    text = reply_text(replies)
    bots = [f for f in replies if f.get("type") == "bot"]
    expect = turn.expect
    if not replies:
        problems.append("no reply")
    for group in expect.has:
        if not any(_contains(text, option) for option in group):
            problems.append(f"missing one of {list(group)}")
    for bad in expect.not_:
        if _contains(text, bad):
            problems.append(f"says {bad!r}")
    handed = any(f.get("type") == "handoff" for f in replies)
    if expect.handoff is not None and handed != expect.handoff:
        problems.append("handed off" if handed else "did not hand off")
    intents = [f.get("intent") for f in bots]
    if expect.intent and not any(i in expect.intent for i in intents):
        problems.append(f"intent {intents} not in {list(expect.intent)}")
    if expect.answered is not None:
        answered = any(i for i in intents) and not handed
        if answered != expect.answered:
            problems.append("answered confidently" if answered else "gave no answer")
    problems += _foreign_data(story, text, said)
    return problems


def _foreign_data(story: Story, text: str, said: list[str]) -> list[str]:
    """Order numbers or phones of orders this shopper neither owns nor named."""
    asked = " ".join(said).upper()
    problems = []
    for order_no in {m.upper() for m in _ORDER_NO.findall(text)}:
        owner = ORDERS.get(order_no, (None, None))[0]
        if owner != story.login and order_no not in asked:
            problems.append(f"shows another shopper's order {order_no}")
    phones = {phone: no for no, (_, phone) in ORDERS.items()}
    for digits in _LONG_DIGITS.findall(text):
        order_no = phones.get(digits)
        if order_no and ORDERS[order_no][0] != story.login and digits not in asked:
            problems.append(f"shows another shopper's phone {digits}")
    return problems


Send = Callable[[str], list[dict[str, Any]]]


def play(story: Story, send: Send) -> StoryResult:
    """Play a story through `send` (one shopper message in, the reply frames out)."""
    said: list[str] = []
    results: list[TurnResult] = []
    for turn in story.turns:
        said.append(turn.say)
        try:
            replies = send(turn.say)
        except Exception as exc:  # a refused or failed request is this turn's failure
            results.append(TurnResult(say=turn.say, replies=[], problems=[f"error: {exc}"]))
            continue
        results.append(
            TurnResult(say=turn.say, replies=replies, problems=judge(story, turn, replies, said))
        )
    return StoryResult(story=story, turns=results)
