"""The forum a server posts its maps in, asked by every /explore: held by the process
(read from storage once), exact after this process's change and, on PostgreSQL, after
another process's (its NOTIFY), and not held while changes may be missed."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from bot.explore.discussions import Discussions
from bot.storage import Storage, open_storage

GUILD, OTHER = 424242424242424242, 434343434343434343
FORUM, ANOTHER_FORUM = 515151515151515151, 525252525252525252


def counted_reads(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    real = storage.forum_channel

    async def forum_channel(scope: int) -> Any:
        reads.append(scope)
        return await real(scope)

    monkeypatch.setattr(storage, "forum_channel", forum_channel)
    return reads


async def eventually(check: Any) -> None:
    async with asyncio.timeout(10):
        while not await check():  # noqa: ASYNC110 (the change comes from another process)
            await asyncio.sleep(0.02)


async def test_the_setting_is_read_once_and_exact_after_a_change(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
):
    discussions = Discussions(storage, lambda: 0.0)
    reads = counted_reads(storage, monkeypatch)

    assert [await discussions.forum(GUILD) for _ in range(3)] == [None] * 3
    assert await discussions.forum(OTHER) is None
    assert reads == [GUILD, OTHER]  # each server's once

    await discussions.set_forum(GUILD, FORUM)
    assert await discussions.forum(GUILD) == FORUM
    await storage.set_forum_channel(GUILD, None)  # storage's own use case: reported as well
    assert await discussions.forum(GUILD) is None
    assert await discussions.forum(OTHER) is None
    assert reads == [GUILD, OTHER, GUILD, GUILD]


async def test_a_read_that_overlapped_a_change_is_not_held(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
):
    discussions = Discussions(storage, lambda: 0.0)
    real = storage.forum_channel
    gate = asyncio.Event()

    async def slow(scope: int) -> Any:
        found = await real(scope)  # read before the change below
        await gate.wait()
        return found

    monkeypatch.setattr(storage, "forum_channel", slow)
    reading = asyncio.ensure_future(discussions.forum(GUILD))
    await asyncio.sleep(0.05)
    monkeypatch.setattr(storage, "forum_channel", real)
    await storage.set_forum_channel(GUILD, FORUM)
    gate.set()
    assert await reading is None  # what it read, older than the change
    assert await discussions.forum(GUILD) == FORUM  # and not held: read again


async def test_another_processs_change_reaches_this_one(postgres_url: str):
    async with open_storage(postgres_url) as here, open_storage(postgres_url) as there:
        ours = Discussions(here, lambda: 0.0)
        assert await ours.forum(GUILD) is None  # held now

        await Discussions(there, lambda: 0.0).set_forum(GUILD, FORUM)

        async def moved() -> bool:
            return await ours.forum(GUILD) == FORUM

        await eventually(moved)


async def test_nothing_is_held_while_the_listener_is_lost(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    async with open_storage(postgres_url) as here, open_storage(postgres_url) as there:
        ours = Discussions(here, lambda: 0.0)
        assert await ours.forum(GUILD) is None  # held now
        # The connection listening here dies, and listening again fails until the test lets it.
        listener = here._listener
        assert listener is not None
        listen, cut = here._listen, True

        async def listen_unless_cut() -> None:
            if cut:
                raise OSError("the network is still cut")
            await listen()

        monkeypatch.setattr(here, "_listen", listen_unless_cut)
        killer = await asyncpg.connect(postgres_url)
        try:
            await killer.execute("SELECT pg_terminate_backend($1)", listener.get_server_pid())
        finally:
            await killer.close()

        async def lost() -> bool:
            return not here.sees_every_change

        await eventually(lost)
        # Changed there meanwhile: no notice can come, and nothing stale is answered here.
        await there.set_forum_channel(GUILD, FORUM)
        assert await ours.forum(GUILD) == FORUM
        await there.set_forum_channel(GUILD, ANOTHER_FORUM)
        assert await ours.forum(GUILD) == ANOTHER_FORUM

        cut = False

        async def listening() -> bool:
            return here.sees_every_change

        await eventually(listening)
        assert await ours.forum(GUILD) == ANOTHER_FORUM
