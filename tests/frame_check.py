"""pytest plugin: every frame the server sends during a test validates against its schema.

Each test runs with `csbot.frames.recording()` on: the edges (the shopper and agent
consumers, the HTTP chat answers, the channel-layer broadcasts) hand every frame they
send to `csbot.frames.sent`. At teardown each recorded frame is checked against the
schemas declared for its type (and socket) in the apps' `events.py`; a frame that does
not validate fails the test, naming the frame and the problem. The terminal summary
lists the frame types seen in the run, and the declared ones never seen.

Load it with `-p tests.frame_check`, or `pytest_plugins = ["tests.frame_check"]` in the
root conftest.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from csbot.frames import Sent

_seen: Counter[str] = Counter()
_failed: Counter[str] = Counter()

MAX_REPORTED = 5


def _kind(item: Sent) -> str:
    return str(item.frame.get("type")) if item.frame is not None else "(unserialisable)"


def problems_report(sent: list[Sent]) -> str | None:
    """None when every recorded frame validates, else a report naming each bad frame
    (the first few) and what is wrong with it."""
    bad = [(item, problem) for item in sent if (problem := item.problems()) is not None]
    if not bad:
        return None
    lines = [f"{len(bad)} of {len(sent)} frames sent do not validate against their schemas:"]
    for item, problem in bad[:MAX_REPORTED]:
        shown = json.dumps(item.frame, ensure_ascii=False) if item.frame is not None else ""
        lines.append(f"- to {item.socket or 'a group'}: {shown[:400]}\n    {problem}")
    if len(bad) > MAX_REPORTED:
        lines.append(f"... and {len(bad) - MAX_REPORTED} more")
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def _frames_validate() -> Iterator[None]:
    from csbot import frames

    with frames.recording() as sent:
        yield
    report = problems_report(sent)
    for item in sent:
        _seen[f"{item.socket or 'group'}:{_kind(item)}"] += 1
    if report is not None:
        _failed.update(_kind(item) for item in sent if item.problems() is not None)
        pytest.fail(report, pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seen:
        return
    from csbot.frames import REGISTRY

    tr = terminalreporter
    tr.section("frames sent (tests.frame_check)")
    for key, count in sorted(_seen.items()):
        tr.write_line(f"{key:28} {count:6}")
    never = sorted(
        f"{schema.socket}:{kind} ({schema.__name__})"
        for kind, schemas in REGISTRY.items()
        for schema in schemas
        if f"{schema.socket}:{kind}" not in _seen and f"group:{kind}" not in _seen
    )
    if never:
        tr.write_line("declared, never sent: " + ", ".join(never))
    if _failed:
        tr.write_line(
            "frames that did not validate: "
            + ", ".join(f"{k} x{n}" for k, n in sorted(_failed.items()))
        )
