"""Generation wired into the explore core: single flight, leases, limits, usage, refusals.

The Anthropic path uses the real SDK against the local stand-in Messages API;
the limit tests use the fake generator and a clock the test moves.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.errors import GenerationError, LimitReached, NotFound, Refused, UnknownTopic
from bot.explore import RESERVED_TOKENS, Explorer
from bot.generator import AnthropicGenerator
from bot.maps import BundledMaps
from bot.models import ChildState
from bot.prompts import load_prompts
from bot.storage import open_storage
from tests.support import standin as s
from tests.support.fakes import Clock, FakeGenerator, draft, write_map_file

GUILD, OTHER_GUILD, USER = 10, 20, 7


@pytest.fixture
def maps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "maps"
    folder.mkdir()
    write_map_file(folder, "Tea", titles=("Green", "Black", "Oolong", "White"))
    return folder


@pytest.fixture
async def real(standin, maps_dir: Path, database: Path | str):
    settings = standin.settings(maps_dir=maps_dir, database=database)
    generator = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
    async with open_storage(settings.database) as storage:
        yield Explorer(storage, BundledMaps.load(maps_dir), settings, generator)
    await generator.aclose()


async def green(explorer: Explorer, scope: int = GUILD) -> int:
    tea = await explorer.topics.lookup(scope, "tea")
    return (await explorer.storage.key_concepts(tea.id))[0].id


async def test_fifty_concurrent_opens_make_one_call_and_all_get_the_result(standin, real):
    concept = await green(real)
    standin.script(s.Reply(content=s.valid_expansion(4), delay=0.3))

    waiters = [
        asyncio.create_task(real.concepts.expand(GUILD, USER + n, concept)) for n in range(50)
    ]
    await asyncio.sleep(0.1)
    waiters[0].cancel()  # the first to ask gives up: the call goes on for the others
    results = await asyncio.gather(*waiters[1:])

    assert len(standin.requests) == 1
    assert all(
        [c.title for c in r.children] == [f"Sub-concept {n}" for n in range(1, 5)] for r in results
    )
    assert waiters[0].cancelled()
    stored = await real.storage.get_concept(concept)
    assert stored.state is ChildState.EXPANDED
    usage = await real.storage.usage_since(GUILD, 0)
    assert usage.calls == 1


async def test_a_failure_reaches_every_waiter_and_the_next_click_tries_again(standin, real):
    concept = await green(real)
    standin.script(s.Reply(content="not json at all", delay=0.2), s.answer("still not json"))
    waiters = [real.concepts.expand(GUILD, USER, concept) for _ in range(5)]
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(o, GenerationError) for o in outcomes)
    assert len({str(o) for o in outcomes}) == 1
    assert (await real.storage.get_concept(concept)).state is ChildState.UNEXPANDED

    view = await real.concepts.expand(GUILD, USER, concept)  # the stand-in answers validly now
    assert len(view.children) == 3
    assert len(standin.requests) == 3


async def test_a_new_topic_is_generated_once_and_stored_with_its_model(standin, real):
    await real.topics.check_can_generate(GUILD, USER, "Volcanoes")
    first, second = await asyncio.gather(
        real.topics.generate_map(GUILD, USER, "Volcanoes"),
        real.topics.generate_map(GUILD, USER + 1, "volcanoes"),
    )
    assert first.id == second.id and len(standin.requests) == 1
    assert first.source == "generated" and first.model == "claude-sonnet-4-6"
    assert "Volcanoes" in standin.requests[0].prompt
    assert (await real.topics.lookup(GUILD, "VOLCANOES")).id == first.id
    assert await real.topics.lookup(OTHER_GUILD, "volcanoes") is None


async def test_expansion_prompt_carries_the_path_and_the_siblings(standin, real):
    concept = await green(real)
    await real.concepts.expand(GUILD, USER, concept)
    prompt = standin.requests[0].prompt
    assert "Tea" in prompt and "Green" in prompt
    assert all(title in prompt for title in ("Black", "Oolong", "White"))


async def test_refusal_is_polite_and_remembered_for_an_hour(standin, real):
    standin.script(s.refusal())
    with pytest.raises(Refused):
        await real.topics.generate_map(GUILD, USER, "Something")
    with pytest.raises(LimitReached) as remembered:
        await real.topics.check_can_generate(GUILD, USER, "something")
    assert len(standin.requests) == 1
    assert remembered.value.retry_at > datetime.now(UTC)


async def test_usage_records_every_call_with_cache_tokens(standin, real):
    concept = await green(real)
    standin.script(
        s.answer({"kind": "subconcepts", "concepts": []}, cache_read_input_tokens=30),
        s.answer(s.valid_expansion(3), cache_creation_input_tokens=40),
    )
    await real.concepts.expand(GUILD, USER, concept)  # invalid, then repaired
    usage = await real.storage.usage_since(GUILD, 0)
    assert usage.calls == 2
    assert (
        usage.tokens
        == 2 * (s.DEFAULT_USAGE["input_tokens"] + s.DEFAULT_USAGE["output_tokens"]) + 70
    )


async def test_a_concept_another_process_is_mapping_is_waited_for_not_generated_again(
    standin, real
):
    concept = await green(real)
    # Another process holds the lease and stores its result a moment later.
    assert await real.storage.claim_expansion(concept, now=real.clock(), lease=60)
    waiting = asyncio.create_task(real.concepts.expand(GUILD, USER, concept))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await real.storage.store_expansion(concept, [draft("From"), draft("Elsewhere")], leaf=False)
    view = await asyncio.wait_for(waiting, timeout=2)
    assert [c.title for c in view.children] == ["From", "Elsewhere"]
    assert standin.requests == []


async def test_a_failure_in_another_process_reaches_its_waiters(standin, real):
    concept = await green(real)
    assert await real.storage.claim_expansion(concept, now=real.clock(), lease=60)
    waiting = asyncio.create_task(real.concepts.expand(GUILD, USER, concept))
    await asyncio.sleep(0.2)
    await real.storage.release_expansion(concept, "Claude is overloaded; try again soon.")
    with pytest.raises(GenerationError, match="overloaded"):
        await asyncio.wait_for(waiting, timeout=2)
    assert standin.requests == []


async def test_an_expired_lease_frees_a_concept_a_dead_process_was_mapping(standin, real):
    concept = await green(real)
    # Another process claimed it a while ago, then died with it pending.
    assert await real.storage.claim_expansion(concept, now=real.clock() - 61, lease=60)
    view = await real.concepts.expand(GUILD, USER, concept)
    assert len(view.children) == 3
    assert len(standin.requests) == 1


# -- limits, with the fake generator and a clock the test moves ---------------


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 12, tzinfo=UTC).timestamp())


@pytest.fixture
async def limited(maps_dir: Path, database: Path | str, clock: Clock):
    settings = Settings(
        maps_dir=maps_dir,
        database=database,
        cooldown_generations=5,
        cooldown_seconds=600,
        daily_token_budget=1000,
        max_concurrent_generations=5,  # the five of the cooldown can run at once
    )
    async with open_storage(settings.database) as storage:
        explorer = Explorer(
            storage, BundledMaps.load(maps_dir), settings, FakeGenerator(), clock=clock
        )
        yield explorer
        await explorer.aclose()


async def test_cooldown_allows_five_new_generations_in_ten_minutes(limited, clock: Clock):
    start = clock.now
    for n in range(5):
        await limited.topics.generate_map(GUILD, USER, f"Topic {n}")
        clock.now += 60
    with pytest.raises(LimitReached) as refused:
        await limited.topics.generate_map(GUILD, USER, "Topic 5")
    assert refused.value.retry_at.timestamp() == start + 600
    await limited.topics.generate_map(GUILD, USER + 1, "Topic 5")  # others are not held back
    clock.now = start + 600
    await limited.topics.generate_map(GUILD, USER, "Topic 6")


async def test_cooldown_and_budget_hold_across_processes(limited, maps_dir: Path, clock: Clock):
    """A second process (its own pool on the same PostgreSQL) sees the first one's
    generations: the user's cooldown and the server's budget are in the store."""
    if not isinstance(limited.settings.database, SecretStr):
        pytest.skip("several processes share a store only on PostgreSQL")
    for n in range(5):
        await limited.topics.generate_map(OTHER_GUILD, USER, f"Topic {n}")
    fake: FakeGenerator = limited.generator
    fake.usage = fake.usage.model_copy(update={"input_tokens": 600, "output_tokens": 0})
    await limited.topics.generate_map(GUILD, USER + 1, "One")
    await limited.topics.generate_map(GUILD, USER + 1, "Two")  # 1200 of the server's 1000 tokens
    async with open_storage(limited.settings.database) as other_pool:
        other = Explorer(
            other_pool, BundledMaps.load(maps_dir), limited.settings, FakeGenerator(), clock=clock
        )
        with pytest.raises(LimitReached, match="5 new generations"):
            await other.topics.generate_map(OTHER_GUILD, USER, "Topic 5")
        with pytest.raises(LimitReached, match="budget"):
            await other.topics.generate_map(GUILD, USER + 2, "Three")


async def test_daily_budget_stops_new_generations_until_midnight(limited, clock: Clock):
    fake: FakeGenerator = limited.generator
    fake.usage = fake.usage.model_copy(update={"input_tokens": 600, "output_tokens": 0})
    await limited.topics.generate_map(GUILD, USER, "One")
    await limited.topics.generate_map(GUILD, USER + 1, "Two")  # 1,200 tokens: now over 1,000
    with pytest.raises(LimitReached) as refused:
        await limited.topics.generate_map(GUILD, USER + 2, "Three")
    assert refused.value.retry_at == datetime(2026, 11, 27, tzinfo=UTC)
    assert "budget" in str(refused.value)
    # Stored content is never limited, and other servers have their own budget.
    assert (await limited.topics.lookup(GUILD, "one")) is not None
    assert (await limited.topics.lookup(GUILD, "tea")) is not None
    await limited.topics.generate_map(OTHER_GUILD, USER + 2, "Three")
    clock.now = datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC).timestamp()
    await limited.topics.generate_map(GUILD, USER + 2, "Three")


async def test_a_servers_own_budget_overrides_the_default(limited, clock: Clock):
    await limited.preferences.update(GUILD, budget=0)
    with pytest.raises(LimitReached):
        await limited.topics.generate_map(GUILD, USER, "Anything")
    assert limited.generator.call_count == 0


async def test_a_concept_id_from_another_scope_is_not_found_and_not_counted(limited):
    concept = await green(limited, GUILD)
    with pytest.raises(NotFound, match="another server"):
        await limited.concepts.open(concept, OTHER_GUILD)
    assert (await limited.topics.lookup(GUILD, "tea")).opened == 0
    view = await limited.concepts.open(concept, GUILD)
    assert view.map.opened == 1


async def test_generations_under_way_count_toward_the_cooldown(limited, clock: Clock):
    fake: FakeGenerator = limited.generator
    fake.gate = asyncio.Event()
    # Generations under way reserve tokens too: a budget for five of them at once.
    await limited.preferences.update(GUILD, budget=5 * RESERVED_TOKENS + 1)
    running = [
        asyncio.create_task(limited.topics.generate_map(GUILD, USER, f"T{n}")) for n in range(5)
    ]
    # All five under way (each reads the store first): generating, or queued for a slot.
    async with asyncio.timeout(5):
        while fake.call_count + limited.budget.slots.waiting < 5:  # noqa: ASYNC110 (no event for it)
            await asyncio.sleep(0.01)
    with pytest.raises(LimitReached) as refused:
        async with asyncio.timeout(5):  # without the limit it would wait on the gate
            await limited.topics.generate_map(GUILD, USER, "One more")
    assert refused.value.retry_at.timestamp() == clock.now + 600
    fake.gate.set()
    await asyncio.gather(*running)
    assert fake.call_count == 5


async def test_a_map_id_from_another_scope_is_not_found(limited):
    tea = await limited.topics.lookup(GUILD, "tea")
    with pytest.raises(NotFound, match="another server"):
        await limited.concepts.map_view(tea.id, OTHER_GUILD)
    session = limited.sessions.start(
        message_id=1, owner_id=USER, scope=OTHER_GUILD, map_id=tea.id, concept_id=None
    )
    with pytest.raises(NotFound, match="another server"):
        await limited.sessions.view_of(session)
    assert (await limited.concepts.map_view(tea.id, GUILD)).map.topic == "Tea"


async def test_the_canonical_title_names_the_map(standin, real):
    standin.script(s.answer(s.valid_map(title="Interest Rates")))

    created = await real.topics.generate_map(GUILD, USER, "intrest rats")

    assert created.topic == "Interest Rates"
    assert (await real.topics.lookup(GUILD, "intrest rats")).id == created.id


async def test_a_misspelt_topic_is_stored_under_its_canonical_title_and_found_both_ways(
    standin, real
):
    standin.script(s.answer(s.valid_map(title="Quantum Physics")))

    created = await real.topics.generate_map(GUILD, USER, "quantm physiks")

    assert (created.topic, created.key) == ("Quantum Physics", "quantum physics")
    assert (await real.topics.lookup(GUILD, "Quantum Physics")).id == created.id  # no second map
    assert (await real.topics.lookup(GUILD, "quantm  PHYSIKS")).id == created.id  # the alias
    assert await real.topics.lookup(OTHER_GUILD, "quantm physiks") is None  # aliases stay in scope
    assert len(standin.requests) == 1


async def test_an_unknown_topic_stores_nothing(standin, real):
    standin.script(s.answer(s.unknown()))

    with pytest.raises(UnknownTopic, match="nothing was saved"):
        await real.topics.generate_map(GUILD, USER, "zorblax quintessence")

    assert await real.topics.lookup(GUILD, "zorblax quintessence") is None
    assert (await real.storage.usage_since(GUILD, 0)).calls == 1  # still paid for


async def test_a_declined_topic_is_remembered_like_a_refusal(standin, real):
    standin.script(s.answer(s.declined()))
    with pytest.raises(Refused):
        await real.topics.generate_map(GUILD, USER, "Something harmful")
    with pytest.raises(LimitReached):
        await real.topics.check_can_generate(GUILD, USER, "something harmful")
    assert await real.topics.lookup(GUILD, "something harmful") is None
