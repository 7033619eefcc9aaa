"""Clicks written behind their answers: in the order they were answered, as many as are
waiting in one transaction.

A click's answer goes out first; its session and the concept it opened are then
put here and written by one task, which takes everything waiting each time it
starts a transaction: under load a transaction carries many clicks, and a quiet
bot writes each click at once. The task lives only while there is something to
write. A batch that fails is written again a click at a time, so that one bad
click (its map deleted meanwhile) costs no other its write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.models import Session
from bot.storage import Storage

log = logging.getLogger(__name__)

# Clicks in one transaction at most: a few statements whatever the number, so a larger
# batch only makes one transaction longer for the clicks that come meanwhile.
BATCH_MAX = 500


@dataclass
class Click:
    """One answered click waiting to be written."""

    session: Session | None
    opened: int | None
    # Done once the click is written, or given up on (the failure logged).
    written: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class WriteBehind:
    """The clicks this process answered and has not written yet, and the task writing them."""

    def __init__(self, storage: Storage, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.clock = clock
        self._waiting: list[Click] = []
        self._task: asyncio.Task[None] | None = None

    def put(self, session: Session | None, opened: int | None) -> Click:
        """Write the click after every click put before it; returns at once."""
        click = Click(session, opened)
        self._waiting.append(click)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="kinapse-write-behind")
        return click

    async def flush(self) -> None:
        """Return once every click put so far is written (or given up on)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH_MAX], self._waiting[BATCH_MAX:]
            try:
                await self._save(batch)
            finally:
                # Cancelled (the process is going down unflushed): the rest is lost too.
                for click in batch:
                    if not click.written.done():
                        click.written.set_result(None)

    async def _save(self, batch: list[Click]) -> None:
        try:
            await self.storage.save_clicks([(c.session, c.opened) for c in batch], now=self.clock())
            return
        except Exception:
            if len(batch) == 1:
                log.warning("Could not save a click after answering it", exc_info=True)
                return
            log.info("Writing %d clicks together failed; writing them one at a time", len(batch))
        for click in batch:
            try:
                await self.storage.save_click(click.session, click.opened, now=self.clock())
            except Exception:
                log.warning("Could not save a click after answering it", exc_info=True)
            if not click.written.done():
                click.written.set_result(None)
