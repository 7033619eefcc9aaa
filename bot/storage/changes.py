"""The changes storage's writes report, for readers that hold what they read.

A reader that keeps maps and concepts (``bot.explore.cache``) must drop what a write
changed. Each use case in ``base.py`` that changes a map or a concept notes a
``Change`` in its transaction: a backend shared by several processes announces it
to them with the commit (PostgreSQL: NOTIFY), and this process's watchers hear of it
right after the commit. ``Storage`` takes this part in as a mixin.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.storage.records import Change

if TYPE_CHECKING:
    from bot.storage.base import Transaction

log = logging.getLogger(__name__)

Watcher = Callable[[Change], None]


class Note(Protocol):
    """Notes changes in a transaction (``Changes._changing``): any number at once, which
    a shared backend announces together (one round trip)."""

    async def __call__(self, db: Transaction, *changes: Change) -> None: ...


class Changes:
    """Who watches the writes, and how a write tells them."""

    @functools.cached_property
    def _watchers(self) -> list[Watcher]:
        return []

    # Changes noted in a transaction and not yet reported: while there are any, what
    # a read returns may hold a change the watchers have not heard of yet.
    _unreported = 0

    @property
    def changing(self) -> bool:
        """A change of this process's is being written: noted, not yet reported."""
        return self._unreported > 0

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` with every committed write that changes a map or a concept:
        this process's right after its commit, and other processes' as they are heard
        of (``sees_every_change``). Returns what stops the watching."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher)

    @property
    def sees_every_change(self) -> bool:
        """Every write to the database reaches the watchers now. SQLite: the file has one
        writing process, the bot's (``exclusive``); PostgreSQL: while it listens."""
        return True

    def _changed(self, change: Change) -> None:
        for watcher in list(self._watchers):
            try:
                watcher(change)
            except Exception:
                log.exception("A watcher of storage changes failed on %s", change)

    async def _announce(self, db: Transaction, changes: Sequence[Change]) -> None:
        """Tell the other processes of ``changes`` once ``db`` commits (a shared backend)."""

    @contextlib.asynccontextmanager
    async def _changing(self) -> AsyncIterator[Note]:
        """Around a write transaction (``async with self._changing() as note,
        self.transaction() as db``): what it changed, noted with ``await note(db, *changes)``,
        is announced with the commit and reported to the watchers after it. Reported
        even when the commit failed: a reader dropping what it holds loses nothing."""
        noted: list[Change] = []

        async def note(db: Transaction, *changes: Change) -> None:
            if not changes:
                return
            noted.extend(changes)
            self._unreported += len(changes)
            await self._announce(db, changes)

        try:
            yield note
        finally:
            self._unreported -= len(noted)
            for change in noted:
                self._changed(change)
