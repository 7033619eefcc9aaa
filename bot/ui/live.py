"""One throttle for every streamed message (a new map, sub-concepts, an answer).

At most one edit every ``STREAM_EDIT_INTERVAL`` seconds and never two in flight
(Discord rate-limits edits of a message); an update that arrives inside the
interval is not dropped: the newest state is sent when the interval ends (a
trailing edit), so what the model wrote reaches the card at most one interval
late. With ``after`` (the interaction's acknowledgement, under way), states can be
offered before the message exists: the first edit waits for it. The caller makes
the final edit itself, after ``settle``; nothing offered after that is sent.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# Seconds between edits of a streaming message: llmcord's rhythm. Discord documents no
# figure (each response's rate-limit headers carry it); edits of an interaction's
# message have been seen limited to about 5 per 5 s, which one a second stays inside,
# and discord.py waits out a bucket that runs dry rather than failing.
STREAM_EDIT_INTERVAL = 1.0

Edit = Callable[..., Awaitable[object]]


class LiveEdits:
    """The edits of one message while its answer streams."""

    def __init__(
        self,
        edit: Edit,
        still: Callable[[], Awaitable[bool]] | None = None,
        *,
        after: asyncio.Future[Any] | None = None,
        interval: float | None = None,
    ) -> None:
        self._edit = edit  # puts fields on the message (see respond.edit_once)
        self._still = still  # asked before each edit: is the card still showing this?
        self._after = after  # no edit before it is done
        self._interval = STREAM_EDIT_INTERVAL if interval is None else interval
        self._last = -math.inf  # when the last edit started, on the loop's clock
        self._pending: dict[str, Any] | None = None  # the newest state not sent yet
        self._sender: asyncio.Task[None] | None = None
        self._editing = False  # an edit (or the check before it) is in flight
        self._settled = False
        self.edits = 0

    def offer(self, **fields: Any) -> None:
        """The message's newest state: sent now if the interval allows, else when it ends."""
        if self._settled:
            return  # the final edit is the caller's; nothing may land after it
        self._pending = fields
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        if self._after is not None:
            await asyncio.wait({self._after})  # never cancels it
        while self._pending is not None:
            wait = self._last + self._interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            fields, self._pending = self._pending, None
            if fields is None:
                return
            self._last = loop.time()
            self._editing = True
            try:
                await self._put(fields)
            finally:
                self._editing = False

    async def _put(self, fields: dict[str, Any]) -> None:
        """One edit; whatever goes wrong is logged, and the stream goes on to the next."""
        try:
            if self._still is not None and not await self._still():
                return
        except Exception:
            log.warning("Could not check a streaming card before editing it", exc_info=True)
            return
        self.edits += 1
        try:
            await self._edit(**fields)
        except Exception:
            log.exception("Could not edit a streaming card")

    async def settle(self) -> None:
        """Stop before the final edit: an update still waiting for its interval is
        dropped (the final edit supersedes it), later offers are ignored, and an edit in
        flight lands first, so it cannot overwrite the final one; ``after`` is done by
        then, so the final edit has a message to edit (its error, if any, is raised)."""
        self._settled = True
        self._pending = None
        sender = self._sender
        if sender is not None and not sender.done():
            if not self._editing:
                sender.cancel()
            await asyncio.wait({sender})
        if self._after is not None:
            await asyncio.shield(self._after)
