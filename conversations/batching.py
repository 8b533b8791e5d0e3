"""Group commit for the WebSocket hot path: shopper messages from every socket of this
process are stored together, one transaction per batch.

Each consumer awaits `message_submit`; a per-event-loop batcher takes whatever has
arrived, stores it on its database thread with `services.messages_receive` (one seq
statement, one bulk insert, one commit), then resolves every waiting consumer at once,
so each ack still follows its own commit. Batches form naturally: while one is being
written, the next one gathers, so an idle server adds no delay and a busy one writes
many messages per commit. After the acks, the batch's replies are queued (Celery), or,
in eager mode, generated for the whole batch in one go on the same thread.

Nothing-lost rules hold per message: a message is acknowledged only after its batch
commits; a refusal (rate limit, closed conversation) stores nothing for that message;
a failed batch fails every waiting consumer, which is never told "stored".
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections

from conversations import services
from conversations.models import Conversation, Message
from csbot.broadcast import broadcasts_via
from csbot.errors import ChatError, ErrorCode
from csbot.ratelimit import RateLimit, rate_limits_hit

log = logging.getLogger(__name__)

# Messages per transaction at most; a bigger backlog is written in several commits.
MAX_BATCH = 256
# Under load (a batch ended less than BUSY_S ago) a small batch waits LINGER_S for
# company: per-batch costs (commit, cache and Redis round trips, the thread hop) then
# spread over more messages. An idle server writes a lone message at once.
LINGER_S = 0.002
LINGER_BELOW = 32
BUSY_S = 0.02

_executor: ThreadPoolExecutor | None = None
_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MessageBatcher] = (
    weakref.WeakKeyDictionary()
)


def _batch_executor() -> ThreadPoolExecutor:
    """The one thread that writes batches (SQLite has one writer anyway; on PostgreSQL
    each web process contributes one writer, plus its other database calls)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csbot-batch")
    return _executor


@dataclass
class _Pending:
    item: services.Incoming
    limits: tuple[RateLimit, ...]
    future: asyncio.Future[Message]


class MessageBatcher:
    """Collects submissions on one event loop and writes them in batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[_Pending] = []
        self.task: asyncio.Task[None] | None = None
        self.written = 0  # batches finished (stored, acked, replies done or queued)
        self.last_end = -1.0  # loop time the last batch finished
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def settle(self) -> None:
        """Wait until everything submitted so far is written and its replies are done
        (or queued): the batch in flight, and the one gathering if it has anything."""
        if self.task is None:
            return
        target = self.written + 1 + (1 if self.pending else 0)
        future: asyncio.Future[None] = self.loop.create_future()
        self.waiters.append((target, future))
        await future

    async def submit(
        self,
        *,
        conversation: Conversation,
        text: str,
        client_msg_id: str,
        limits: tuple[RateLimit, ...] = (),
        payload: dict[str, Any] | None = None,
    ) -> Message:
        future: asyncio.Future[Message] = self.loop.create_future()
        item = services.Incoming(
            conversation=conversation, text=text, client_msg_id=client_msg_id, payload=payload
        )
        self.pending.append(_Pending(item=item, limits=limits, future=future))
        if self.task is None:
            self.task = self.loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self.pending:
                if len(self.pending) < LINGER_BELOW and self.loop.time() - self.last_end < BUSY_S:
                    await asyncio.sleep(LINGER_S)
                batch = self.pending[:MAX_BATCH]
                del self.pending[:MAX_BATCH]
                await self.loop.run_in_executor(_batch_executor(), self._write, batch)
                self.last_end = self.loop.time()
                self.written += 1
                self._wake(lambda target: target <= self.written)
        finally:
            self.task = None
            self._wake(lambda target: True)

    def _wake(self, due: Callable[[int], bool]) -> None:
        waiting = []
        for target, future in self.waiters:
            if not due(target):
                waiting.append((target, future))
            elif not future.done():
                future.set_result(None)
        self.waiters = waiting

    def _write(self, batch: list[_Pending]) -> None:
        """On the batch thread: rate limits, one transaction, acks, then the replies."""
        with broadcasts_via(self.loop):
            close_old_connections()
            try:
                results = self._store(batch)
            except Exception as exc:  # the database failed: nobody is told "stored"
                log.exception("storing a batch of %d messages failed", len(batch))
                self.loop.call_soon_threadsafe(_fail, batch, exc)
                close_old_connections()
                return
            self.loop.call_soon_threadsafe(_resolve, batch, results)
            new = [r.message for r in results if r.created and r.message is not None]
            try:
                services.replies_enqueue(message_ids=[m.pk for m in new], stored=new)
            except Exception:  # stored and acked; the sweep re-queues what was not answered
                log.exception("queueing replies for %d messages failed", len(new))
            finally:
                close_old_connections()
        _heap_freeze_once()

    @staticmethod
    def _store(batch: list[_Pending]) -> list[services.Received]:
        checks = [limit for p in batch for limit in p.limits]
        hits = iter(rate_limits_hit(limits=checks) if checks else [])
        refused = [any(next(hits) for _ in p.limits) for p in batch]
        stored = iter(
            services.messages_receive(
                items=[p.item for p, no in zip(batch, refused, strict=True) if not no],
                enqueue_replies=False,
            )
        )
        return [
            services.Received(error=ChatError(ErrorCode.RATE_LIMITED)) if no else next(stored)
            for no in refused
        ]


_heap_frozen = False


def _heap_freeze_once() -> None:
    """After the first batch (the intent model, jieba's dictionary, the catalog cache and
    Django are loaded by then), move every live object out of the collector's sight.
    Otherwise each full collection walks that whole heap, a 50-100 ms stop of every
    socket in this process, which was the whole p99 tail under load. Objects made later
    are collected as usual. Once per process."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


async def batches_settle() -> None:
    """Wait until this event loop's batcher has written everything submitted so far,
    replies included (a socket closing, a test finishing); at once when idle."""
    batcher = _batchers.get(asyncio.get_running_loop())
    if batcher is not None:
        await batcher.settle()


def _resolve(batch: list[_Pending], results: list[services.Received]) -> None:
    for pending, result in zip(batch, results, strict=True):
        if pending.future.done():  # the socket went away; the message is stored anyway
            continue
        if result.error is not None:
            pending.future.set_exception(result.error)
        else:
            assert result.message is not None  # stored unless refused
            pending.future.set_result(result.message)


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(exc)


async def message_submit(
    *,
    conversation: Conversation,
    text: str,
    client_msg_id: str,
    limits: tuple[RateLimit, ...] = (),
    payload: dict[str, Any] | None = None,
) -> Message:
    """Store one shopper message through this event loop's batcher and return it once
    its batch has committed (a resend returns the stored message). Raises ChatError
    when a limit is exceeded or the conversation takes no more messages."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = MessageBatcher(loop)
    return await batcher.submit(
        conversation=conversation,
        text=text,
        client_msg_id=client_msg_id,
        limits=limits,
        payload=payload,
    )
