"""The cards' cache (``KnownMaps``): a known card reads nothing, and shows what storage
holds after every change: this process's, another process's on PostgreSQL (two
Explorers on two pools and two listeners, as two bot processes), a forget, a lost
listener; and it stays within its bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.config import Settings
from bot.errors import NotFound
from bot.explore import Explorer
from bot.explore.cache import KnownMaps
from bot.maps import BundledMaps
from bot.models import Concept, ConceptMap, Session, Source
from bot.storage import Change, Changed, Storage, open_storage
from tests.support.fakes import FakeGenerator, draft

GUILD = 424242424242424242
ALICE, BOB = 111111111111111111, 222222222222222222
TITLES = ["Spring Tides", "Neap Tides", "Tidal Range"]
# Storage's reads of maps and concepts: what a card would cost without the cache.
READS = (
    "get_map",
    "find_map",
    "key_concepts",
    "children",
    "path",
    "get_concept",
    "alias_of",
    "meanings",
)
NOTICE_WAIT = 10.0  # seconds another process's NOTIFY may take to arrive (it takes ms)


class Reads:
    """Counts the storage reads of maps and concepts made through ``storage``."""

    def __init__(self, storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        for name in READS:
            monkeypatch.setattr(storage, name, self._counting(name, getattr(storage, name)))

    def _counting(self, name: str, read: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await read(*args, **kwargs)

        return counted


@pytest.fixture
def bundled(tmp_path: Path) -> BundledMaps:
    folder = tmp_path / "maps"
    folder.mkdir()
    return BundledMaps.load(folder)


def explorer_on(storage: Storage, bundled: BundledMaps) -> Explorer:
    return Explorer(storage, bundled, Settings(), FakeGenerator())


async def store_map(storage: Storage, topic: str = "Tides") -> ConceptMap:
    return await storage.create_map(
        scope=GUILD,
        key=topic.casefold(),
        topic=topic,
        language="en",
        overview=f"{topic} rise and fall. The Moon drives them.",
        source=Source.GENERATED,
        model="claude-sonnet-4-6",
        concepts=[draft(title) for title in TITLES],
        now=time.time(),
    )


async def card_counts(explorer: Explorer, topic: str = "Tides") -> tuple[int, int, list[bool]]:
    """What the map card of ``topic`` shows: "N of M concepts explored", and which key
    concepts are marked explored; read the way /explore reads it."""
    found = await explorer.topics.lookup(GUILD, topic)
    assert found is not None
    view = await explorer.concepts.view_of_map(found)
    return view.map.opened, view.map.total, [c.opened for c in view.concepts]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = NOTICE_WAIT) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 (the change comes from another process)
            await asyncio.sleep(0.02)


async def store_map_heard_back(storage: Storage) -> ConceptMap:
    """``store_map`` on PostgreSQL, once the process's listener heard its own NOTIFY of it
    back: a read overlapping that notice is not kept, which a test of what is held
    would otherwise see at random on a loaded machine."""
    heard: list[Change] = []
    unwatch = storage.watch(heard.append)
    stored = await store_map(storage)

    async def echoed() -> bool:  # heard at the commit, then from the listener
        return sum(change.what is Changed.MAP for change in heard) >= 2

    await eventually(echoed)
    unwatch()
    return stored


async def test_a_known_card_reads_nothing(storage, bundled, monkeypatch) -> None:
    stored = await store_map(storage)
    explorer = explorer_on(storage, bundled)
    reads = Reads(storage, monkeypatch)
    first = (await explorer.concepts.view_of_map(stored)).concepts[0]

    async def cards() -> None:
        assert await card_counts(explorer) == (0, 3, [False] * 3)
        view = await explorer.concepts.concept_view(first.id, GUILD)
        assert [c.title for c in view.path] == [TITLES[0]]
        assert await explorer.concepts.get(first.id) == first

    await cards()
    assert reads.calls, "the first cards are read from storage"
    reads.calls.clear()
    await cards()
    await explorer.concepts.opening(first.id, GUILD)
    await explorer.concepts.map_view(stored.id, GUILD)
    assert reads.calls == []


async def test_counts_and_sub_concepts_are_exact_after_this_process_writes(
    storage, bundled
) -> None:
    stored = await store_map(storage)
    explorer = explorer_on(storage, bundled)
    first, second, _ = (await explorer.concepts.view_of_map(stored)).concepts
    assert await card_counts(explorer) == (0, 3, [False, False, False])

    await explorer.concepts.open(second.id)
    assert await card_counts(explorer) == (1, 3, [False, True, False])
    await explorer.concepts.open(second.id)  # not a first open: the count stays
    assert await card_counts(explorer) == (1, 3, [False, True, False])

    view = await explorer.concepts.concept_view(first.id)
    assert view.children == [] and view.needs_expansion
    expanded = await explorer.concepts.expand(GUILD, 1, first.id)
    titles = [c.title for c in expanded.children]
    assert len(titles) == 3
    assert [c.title for c in (await explorer.concepts.concept_view(first.id)).children] == titles
    assert await card_counts(explorer) == (1, 6, [False, True, False])


async def test_the_count_of_explorers_is_exact_after_a_members_first_open(storage, bundled) -> None:
    stored = await store_map(storage)
    explorer = explorer_on(storage, bundled)
    first, second, _ = (await explorer.concepts.view_of_map(stored)).concepts
    assert (await explorer.concepts.map_view(stored.id)).map.explorers == 0

    async def opens(member: int, concept: Concept) -> tuple[int, int]:
        session = Session(
            message_id=member + concept.id,
            owner_id=member,
            scope=GUILD,
            map_id=stored.id,
            concept_id=concept.id,
        )
        explorer.sessions.record(session, opened=concept.id)
        await explorer.sessions.flush()  # the explorers are counted by the write
        shown = (await explorer.concepts.map_view(stored.id)).map
        return shown.opened, shown.explorers

    assert await opens(ALICE, first) == (1, 1)
    assert await opens(ALICE, second) == (2, 1)
    assert await opens(BOB, second) == (2, 2)  # no first open: only the explorers change


async def test_a_forgotten_map_is_gone_from_every_card(storage, bundled) -> None:
    stored = await store_map(storage)
    explorer = explorer_on(storage, bundled)
    first = (await explorer.concepts.view_of_map(stored)).concepts[0]
    await explorer.concepts.concept_view(first.id, GUILD)

    # As upkeep forgets, without its purge in the background: the test purges below.
    assert await storage.forget_map(GUILD, "tides")
    assert await explorer.topics.lookup(GUILD, "Tides") is None
    with pytest.raises(NotFound, match="forgotten"):
        await explorer.concepts.map_view(stored.id, GUILD)
    with pytest.raises(NotFound, match="forgotten"):
        await explorer.concepts.concept_view(first.id, GUILD)
    await storage.purge_forgotten()
    with pytest.raises(NotFound, match="concept no longer exists"):
        await explorer.concepts.concept_view(first.id, GUILD)
    with pytest.raises(NotFound, match="map no longer exists"):
        await explorer.concepts.map_view(stored.id, GUILD)
    # The topic mapped again is a new map, found as such.
    again = await store_map(storage)
    assert (await explorer.topics.lookup(GUILD, "Tides")) == again


async def test_a_key_held_never_finds_a_map_read_since_as_forgotten(tmp_path, bundled) -> None:
    """Another process forgot the map and its notice is still on its way (here: a second
    connection to the file, whose writes this cache never hears of); the map's row was
    read again meanwhile. The topic no longer finds it, as storage would say."""
    path = tmp_path / "kinapse.db"
    async with open_storage(path) as storage, open_storage(path) as elsewhere:
        stored = await store_map(storage)
        explorer = explorer_on(storage, bundled)
        first = (await explorer.concepts.view_of_map(stored)).concepts[0]
        assert await explorer.topics.lookup(GUILD, "Tides") == stored  # its key is held
        await explorer.concepts.open(first.id)  # the map's row is dropped, its key stays
        assert await elsewhere.forget_map(GUILD, "tides")
        with pytest.raises(NotFound, match="forgotten"):
            await explorer.concepts.map_view(stored.id, GUILD)
        assert await explorer.topics.lookup(GUILD, "Tides") is None


async def test_the_cache_stays_within_its_bound(storage) -> None:
    known = KnownMaps(storage, maps=3, concepts=7)
    stored = [await store_map(storage, f"Topic {n}") for n in range(10)]
    for concept_map in stored:
        assert await known.find(GUILD, concept_map.key) == concept_map
        assert [c.title for c in await known.key_concepts(concept_map.id)] == TITLES
        assert known.maps_held <= 3 and len(known) <= 7
    # What was let go is read again, the same.
    assert await known.find(GUILD, stored[0].key) == stored[0]
    assert [c.title for c in await known.key_concepts(stored[0].id)] == TITLES


async def test_an_open_counted_ahead_of_its_write_is_counted_once(storage, bundled) -> None:
    stored = await store_map(storage)
    explorer = explorer_on(storage, bundled)
    first = (await explorer.concepts.view_of_map(stored)).concepts[0]
    await explorer.concepts.opening(first.id, GUILD)

    explorer.concepts.counted(first.id)  # answered; the write is behind
    assert await card_counts(explorer) == (1, 3, [True, False, False])
    await storage.save_click(None, first.id, now=time.time())
    assert await card_counts(explorer) == (1, 3, [True, False, False])
    explorer.concepts.written([first.id])
    assert await card_counts(explorer) == (1, 3, [True, False, False])

    # A write that never lands leaves no count behind once it is given up.
    second = (await explorer.concepts.view_of_map(stored)).concepts[1]
    await explorer.concepts.opening(second.id, GUILD)
    explorer.concepts.counted(second.id)
    assert await card_counts(explorer) == (2, 3, [True, True, False])
    explorer.concepts.written([second.id])
    assert await card_counts(explorer) == (1, 3, [True, False, False])


async def test_a_read_that_overlaps_a_write_is_not_kept(storage, bundled, monkeypatch) -> None:
    stored = await store_map(storage)
    explorer = explorer_on(storage, bundled)
    first = (await explorer.concepts.view_of_map(stored)).concepts[0]
    read_map, reading, go_on = storage.get_map, asyncio.Event(), asyncio.Event()

    async def slow_get_map(map_id: int) -> ConceptMap | None:
        found = await read_map(map_id)  # read before the write below
        reading.set()
        await go_on.wait()
        return found

    monkeypatch.setattr(storage, "get_map", slow_get_map)
    explorer.known.outdated(first)  # the map's row is read again
    early = asyncio.create_task(explorer.concepts.map_view(stored.id))
    await reading.wait()
    await storage.save_click(None, first.id, now=time.time())
    go_on.set()
    assert (await early).map.opened == 0  # read before the open: fine for that card
    monkeypatch.setattr(storage, "get_map", read_map)
    assert (await explorer.concepts.map_view(stored.id)).map.opened == 1


# -- two processes on one PostgreSQL ---------------------------------------------


async def test_cards_follow_another_process_on_postgresql(
    postgres_url: str, bundled: BundledMaps, monkeypatch
) -> None:
    async with open_storage(postgres_url) as here, open_storage(postgres_url) as there:
        stored = await store_map_heard_back(here)
        ours, theirs = explorer_on(here, bundled), explorer_on(there, bundled)
        first, second, _ = (await ours.concepts.view_of_map(stored)).concepts
        await ours.concepts.concept_view(first.id, GUILD)
        reads = Reads(here, monkeypatch)
        assert await card_counts(ours) == (0, 3, [False] * 3)
        assert reads.calls == [], "held, not read again"

        # A first open there: the count and the mark here.
        await theirs.concepts.open(second.id)

        async def counted() -> bool:
            return await card_counts(ours) == (1, 3, [False, True, False])

        await eventually(counted)

        # Sub-concepts stored there: on the concept's card here, and in the total.
        await theirs.concepts.expand(GUILD, 1, first.id)

        async def expanded() -> bool:
            view = await ours.concepts.concept_view(first.id, GUILD)
            return len(view.children) == 3 and not view.needs_expansion

        await eventually(expanded)
        assert await card_counts(ours) == (1, 6, [False, True, False])

        # Forgotten there: gone here.
        assert await theirs.upkeep.forget(GUILD, "tides")

        async def forgotten() -> bool:
            try:
                await ours.concepts.map_view(stored.id, GUILD)
            except NotFound:  # forgotten, or already purged by its upkeep there
                return True
            return False

        await eventually(forgotten)
        assert await ours.topics.lookup(GUILD, "Tides") is None


async def test_a_lost_listener_holds_nothing_until_it_listens_again(
    postgres_url: str, bundled: BundledMaps, monkeypatch
) -> None:
    async with open_storage(postgres_url) as here, open_storage(postgres_url) as there:
        stored = await store_map_heard_back(here)
        ours, theirs = explorer_on(here, bundled), explorer_on(there, bundled)
        _, second, third = (await ours.concepts.view_of_map(stored)).concepts
        assert ours.known.maps_held == 1

        # The connection listening here dies (a restarted server, a network cut), and
        # listening again fails until the test lets it.
        listener = here._listener  # the one connection LISTENing for this process
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
        assert ours.known.maps_held == 0
        # Nothing is held while changes may be missed: a change there shows here at once.
        await card_counts(ours)
        assert ours.known.maps_held == 0
        await theirs.concepts.open(second.id)
        assert await card_counts(ours) == (1, 3, [False, True, False])

        cut = False

        async def listening() -> bool:
            return here.sees_every_change

        await eventually(listening)
        assert await card_counts(ours) == (1, 3, [False, True, False])
        assert ours.known.maps_held == 1
        await theirs.concepts.open(third.id)

        async def counted() -> bool:
            return await card_counts(ours) == (2, 3, [False, True, True])

        await eventually(counted)
