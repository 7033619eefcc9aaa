"""Threads: the public thread opened on a concept's card (Discuss), where Ask answers in
the thread, and the forum post of a map when a server posts its maps in a forum channel.
Discord holds the threads; this part remembers which is which."""

from __future__ import annotations

import enum
from collections.abc import Callable

from bot.storage import Storage


class ThreadKind(enum.StrEnum):
    CONCEPT = "concept"  # a Discuss thread; target: the concept
    MAP = "map"  # a map's forum post; target: the map


class Discussions:
    def __init__(self, storage: Storage, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.clock = clock

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
        return await self.storage.forum_channel(scope)

    async def set_forum(self, scope: int, channel_id: int | None) -> None:
        await self.storage.set_forum_channel(scope, channel_id)
