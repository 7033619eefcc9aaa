"""A PostgreSQL write whose caller is cancelled while it commits: the commit ends first,
then the cancellation goes on as a cancellation (a background loop that catches errors,
as upkeep's, must see it to stop), and the connection goes back to the pool whole."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.storage import open_storage

GUILD, FORUM = 1001, 515151515151515151


async def test_a_write_cancelled_while_it_commits_ends_cancelled_and_committed(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    async with open_storage(postgres_url, pool_size=1) as storage:
        real_commit = asyncpg.transaction.Transaction.commit
        committing = asyncio.Event()

        async def slow_commit(self: asyncpg.transaction.Transaction) -> None:
            committing.set()
            await asyncio.sleep(0.3)  # a commit the server is slow to answer
            await real_commit(self)

        monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", slow_commit)
        write = asyncio.ensure_future(storage.set_forum_channel(GUILD, FORUM))
        await committing.wait()
        write.cancel()
        with pytest.raises(asyncio.CancelledError):
            await write
        monkeypatch.undo()

        # Committed, and the pool's one connection serves the next reads.
        assert await storage.forum_channel(GUILD) == FORUM
        async with storage.transaction() as db:
            assert await db.fetchone("SELECT 1") is not None
