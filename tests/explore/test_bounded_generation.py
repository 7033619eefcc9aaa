"""Bounded generation: a cap on model calls at once, an orderly queue, limits that hold
under a burst (per-user cooldown, per-server budget counting generations under way), in one
process and across shard processes on one database."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.errors import GenerationError, LimitReached, StorageBusy
from bot.explore import RESERVED_TOKENS, Explorer
from bot.generator import Generated
from bot.maps import BundledMaps
from bot.models import MapDraft
from bot.runtime import open_generator
from bot.storage import open_storage
from tests.support import standin as s
from tests.support.fakes import FakeGenerator, write_map_file
from tests.support.faults import locked_by_another_process

USER = 7


@dataclass
class Turnstile(FakeGenerator):
    """A fake whose calls wait until the test lets them through; it tracks how many run."""

    running: int = 0
    most: int = 0
    order: list[str] = field(default_factory=list)  # topics, in the order their calls began
    release: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(0))

    async def generate_map(self, topic: str, language: str, **options: Any) -> Generated[MapDraft]:
        self.running += 1
        self.most = max(self.most, self.running)
        self.order.append(topic)
        try:
            await self.release.acquire()
            return await super().generate_map(topic, language, **options)
        finally:
            self.running -= 1


async def until(condition) -> None:
    """Let the other tasks run until ``condition()`` holds (at most 5 s)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (the conditions are plain counters)
            await asyncio.sleep(0.001)


@pytest.fixture
async def explorer_for(tmp_path: Path):
    """``await explorer_for(generator, **settings)``: an explorer on a fresh database."""
    maps = tmp_path / "maps"
    maps.mkdir()
    write_map_file(maps, "Tea")
    async with contextlib.AsyncExitStack() as stack:

        async def make(generator: FakeGenerator, **overrides) -> Explorer:
            settings = Settings(maps_dir=maps, database=tmp_path / "k.db", **overrides)
            storage = await stack.enter_async_context(open_storage(settings.database))
            return Explorer(storage, BundledMaps.load(maps), settings, generator)

        yield make


async def test_twenty_servers_five_topics_each_run_four_at_a_time_in_order(explorer_for):
    fake = Turnstile()
    explorer = await explorer_for(fake, max_concurrent_generations=4)
    asked = [(guild, f"Server {guild} topic {n}") for guild in range(1, 21) for n in range(5)]
    tasks = [
        asyncio.create_task(explorer.topics.generate_map(guild, 1000 + guild, topic))
        for guild, topic in asked
    ]
    await until(lambda: fake.running == 4 and explorer.budget.slots.waiting == 96)
    for released in range(1, 101):
        fake.release.release()
        started = min(100, released + 4)
        await until(lambda: len(fake.order) == started)  # noqa: B023 (awaited here)
        assert fake.running <= 4
    maps = await asyncio.gather(*tasks)

    assert fake.most == 4
    assert fake.order == [topic for _, topic in asked]  # first come, first served
    assert [m.topic for m in maps] == [topic for _, topic in asked]
    for stored in maps:
        assert await explorer.storage.find_map(stored.scope, stored.key) == stored


async def test_a_queued_member_is_told_and_one_who_gives_up_frees_the_place(explorer_for):
    fake = Turnstile()
    explorer = await explorer_for(fake, max_concurrent_generations=1)
    first = asyncio.create_task(explorer.topics.generate_map(1, 1, "First"))
    await until(lambda: fake.running == 1)

    told: list[str] = []

    async def tell(topic: str) -> None:
        told.append(topic)

    second = asyncio.create_task(
        explorer.topics.generate_map(2, 2, "Second", on_queued=lambda: tell("Second"))
    )
    quitter = asyncio.create_task(
        explorer.topics.generate_map(3, 3, "Quitter", on_queued=lambda: tell("Quitter"))
    )
    await until(lambda: explorer.budget.slots.waiting == 2 and len(told) == 2)
    assert told == ["Second", "Quitter"]

    quitter.cancel()
    await until(lambda: explorer.budget.slots.waiting == 1)
    fake.release.release()
    fake.release.release()
    await asyncio.gather(first, second)
    assert fake.order == ["First", "Second"]  # the quitter's call was never made
    assert await explorer.storage.find_map(3, "quitter") is None
    # Nothing is held: the next generation starts at once, and no reservation is left.
    fake.release.release()
    await explorer.topics.generate_map(4, 4, "Later")
    assert explorer.budget.slots.waiting == 0
    assert await explorer.storage.count_rows("reservations") == 0


