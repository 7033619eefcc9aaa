"""Threads: the public thread opened on a concept's card (Discuss), where Ask answers in
the thread, and the forum post of a map when a server posts its maps in a forum channel.
Discord holds the threads; this part remembers which is which.

Every /explore asks whether its server posts maps in a forum: the answer is held per
server (bounded), dropped when storage reports the setting changed (this process's
write, or another PostgreSQL process's NOTIFY), and held only while every change is
heard, so a card never goes where the server no longer wants it."""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable

from bot.storage import Change, Changed, Storage

FORUMS_HELD = 10_000  # servers whose forum setting is held (a few dozen bytes each)


class ThreadKind(enum.StrEnum):
    CONCEPT = "concept"  # a Discuss thread; target: the concept
    MAP = "map"  # a map's forum post; target: the map


class Discussions:
    def __init__(self, storage: Storage, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.clock = clock
        self._forums: OrderedDict[int, int | None] = OrderedDict()  # least recent first
        self._epoch = 0  # settings changes heard: a read that overlapped one is not kept
        self.unwatch = storage.watch(self._on_change)

    async def thread(self, kind: ThreadKind, target: int, channel_id: int) -> int | None:
        """The thread opened before for ``target`` in channel ``channel_id``, if any."""
        return await self.storage.find_thread(kind.value, target, channel_id)

    async def opened(
        self, scope: int, kind: ThreadKind, target: int, channel_id: int, thread_id: int
    ) -> None:
        await self.storage.save_thread(
            scope=scope,
            kind=kind.value,
            target=target,
            channel_id=channel_id,
            thread_id=thread_id,
            now=self.clock(),
        )

    async def concept_of(self, thread_id: int) -> int | None:
        """The concept a Discuss thread is about (None: not one of ours)."""
        found = await self.storage.thread_target(thread_id)
        return found[1] if found and found[0] == ThreadKind.CONCEPT else None

    async def forum(self, scope: int) -> int | None:
        """The forum channel where /explore posts maps, if the server chose one."""
        if scope in self._forums:
            self._forums.move_to_end(scope)
            return self._forums[scope]
        epoch = self._epoch
        found = await self.storage.forum_channel(scope)
        if epoch == self._epoch and self.storage.sees_every_change:
            self._forums[scope] = found
            while len(self._forums) > FORUMS_HELD:
                self._forums.popitem(last=False)
        return found

    def _on_change(self, change: Change) -> None:
        if change.what is Changed.SETTINGS:
            self._epoch += 1
            self._forums.pop(change.scope, None)
        elif change.what is Changed.EVERYTHING:
            self._epoch += 1
            self._forums.clear()

    async def set_forum(self, scope: int, channel_id: int | None) -> None:
        await self.storage.set_forum_channel(scope, channel_id)
