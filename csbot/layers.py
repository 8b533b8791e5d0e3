"""Channels' in-memory channel layer, tuned for many sockets in one process.

The stock layer sweeps every channel queue and every group membership for expired
entries on each `receive` and each `group_send`: O(sockets) work per frame, which at 50
sockets was a tenth of the event loop's time, and grows with every socket. This one
sweeps at most once a second (messages expire after 60 s, so a sweep up to a second
late changes nothing) and sends to a group's members directly instead of through one
task per member. `send` and `receive` also skip the stock layer's per-call work that
changes nothing for a channel already in use: a new `asyncio.Queue` built and thrown
away, the channel-name check, and a `deepcopy` of each message (a copy of the JSON-like
structure the layer carries, which a real layer would serialise, does the same job).
Same API and semantics otherwise. Used by the embedded default (no REDIS_URL) when
CHANNEL_LAYERS names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as _StockInMemoryChannelLayer


class InMemoryChannelLayer(_StockInMemoryChannelLayer):
    sweep_interval_s = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._swept_at = float("-inf")

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < self.sweep_interval_s:
            return
        self._swept_at = now
        super()._clean_expired()

    def _queue(self, channel: str) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:
            self.require_valid_channel_name(channel)
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        assert "__asgi_channel__" not in message
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, _copy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel: str) -> dict[str, Any]:
        queue = self._queue(channel)
        self._clean_expired()
        if self.channels.get(channel) is not queue:  # the sweep dropped an expired queue
            queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty() and self.channels.get(channel) is queue:
                del self.channels[channel]
        return message

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            # As the stock layer: a full channel misses the frame (best effort).
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)


_ATOMS = (str, int, float, bool, bytes, type(None))


def _copy(value: Any) -> Any:
    """A deep copy of what a channel layer carries (dicts, lists, tuples and atoms, as
    msgpack would serialise them); anything else goes through `deepcopy`."""
    if isinstance(value, _ATOMS):
        return value
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    if type(value) is tuple:
        return tuple(_copy(v) for v in value)
    return deepcopy(value)