async def test_a_generation_that_waits_too_long_for_a_slot_gives_up_clearly(
    explorer_for, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("bot.explore.flights.QUEUE_PATIENCE", 0.05)
    fake = Turnstile()
    explorer = await explorer_for(fake, max_concurrent_generations=1)
    first = asyncio.create_task(explorer.topics.generate_map(1, 1, "First"))
    await until(lambda: fake.running == 1)

    with pytest.raises(GenerationError, match="Too many maps are being generated"):
        await explorer.topics.generate_map(2, 2, "Second")
    assert explorer.budget.slots.waiting == 0
    fake.release.release()
    await first


async def test_fifty_simultaneous_new_topics_from_one_user_start_at_most_the_allowed(
    explorer_for,
):
    fake = Turnstile()
    explorer = await explorer_for(fake, cooldown_generations=5, max_concurrent_generations=4)
    tasks = [
        asyncio.create_task(explorer.topics.generate_map(1, USER, f"Topic {n}")) for n in range(50)
    ]
    await until(lambda: sum(t.done() for t in tasks) == 45)
    for _ in range(5):
        fake.release.release()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, LimitReached)]
    made = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(made) == 5 and len(refused) == 45
    assert len(fake.order) == 5
    assert "5 new generations" in str(refused[0])


async def test_the_budget_counts_generations_under_way(explorer_for):
    fake = Turnstile()
    explorer = await explorer_for(fake, daily_token_budget=2 * RESERVED_TOKENS)
    tasks = [
        asyncio.create_task(explorer.topics.generate_map(1, 100 + n, f"Topic {n}"))
        for n in range(5)
    ]
    await until(lambda: sum(t.done() for t in tasks) == 3)
    assert fake.order == ["Topic 0", "Topic 1"]  # two reservations fill the budget
    fake.release.release()
    fake.release.release()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [isinstance(o, LimitReached) for o in outcomes] == [False, False, True, True, True]

    # Settled with the real usage (150 tokens each): the budget has room again.
    assert (await explorer.storage.usage_since(1, 0)).tokens == 2 * fake.usage.total
    fake.release.release()
    await explorer.topics.generate_map(1, 200, "Another")


async def test_usage_the_database_refuses_keeps_its_reservation_until_it_is_written(
    explorer_for, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("bot.storage.sqlite.WRITE_PATIENCE", 0.2)
    fake = Turnstile()
    # Room for one reservation and one generation's real usage, not for both at once.
    budget = RESERVED_TOKENS + fake.usage.total
    explorer = await explorer_for(fake, cooldown_generations=1, daily_token_budget=budget)
    generating = asyncio.create_task(explorer.topics.generate_map(1, USER, "Topic"))
    await until(lambda: fake.running == 1)
    with locked_by_another_process(tmp_path / "k.db"):
        fake.release.release()
        with pytest.raises(StorageBusy):
            await generating  # neither its usage nor its map could be written

    # Its usage waits in memory, and its reservation still counts it, once.
    assert (await explorer.storage.usage_since(1, 0)).calls == 0
    assert await explorer.storage.count_rows("reservations") == 1
    with pytest.raises(LimitReached, match="1 new generations"):
        await explorer.topics.generate_map(1, USER, "Another")
    await explorer.topics.check_can_generate(
        1, USER + 1, "Another"
    )  # the budget is not counted twice

    await explorer.budget.flush_usage()
    assert (await explorer.storage.usage_since(1, 0)).tokens == fake.usage.total
    assert await explorer.storage.count_rows("reservations") == 0
    with pytest.raises(LimitReached, match="1 new generations"):
        await explorer.topics.generate_map(1, USER, "Another")  # counted by its usage now
    await explorer.topics.check_can_generate(1, USER + 1, "Another")


@pytest.fixture
async def two_shards(standin: s.StandIn, database: Path | str):
    """``await two_shards(**settings)``: two explorers on one database, each with its own
    storage connections and its own generator on the stand-in, as two shard processes."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**overrides) -> list[Explorer]:
            settings = standin.settings(database=database, **overrides)
            shards = []
            for _ in range(2):
                storage = await stack.enter_async_context(open_storage(database))
                generator, _ = await stack.enter_async_context(open_generator(settings))
                bundled = BundledMaps.load(settings.maps_dir)
                shards.append(Explorer(storage, bundled, settings, generator))
            return shards

        yield make


async def test_two_shards_starting_generations_at_once_share_the_cooldown_and_the_budget(
    standin: s.StandIn, two_shards
):
    # Each answer is held back, so every start below comes while the first are under way;
    # each costs a reservation's worth of tokens, so the budget holds once they end too.
    usage = {**s.DEFAULT_USAGE, "input_tokens": RESERVED_TOKENS}
    standin.always(s.Reply(content=s.valid_map(title="Shared"), usage=usage, delay=1.0))
    one, two = await two_shards(cooldown_generations=3)
    one_user = [
        shard.topics.generate_map(1000 + n, USER, f"Topic {n}")
        for n in range(10)
        for shard in (one, two)
    ]
    outcomes = await asyncio.gather(*one_user, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, LimitReached)]
    assert len(refused) == 17 and "3 new generations" in str(refused[0])
    assert len(standin.requests) == 3

    await one.preferences.update(1, budget=2 * RESERVED_TOKENS)
    one_server = [
        shard.topics.generate_map(1, 2000 + n, f"Topic {n}")
        for n in range(10)
        for shard in (one, two)
    ]
    outcomes = await asyncio.gather(*one_server, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, LimitReached)]
    assert len(refused) == 18 and "budget" in str(refused[0])
    assert len(standin.requests) == 3 + 2
    for shard in (one, two):
        assert await shard.storage.count_rows("reservations") == 0
