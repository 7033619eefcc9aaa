"""Clicks written behind their answers: in the order they were answered, as many as are
waiting in one transaction.

A click's answer goes out first; its session and the concept it opened are then
put here. One batch is written at a time, by a task of its own holding every click
that waited for the one before it: under load a transaction carries many clicks,
and a quiet bot writes each click at once. Nothing runs while nothing waits. A batch
that fails is written again a click at a time, so that one bad click (its map
deleted meanwhile) costs no other its write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.models import Session
from bot.storage import Storage

log = logging.getLogger(__name__)

# Clicks in one transaction at most: a few statements whatever the number, so a larger
# batch only makes one transaction longer for the clicks that come meanwhile.
BATCH_MAX = 500


@dataclass(eq=False)
class Click:
    """One answered click waiting to be written."""

    session: Session | None
    opened: int | None


class WriteBehind:
    """The clicks this process answered and has not written yet, and the batch being written.

    ``written`` hears every batch once it is over: committed, or given up on (the
    failure logged), or cut short by the process going down.
    """

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float],
        written: Callable[[list[Click]], None],
    ) -> None:
        self.storage = storage
        self.clock = clock
        self._written = written
        self._waiting: list[Click] = []
        self._writing: asyncio.Task[None] | None = None

    def put(self, session: Session | None, opened: int | None) -> Click:
        """Write the click after every click put before it; returns at once."""
        click = Click(session, opened)
        self._waiting.append(click)
        if not self._busy():
            self._next()
        return click

    async def wait(self) -> None:
        """Return once the batch being written now is over (at once if there is none)."""
        if not self._busy() and self._waiting:
            self._next()  # the last batch was cut short: go on with what waited
        if self._writing is not None and not self._writing.done():
            await asyncio.wait({self._writing})  # a task: its failure is its own

    async def flush(self) -> None:
        """Return once every click put so far is written (or given up on)."""
        while self._waiting or self._busy():
            await self.wait()

    def _busy(self) -> bool:
        return self._writing is not None and not self._writing.done()

    def _next(self) -> None:
        """Start writing the clicks that wait, if any."""
        if not self._waiting:
            return
        batch, self._waiting = self._waiting[:BATCH_MAX], self._waiting[BATCH_MAX:]
        self._writing = asyncio.create_task(self._write(batch), name="kinapse-write-behind")

    async def _write(self, batch: list[Click]) -> None:
        try:
            await self._save(batch)
        finally:
            self._written(batch)
        self._next()

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
