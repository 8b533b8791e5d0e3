"""The one broadcast transport: frames to channel-layer groups, sent after commit.

The channel layer is best effort: the database is the record, and a client that misses
a frame gets it again by resuming from the database. Worker threads that write on the
server's behalf hand their frames to the event loop without waiting (`broadcasts_via`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from csbot import frames

log = logging.getLogger(__name__)

Send = tuple[str, dict[str, Any]]


def broadcast_on_commit(group: str, frame: dict[str, Any]) -> None:
    """Send one frame to one group once the write commits."""
    broadcast_groups_on_commit([(group, frame)])


def broadcast_groups_on_commit(
    sends: Sequence[tuple[str, dict[str, Any]]] | Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    """Send frames to named groups (agents' groups, say) once the write commits. `sends`
    may be a function, called after the commit, for frames that read the committed state."""
    if callable(sends):
        make = sends
        transaction.on_commit(lambda: _broadcast(make()))
        return
    items = list(sends)
    if items:
        transaction.on_commit(lambda: _broadcast(items))


_thread = threading.local()
_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupSender] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def broadcasts_via(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Within this block, broadcasts from this (worker) thread are handed to `loop`
    without waiting for them: the thread goes on with its next database write."""
    previous = getattr(_thread, "loop", None)
    _thread.loop = loop
    try:
        yield
    finally:
        _thread.loop = previous


def _broadcast_loop() -> asyncio.AbstractEventLoop | None:
    """The server's event loop, when this thread does database work on its behalf: set
    by `broadcasts_via`, or by asgiref for `sync_to_async` calls. None in a Celery
    worker, a management command or a plain test, which send synchronously."""
    loop = getattr(_thread, "loop", None)
    if loop is None and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == (
        os.getpid()
    ):
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    try:
        if asyncio.get_running_loop() is loop:
            return None  # on the loop itself: never block it, but also never nest
    except RuntimeError:
        pass
    return loop


def _broadcast(sends: list[tuple[str, dict[str, Any]]]) -> None:
    if not sends:
        return
    if frames.is_recording():  # tests: what goes to the groups is checked too
        for _group, frame in sends:
            frames.sent(frame)
    loop = _broadcast_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_enqueue, loop, sends)
    else:
        async_to_sync(_send_all)(sends)


def _enqueue(loop: asyncio.AbstractEventLoop, sends: list[tuple[str, dict[str, Any]]]) -> None:
    sender = _senders.get(loop)
    if sender is None:
        sender = _senders[loop] = _GroupSender()
    sender.push(sends)


# Groups sent to at once: enough to overlap Redis round trips, few enough to leave the
# channel layer's connection pool (100 by default) to the sockets' receives.
BROADCAST_CONCURRENCY = 8


async def _send_all(sends: list[tuple[str, dict[str, Any]]]) -> None:
    """Send frames to their groups: in order within a group, a few groups at a time."""
    layer = get_channel_layer()
    if layer is None:
        return
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, frame in sends:
        by_group.setdefault(group, []).append(frame)

    # In memory nothing holds a connection: all groups in one loop pass (the stock layer
    # suspends inside group_send, so one at a time would cost a loop pass per group).
    in_memory = isinstance(layer, InMemoryChannelLayer)
    gate = asyncio.Semaphore(len(by_group) if in_memory else BROADCAST_CONCURRENCY)

    async def send_group(group: str, frames: list[dict[str, Any]]) -> None:
        async with gate:
            for frame in frames:
                try:
                    await layer.group_send(
                        group, {"type": "chat.frame", "group": group, "frame": frame}
                    )
                except Exception:  # best effort: the client resumes from the database
                    log.warning("broadcast to %s failed", group, exc_info=True)

    if len(by_group) == 1:
        ((group, frames),) = by_group.items()
        await send_group(group, frames)
    else:
        await asyncio.gather(*(send_group(g, f) for g, f in by_group.items()))


class _GroupSender:
    """Per event loop: sends the frames worker threads hand over, in the order they
    committed, without making those threads wait."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.task: asyncio.Task[None] | None = None

    def push(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        self.pending.extend(sends)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.pending:
                sends, self.pending = self.pending, []
                await _send_all(sends)
        finally:
            self.task = None
