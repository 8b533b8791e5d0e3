"""Channels' in-memory channel layer, tuned for many sockets in one process.

The stock layer sweeps every channel queue and every group membership for expired
entries on each `receive` and each `group_send`: O(sockets) work per frame, which at 50
sockets was a tenth of the event loop's time, and grows with every socket. This one
sweeps at most once a second (messages expire after 60 s, so a sweep up to a second
late changes nothing) and sends to a group's members directly instead of through one
task per member. Same API and semantics otherwise. Used by the embedded default
(no REDIS_URL) when CHANNEL_LAYERS names it.
"""

from __future__ import annotations

import contextlib
import time
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

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            # As the stock layer: a full channel misses the frame (best effort).
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)
