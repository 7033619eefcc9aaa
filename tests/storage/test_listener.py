"""After a PostgreSQL outage the bot listens again (issue 26).

Two pools on one database, as two processes have. The waiter's connection that
LISTENs is lost (its backend terminated, or the whole server restarted); once it
listens again, a result stored by the other process wakes the waiter by NOTIFY at
once, not by its poll, which these tests make too slow to pass for a wake-up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from bot.models import ChildState, Source
from bot.storage import Storage, base, open_storage
from tests.support.fakes import draft
from tests.support.postgres import PostgresServer, require

GUILD = 4242
SLOW_POLL = 30.0  # seconds: a waiter woken sooner was woken by NOTIFY
WOKEN_WITHIN = 3.0  # seconds from storing the result to the waiter having it
LISTEN_AGAIN_WITHIN = 20.0  # seconds (the bot tries every RELISTEN_PAUSE)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 (the change comes from elsewhere)
            await asyncio.sleep(0.05)


async def first_concept(storage: Storage) -> int:
    stored = await storage.create_map(
        scope=GUILD,
        key="cells",
        topic="Cells",
        language="en",
        overview="Cells are the units of life. Everything alive is made of them.",
        source=Source.GENERATED,
        model="claude-sonnet-4-6",
        concepts=[draft("Nucleus"), draft("Membrane"), draft("Division")],
        now=time.time(),
    )
    return (await storage.key_concepts(stored.id))[0].id


async def until_it_works(work: Callable[[], Awaitable[object]]) -> None:
    """A pooled connection the outage cut fails once; the pool connects again."""
    async with asyncio.timeout(LISTEN_AGAIN_WITHIN):
        while True:
            try:
                await work()
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(0.1)


async def woken_by_the_other_process(waiter: Storage, winner: Storage) -> None:
    """The winner stores a result the waiter waits for: the waiter has it at once."""
    concept_id = await first_concept(winner)
    assert await winner.claim_expansion(concept_id, now=time.time(), lease=60)
    waiting = asyncio.create_task(waiter.wait_for_expansion(concept_id, SLOW_POLL * 2))
    await asyncio.sleep(0.3)  # its first read is done; it waits for a wake-up
    assert not waiting.done()
    started = time.perf_counter()
    await winner.store_expansion(concept_id, [draft("Chromatin")], leaf=False)
    settled = await asyncio.wait_for(waiting, WOKEN_WITHIN)
    assert time.perf_counter() - started < WOKEN_WITHIN
    assert settled is not None and settled.state is ChildState.EXPANDED


async def test_a_listener_whose_connection_was_killed_listens_again(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(base, "EXPANSION_POLL", SLOW_POLL)
    async with open_storage(postgres_url) as waiter, open_storage(postgres_url) as winner:
        listener = waiter._listener  # type: ignore[attr-defined]
        assert listener is not None and waiter.sees_every_change
        killer = await asyncpg.connect(postgres_url)
        try:
            await killer.execute("SELECT pg_terminate_backend($1)", listener.get_server_pid())
        finally:
            await killer.close()

        async def lost() -> bool:
            return not waiter.sees_every_change

        async def listening() -> bool:
            return waiter.sees_every_change

        await eventually(lost, 5)
        await eventually(listening, LISTEN_AGAIN_WITHIN)
        await woken_by_the_other_process(waiter, winner)


async def test_after_a_server_restart_the_bot_listens_again(
    postgres_server: PostgresServer | str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    server = require(postgres_server)
    monkeypatch.setattr(base, "EXPANSION_POLL", SLOW_POLL)
    async with open_storage(postgres_url) as waiter, open_storage(postgres_url) as winner:
        assert waiter.sees_every_change
        log = str(server.folder / "log")  # the server's output, not pg_ctl's pipes
        restarted = await asyncio.to_thread(server.pg_ctl, "-m", "fast", "-w", "-l", log, "restart")
        assert restarted.returncode == 0, restarted.stderr

        async def listening() -> bool:
            return waiter.sees_every_change

        await eventually(listening, LISTEN_AGAIN_WITHIN)
        # Each pool's connections were cut too: the next use connects again.
        await until_it_works(lambda: waiter.get_meta("schema"))
        await until_it_works(lambda: winner.get_meta("schema"))
        await woken_by_the_other_process(waiter, winner)
