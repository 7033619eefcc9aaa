"""Storage on real SQLite files: migrations, transactions, the concept tree, sessions, usage."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from bot.config import PROJECT_ROOT
from bot.errors import StorageBusy, StorageFull
from bot.models import (
    BundledMap,
    ChildState,
    Level,
    Meaning,
    Session,
    Source,
    StoredRetry,
    Usage,
)
from bot.storage import (
    FORGOTTEN_SCOPE,
    SCHEMA_VERSION,
    DatabaseInUse,
    Limit,
    Limits,
    OverLimit,
    Reservation,
    SchemaTooNew,
    ScopeSettings,
    Storage,
    UsageTotals,
    base,
    open_storage,
    postgres,
)
from bot.storage.base import EXPANSION_POLL
from bot.storage.copy import COPY_ORDER
from bot.storage.migrations import Dialect
from bot.storage.sql import LIST_MAPS, PREFIX_TOPICS
from tests.support.fakes import draft, store_many_maps, store_topics
from tests.support.faults import free_disk, full_disk, locked_by_another_process

GUILD = 1001
OTHER_GUILD = 2002
TABLES = {
    "maps",
    "concepts",
    "sessions",
    "usage",
    "scope_settings",
    "refusals",
    "meta",
    "answers",
    "meanings",
    "aliases",
    "reservations",
    "retries",
    "concept_versions",
}


def sqlite_file(path: Path, sql: str) -> list[tuple]:
    """Read a database file with the standard library, outside of Storage."""
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def bundled_map() -> BundledMap:
    """Key concepts: 0 with three children, 1 a leaf, 2 and 3 unexpanded."""
    return BundledMap.model_validate(
        {
            "topic": "Cells",
            "overview": "Cells are the units of life. Everything alive is made of them.",
            "concepts": [
                {
                    **draft("Organelles").model_dump(),
                    "children": [draft(t).model_dump() for t in ("Nucleus", "Ribosome", "Golgi")],
                },
                {**draft("Cell Size").model_dump(), "leaf": True},
                draft("Membrane").model_dump(),
                draft("Division").model_dump(),
            ],
        }
    )


async def store_cells(storage: Storage, scope: int = GUILD):
    cells = bundled_map()
    return await storage.create_map(
        scope=scope,
        key=cells.key,
        topic=cells.topic,
        language=cells.language,
        overview=cells.overview,
        source=Source.BUNDLED,
        model=None,
        concepts=cells.concepts,
        now=1000.0,
    )


# -- schema ---------------------------------------------------------------------


async def test_empty_file_migrates_to_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    path.touch()
    async with open_storage(path) as storage:
        assert await storage.list_maps(GUILD, 10) == []
    assert sqlite_file(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in sqlite_file(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables >= TABLES


async def test_missing_folder_and_file_are_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "kinapse.db"
    async with open_storage(path):
        pass
    assert sqlite_file(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_wal_mode_is_on(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    async with open_storage(path) as storage:
        await storage.set_meta("probe", "1")
        assert sqlite_file(path, "PRAGMA journal_mode") == [("wal",)]


async def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    sqlite_file(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew) as raised:
        async with open_storage(path):
            pass
    message = str(raised.value)
    assert str(path) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "upgrade Kinapse" in message
    assert sqlite_file(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert sqlite_file(path, "SELECT name FROM sqlite_master") == []


async def test_reopening_keeps_data_and_does_not_migrate_again(database: Path | str) -> None:
    async with open_storage(database) as storage:
        stored = await store_cells(storage)
    async with open_storage(database) as storage:
        again = await storage.find_map(GUILD, "cells")
        assert again is not None
        assert again.id == stored.id
        assert again.total == 7
        assert await storage.tables() >= TABLES
    if isinstance(database, Path):
        assert sqlite_file(database, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_postgres_schema_version_is_kept_and_a_newer_one_refused(postgres_url: str) -> None:
    async with open_storage(postgres_url) as storage, storage.transaction() as db:
        assert [tuple(r) for r in await db.fetchall("SELECT version FROM schema_version")] == [
            (SCHEMA_VERSION,)
        ]
        await db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew) as raised:
        async with open_storage(postgres_url):
            pass
    assert f"schema version {SCHEMA_VERSION + 1}" in str(raised.value)
    assert "@127.0.0.1" in str(raised.value)  # where, as a URL


async def test_every_table_is_one_db_copy_knows(storage: Storage) -> None:
    assert await storage.tables() == set(COPY_ORDER)


async def test_a_second_process_may_not_open_a_sqlite_file_the_bot_holds(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    async with open_storage(path) as reader, open_storage(path, exclusive=True):
        await reader.get_meta("shared reads are fine")
        with pytest.raises(DatabaseInUse, match="not shared between processes"):
            async with open_storage(path, exclusive=True):
                pass
    async with open_storage(path, exclusive=True):  # released with its holder
        pass


@pytest.mark.parametrize("reached_by", ["symlink", "hard link"])
async def test_another_name_for_the_same_sqlite_file_meets_the_same_lock(
    tmp_path: Path, reached_by: str
) -> None:
    path = tmp_path / "kinapse.db"
    async with open_storage(path):
        pass  # the file exists, as a running bot's does
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = elsewhere / "other.db"
    if reached_by == "symlink":
        other.symlink_to(path)
    else:
        other.hardlink_to(path)
    async with open_storage(path, exclusive=True):
        with pytest.raises(DatabaseInUse, match="in use by another Kinapse process"):
            async with open_storage(other, exclusive=True):
                pass
    async with open_storage(other, exclusive=True):  # released with its holder
        pass


async def test_postgres_waiters_in_another_process_wake_on_the_result(postgres_url: str) -> None:
    """Two pools on one database, as two processes have: the waiter hears the
    NOTIFY sooner than its poll would have looked again."""
    async with open_storage(postgres_url) as winner, open_storage(postgres_url) as waiter:
        stored = await store_cells(winner)
        membrane = (await winner.key_concepts(stored.id))[2]
        assert await winner.claim_expansion(membrane.id, now=1.0, lease=60)
        waiting = asyncio.create_task(waiter.wait_for_expansion(membrane.id, 10))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        started = asyncio.get_running_loop().time()
        await winner.store_expansion(membrane.id, [draft("Lipids")], leaf=False)
        settled = await waiting
        assert asyncio.get_running_loop().time() - started < EXPANSION_POLL
        assert settled is not None and settled.state is ChildState.EXPANDED


async def test_wait_for_expansion_ends_on_release_or_time(storage: Storage) -> None:
    stored = await store_cells(storage)
    membrane, division = (await storage.key_concepts(stored.id))[2:4]
    assert await storage.claim_expansion(division.id, now=1.0, lease=60)
    assert await storage.wait_for_expansion(division.id, 0.1) is None  # still pending
    assert await storage.claim_expansion(membrane.id, now=1.0, lease=60)
    waiting = asyncio.create_task(storage.wait_for_expansion(membrane.id, 10))
    await storage.release_expansion(membrane.id, "Claude is busy.")
    released = await asyncio.wait_for(waiting, 2)
    assert released is not None
    assert (released.state, released.error) == (ChildState.UNEXPANDED, "Claude is busy.")


# -- transactions -----------------------------------------------------------------


async def test_concurrent_transactions_do_not_mix(storage: Storage) -> None:
    """A failing transaction rolls back only its own rows, never another coroutine's."""

    async def writer(name: str, fail: bool) -> None:
        async with storage.transaction() as db:
            for n in range(5):
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", (f"{name}{n}", name)
                )
                await asyncio.sleep(0)
                if fail and n == 2:
                    raise RuntimeError("boom")

    results = await asyncio.gather(
        writer("bad", fail=True), writer("good", fail=False), return_exceptions=True
    )

    assert isinstance(results[0], RuntimeError)
    assert results[1] is None
    assert [await storage.get_meta(f"good{n}") for n in range(5)] == ["good"] * 5
    assert [await storage.get_meta(f"bad{n}") for n in range(5)] == [None] * 5
    await storage.set_meta("after", "still writable")
    assert await storage.get_meta("after") == "still writable"


async def test_cancelled_transaction_rolls_back(storage: Storage) -> None:
    inside = asyncio.Event()

    async def writer() -> None:
        async with storage.transaction() as db:
            await db.execute("INSERT INTO meta (key, value) VALUES ('half', 'done')")
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await storage.get_meta("half") is None
    await storage.set_meta("next", "ok")
    assert await storage.get_meta("next") == "ok"


async def test_what_was_stored_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from bot.storage import open_storage

        async def main():
            async with open_storage({str(path)!r}) as storage:
                await storage.set_meta("shown", "to a user")
                print("stored", flush=True)
                await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=15)
        assert line.strip() == b"stored"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    async with open_storage(path) as storage:
        assert await storage.get_meta("shown") == "to a user"


# -- maps and concepts ------------------------------------------------------------


async def test_create_map_stores_the_two_level_tree(storage: Storage) -> None:
    stored = await store_cells(storage)
    assert (stored.scope, stored.topic, stored.key) == (GUILD, "Cells", "cells")
    assert stored.source is Source.BUNDLED
    assert stored.model is None
    assert (stored.opened, stored.total) == (0, 7)

    key_concepts = await storage.key_concepts(stored.id)
    assert [(c.title, c.position, c.depth, c.parent_id, c.state) for c in key_concepts] == [
        ("Organelles", 0, 1, None, ChildState.EXPANDED),
        ("Cell Size", 1, 1, None, ChildState.LEAF),
        ("Membrane", 2, 1, None, ChildState.UNEXPANDED),
        ("Division", 3, 1, None, ChildState.UNEXPANDED),
    ]
    organelles = key_concepts[0]
    children = await storage.children(organelles.id)
    assert [(c.title, c.position, c.depth, c.parent_id) for c in children] == [
        ("Nucleus", 0, 2, organelles.id),
        ("Ribosome", 1, 2, organelles.id),
        ("Golgi", 2, 2, organelles.id),
    ]
    assert all(c.state is ChildState.UNEXPANDED for c in children)
    assert children[1].summary == "Ribosome in one sentence."
    assert await storage.children(key_concepts[1].id) == []
    assert [c.title for c in await storage.path(children[2].id)] == ["Organelles", "Golgi"]


async def test_create_map_twice_keeps_the_first(storage: Storage) -> None:
    first = await store_cells(storage)
    second = await storage.create_map(
        scope=GUILD,
        key="cells",
        topic="CELLS",
        language="de",
        overview="Another overview.",
        source=Source.GENERATED,
        model="m",
        concepts=[draft(f"C{n}") for n in range(4)],
        now=2000.0,
    )
    assert second.id == first.id
    assert second.topic == "Cells"
    assert second.total == 7


async def test_maps_are_per_scope(storage: Storage) -> None:
    mine = await store_cells(storage, GUILD)
    theirs = await store_cells(storage, OTHER_GUILD)
    assert mine.id != theirs.id
    assert (await storage.find_map(GUILD, "cells")).id == mine.id
    assert (await storage.find_map(OTHER_GUILD, "cells")).id == theirs.id
    assert await storage.find_map(3003, "cells") is None
    assert await storage.topics(GUILD) == [("Cells", "cells")]


async def test_meanings_are_stored_per_scope_and_the_first_stored_win(storage: Storage) -> None:
    planet = Meaning(title="Mercury (planet)", line="The planet closest to the Sun.")
    element = Meaning(title="Mercury (element)", line="The metal liquid at room temperature.")
    stored = await storage.save_meanings(GUILD, "mercury", "Mercury", [planet, element])
    assert [(m.title, m.line, m.topic) for m in stored] == [
        ("Mercury (planet)", "The planet closest to the Sun.", "Mercury"),
        ("Mercury (element)", "The metal liquid at room temperature.", "Mercury"),
    ]
    # A second answer made meanwhile does not replace them.
    god = Meaning(title="Mercury (god)", line="The Roman messenger god.")
    again = await storage.save_meanings(GUILD, "mercury", "mercury", [god, planet])
    assert [m.id for m in again] == [m.id for m in stored]
    assert await storage.get_meaning(stored[1].id) == stored[1]
    assert await storage.get_meaning(stored[1].id + 100) is None
    assert await storage.meanings(OTHER_GUILD, "mercury") == []


async def test_an_alias_finds_its_map_key_in_its_scope_only(storage: Storage) -> None:
    assert await storage.alias_of(GUILD, "mercury") is None
    await storage.save_alias(GUILD, "mercury", "mercury (planet)")
    assert await storage.alias_of(GUILD, "mercury") == "mercury (planet)"
    await storage.save_alias(GUILD, "mercury", "mercury (element)")
    assert await storage.alias_of(GUILD, "mercury") == "mercury (element)"
    assert await storage.alias_of(OTHER_GUILD, "mercury") is None


async def test_a_retry_keeps_its_request_under_an_id_that_is_never_reused(storage: Storage):
    planet = Meaning(title="Mercury (planet)", line="The planet closest to the Sun.")
    [meaning] = await storage.save_meanings(GUILD, "mercury", "Mercury", [planet])
    typed = await storage.save_retry(GUILD, "Volcanoes", meaning_id=None, now=10.0)
    chosen = await storage.save_retry(GUILD, meaning.qualified, meaning_id=meaning.id, now=20.0)

    assert await storage.get_retry(typed.id) == StoredRetry(
        id=typed.id, scope=GUILD, topic="Volcanoes", meaning_id=None
    )
    assert await storage.get_retry(chosen.id) == StoredRetry(
        id=chosen.id, scope=GUILD, topic="Mercury (planet)", meaning_id=meaning.id
    )
    assert typed.id != chosen.id and await storage.get_retry(chosen.id + 100) is None

    # Pruned by age, with the rest of upkeep; nothing else is touched.
    pruned = await storage.prune(
        sessions_before=0.0, now=0.0, usage_before=0.0, retries_before=15.0
    )
    assert (pruned.sessions, pruned.refusals, pruned.usage, pruned.retries) == (0, 0, 0, 1)
    assert await storage.get_retry(typed.id) is None
    assert await storage.get_retry(chosen.id) is not None
    await storage.prune(sessions_before=0.0, now=0.0, usage_before=0.0, retries_before=25.0)
    # Buttons still carry the pruned ids: a new retry never answers to one of them.
    newest = await storage.save_retry(GUILD, "Lava", meaning_id=None, now=30.0)
    assert newest.id > chosen.id


async def test_claim_expansion_is_exclusive_until_the_lease_expires(storage: Storage) -> None:
    stored = await store_cells(storage)
    membrane = (await storage.key_concepts(stored.id))[2]

    assert await storage.claim_expansion(membrane.id, now=100.0, lease=60.0) is True
    assert (await storage.get_concept(membrane.id)).state is ChildState.PENDING
    assert await storage.claim_expansion(membrane.id, now=100.0, lease=60.0) is False
    assert await storage.claim_expansion(membrane.id, now=159.0, lease=60.0) is False
    # The first claimant died without releasing: its lease runs out and someone else may try.
    assert await storage.claim_expansion(membrane.id, now=161.0, lease=60.0) is True


async def test_expanded_and_leaf_concepts_cannot_be_claimed(storage: Storage) -> None:
    stored = await store_cells(storage)
    organelles, cell_size = (await storage.key_concepts(stored.id))[:2]
    assert await storage.claim_expansion(organelles.id, now=1.0, lease=60.0) is False
    assert await storage.claim_expansion(cell_size.id, now=1.0, lease=60.0) is False
    assert (await storage.get_concept(organelles.id)).state is ChildState.EXPANDED


async def test_store_expansion_then_children(storage: Storage) -> None:
    stored = await store_cells(storage)
    membrane = (await storage.key_concepts(stored.id))[2]
    assert await storage.claim_expansion(membrane.id, now=1.0, lease=60.0)

    await storage.store_expansion(
        membrane.id, [draft("Lipids"), draft("Channels"), draft("Receptors")], leaf=False
    )

    concept = await storage.get_concept(membrane.id)
    assert concept.state is ChildState.EXPANDED
    children = await storage.children(membrane.id)
    assert [(c.title, c.depth, c.position) for c in children] == [
        ("Lipids", 2, 0),
        ("Channels", 2, 1),
        ("Receptors", 2, 2),
    ]
    assert (await storage.get_map(stored.id)).total == 10
    assert await storage.claim_expansion(membrane.id, now=500.0, lease=60.0) is False

    # A late second result for the same concept is ignored, not appended.
    await storage.store_expansion(membrane.id, [draft(f"X{n}") for n in range(3)], leaf=False)
    assert len(await storage.children(membrane.id)) == 3


async def test_store_expansion_as_leaf(storage: Storage) -> None:
    stored = await store_cells(storage)
    division = (await storage.key_concepts(stored.id))[3]
    assert await storage.claim_expansion(division.id, now=1.0, lease=60.0)
    await storage.store_expansion(division.id, [], leaf=True)
    assert (await storage.get_concept(division.id)).state is ChildState.LEAF
    assert await storage.children(division.id) == []


async def test_release_expansion_resets_state(storage: Storage) -> None:
    stored = await store_cells(storage)
    membrane = (await storage.key_concepts(stored.id))[2]
    assert await storage.claim_expansion(membrane.id, now=1.0, lease=600.0)

    await storage.release_expansion(membrane.id, "Claude is overloaded.")

    concept = await storage.get_concept(membrane.id)
    assert concept.state is ChildState.UNEXPANDED
    assert concept.error == "Claude is overloaded."
    assert await storage.children(membrane.id) == []
    # Tried again at once, not after the lease.
    assert await storage.claim_expansion(membrane.id, now=2.0, lease=600.0) is True
    assert (await storage.get_concept(membrane.id)).error is None


async def test_release_does_not_touch_a_finished_expansion(storage: Storage) -> None:
    stored = await store_cells(storage)
    organelles = (await storage.key_concepts(stored.id))[0]
    await storage.release_expansion(organelles.id, "late failure")
    concept = await storage.get_concept(organelles.id)
    assert concept.state is ChildState.EXPANDED
    assert concept.error is None
    assert len(await storage.children(organelles.id)) == 3


async def test_opened_concepts_are_counted_once_each(storage: Storage) -> None:
    stored = await store_cells(storage)
    concepts = await storage.key_concepts(stored.id)
    await storage.count_open(concepts[0].id)
    await storage.count_open(concepts[0].id)
    await storage.count_open(concepts[2].id)
    assert (await storage.get_map(stored.id)).opened == 2
    listed = await storage.list_maps(GUILD, 10)
    assert [(m.topic, m.opened, m.total) for m in listed] == [("Cells", 2, 7)]


async def test_list_maps_pages_through_the_scope_once_each_in_listing_order(
    storage: Storage,
) -> None:
    expected = await store_many_maps(storage, GUILD, 25)
    await store_many_maps(storage, OTHER_GUILD, 3)
    assert await storage.count_maps(GUILD) == 25 and await storage.count_maps(OTHER_GUILD) == 3

    pages = [await storage.list_maps(GUILD, 10, offset) for offset in (0, 10, 20, 30)]

    assert [len(page) for page in pages] == [10, 10, 5, 0]
    assert [m for page in pages for m in page] == expected
    assert expected[0].opened == 2 and expected[-1].opened == 0


async def test_stored_keys_are_those_of_the_given_keys_the_scope_has(storage: Storage) -> None:
    await store_cells(storage)
    await store_many_maps(storage, OTHER_GUILD, 2)
    assert await storage.stored_keys(GUILD, ["cells", "map 00", "atoms"]) == {"cells"}
    assert await storage.stored_keys(OTHER_GUILD, ["cells", "map 00", "map 01"]) == {
        "map 00",
        "map 01",
    }
    assert await storage.stored_keys(GUILD, []) == set()


async def test_a_page_of_maps_walks_an_index_in_listing_order_without_sorting(
    storage: Storage,
) -> None:
    """A page reads its own rows and stops: nothing sorts the scope's maps first."""
    await store_many_maps(storage, GUILD, 3)
    async with storage.transaction() as db:
        if storage.dialect is Dialect.POSTGRES:
            # On a small table a sort is cheapest; forbidding it shows the index serves
            # the order (a plan that still sorts would say so).
            await db.execute("SET LOCAL enable_sort = off")
            await db.execute("SET LOCAL enable_seqscan = off")
            rows = await db.fetchall(f"EXPLAIN {LIST_MAPS}", (GUILD, 10, 20))
        else:
            rows = await db.fetchall(f"EXPLAIN QUERY PLAN {LIST_MAPS}", (GUILD, 10, 20))
    plan = " ".join(str(row[-1]) for row in rows)
    assert "maps_in_listing_order" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


async def test_opened_ids_are_the_concepts_someone_opened(storage: Storage) -> None:
    stored = await store_cells(storage)
    organelles = (await storage.key_concepts(stored.id))[0]
    nucleus = (await storage.children(organelles.id))[0]
    assert await storage.opened_ids(stored.id) == set()
    await storage.count_open(nucleus.id)
    await storage.count_open(nucleus.id)
    await storage.count_open(organelles.id)
    assert await storage.opened_ids(stored.id) == {nucleus.id, organelles.id}
    assert await storage.opened_ids(stored.id + 1) == set()


async def test_delete_map_cascades_to_concepts_and_sessions(storage: Storage) -> None:
    stored = await store_cells(storage)
    other = await store_cells(storage, OTHER_GUILD)
    organelles = (await storage.key_concepts(stored.id))[0]
    nucleus = (await storage.children(organelles.id))[0]
    session = Session(
        message_id=55, owner_id=7, scope=GUILD, map_id=stored.id, concept_id=nucleus.id
    )
    await storage.save_session(session, now=1.0)

    assert await storage.delete_map(GUILD, "cells") is True

    assert await storage.find_map(GUILD, "cells") is None
    assert await storage.get_map(stored.id) is None
    assert await storage.get_concept(organelles.id) is None
    assert await storage.get_concept(nucleus.id) is None
    assert await storage.get_session(55) is None
    assert await storage.key_concepts(stored.id) == []
    assert await storage.delete_map(GUILD, "cells") is False
    # The same topic in another server is untouched.
    assert (await storage.get_map(other.id)).total == 7


async def test_a_forgotten_map_leaves_its_scope_at_once_and_its_rows_go_later(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "PURGE_BATCH", 2)  # five sessions: three batches
    stored = await store_cells(storage)
    other = await store_cells(storage, OTHER_GUILD)
    nucleus = (await storage.key_concepts(stored.id))[0]
    for message_id in range(50, 55):
        await storage.save_session(
            Session(
                message_id=message_id,
                owner_id=7,
                scope=GUILD,
                map_id=stored.id,
                concept_id=nucleus.id if message_id % 2 else None,
            ),
            now=1.0,
        )
    kept = Session(message_id=60, owner_id=7, scope=OTHER_GUILD, map_id=other.id, concept_id=None)
    await storage.save_session(kept, now=1.0)

    assert await storage.forget_map(GUILD, "cells") is True
    # Gone from the server at once, its key free for a new map of the topic.
    assert await storage.find_map(GUILD, "cells") is None
    assert (await storage.get_map(stored.id)).scope == FORGOTTEN_SCOPE
    again = await store_cells(storage)
    assert again.id != stored.id
    assert await storage.forget_map(GUILD, "nothing") is False

    assert await storage.purge_forgotten() == 1
    assert await storage.get_map(stored.id) is None
    assert await storage.get_concept(nucleus.id) is None
    assert all([await storage.get_session(n) is None for n in range(50, 55)])
    assert await storage.get_session(60) == kept  # another map's sessions stay
    assert (await storage.find_map(GUILD, "cells")).id == again.id
    assert await storage.purge_forgotten() == 0


# -- sessions -----------------------------------------------------------------------


async def test_session_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    async with open_storage(path) as storage:
        stored = await store_cells(storage)
        first, second = (await storage.key_concepts(stored.id))[:2]
        session = Session(
            message_id=123456789012345678,
            owner_id=42,
            scope=GUILD,
            map_id=stored.id,
            concept_id=second.id,
            history=[None, first.id],
        )
        await storage.save_session(session, now=10.0)
    async with open_storage(path) as storage:
        assert await storage.get_session(123456789012345678) == session
        assert await storage.get_session(1) is None


async def test_saving_a_session_again_moves_it(storage: Storage) -> None:
    stored = await store_cells(storage)
    first = (await storage.key_concepts(stored.id))[0]
    base = Session(message_id=9, owner_id=1, scope=GUILD, map_id=stored.id, concept_id=None)
    await storage.save_session(base, now=1.0)
    moved = base.model_copy(update={"concept_id": first.id, "history": [None]})
    await storage.save_session(moved, now=2.0)
    assert await storage.get_session(9) == moved


async def test_session_history_is_bounded(storage: Storage) -> None:
    stored = await store_cells(storage)
    first = (await storage.key_concepts(stored.id))[0]
    history: list[int | None] = [None, first.id] * 40
    session = Session(
        message_id=9, owner_id=1, scope=GUILD, map_id=stored.id, concept_id=None, history=history
    )
    await storage.save_session(session, now=1.0)
    loaded = await storage.get_session(9)
    assert loaded.history == history[-50:]


# -- usage, limits and settings -------------------------------------------------


def usage(tokens_in: int, tokens_out: int) -> Usage:
    return Usage(model="m", input_tokens=tokens_in, output_tokens=tokens_out)


async def test_usage_recording_and_totals(storage: Storage) -> None:
    await storage.record_usage(
        scope=GUILD, user_id=7, request="r1", kind="map", usage=[usage(100, 50)], now=1000.0
    )
    # A repaired answer: two calls under one request.
    await storage.record_usage(
        scope=GUILD,
        user_id=8,
        request="r2",
        kind="expand",
        usage=[usage(10, 5), Usage(model="m", cache_read_tokens=20, cache_write_tokens=1)],
        now=2000.0,
    )
    await storage.record_usage(
        scope=OTHER_GUILD, user_id=7, request="r3", kind="map", usage=[usage(1, 1)], now=2000.0
    )
    await storage.record_usage(
        scope=GUILD, user_id=7, request="r4", kind="map", usage=[], now=2500.0
    )

    assert await storage.usage_since(GUILD, 0.0) == UsageTotals(calls=3, tokens=186)
    assert await storage.usage_since(GUILD, 1500.0) == UsageTotals(calls=2, tokens=36)
    assert await storage.usage_since(GUILD, 2001.0) == UsageTotals(calls=0, tokens=0)
    assert await storage.top_users(GUILD, 0.0) == [(7, 150), (8, 36)]
    # Toward the cooldown, requests count once each, however many calls they took, in
    # every server: user 7 started r1 and r3 (r4 spent nothing), user 8 only r2.
    at = limits(2500.0, allowed=2, window=2000.0)
    assert await storage.over_limit(GUILD, 7, at) == OverLimit(Limit.COOLDOWN, 1000.0 + 2000.0)
    assert await storage.over_limit(GUILD, 8, at) is None
    assert await storage.over_limit(GUILD, 7, replace(at, window=1000.0)) is None  # r1 is out


def limits(now: float, *, allowed: int = 5, window: float = 600.0, budget: int = 10**6) -> Limits:
    """Limits as of ``now``; its day ends an hour later."""
    return Limits(now, window, allowed, budget, day_start=now - 3600, day_end=now + 3600)


async def settle(storage: Storage, reservation: Reservation, *, user_id: int, when: float):
    """Record a generation's usage in GUILD (150 tokens), settling its reservation."""
    await storage.record_usage(
        scope=GUILD,
        user_id=user_id,
        request=f"r{reservation.id}",
        kind="map",
        usage=[usage(100, 50)],
        now=when,
        settles=reservation.id,
    )


async def test_reserving_checks_both_limits_and_a_settled_generation_counts_once(
    storage: Storage,
) -> None:
    now = 10_000.0
    at = limits(now, allowed=2, budget=12_000)
    expires = now + 900
    first = await storage.reserve(GUILD, 7, at, tokens=5000, expires_at=expires)
    second = await storage.reserve(GUILD, 7, at, tokens=5000, expires_at=expires)
    assert isinstance(first, Reservation) and isinstance(second, Reservation)
    assert first.id != second.id
    # The user's third start, in any server: two are under way, counted from now.
    cooled = OverLimit(Limit.COOLDOWN, now + 600)
    assert await storage.reserve(OTHER_GUILD, 7, at, tokens=5000, expires_at=expires) == cooled
    assert await storage.over_limit(OTHER_GUILD, 7, at) == cooled
    # Another member: 10,000 of the server's 12,000 tokens are reserved, so one more starts.
    third = await storage.reserve(GUILD, 8, at, tokens=5000, expires_at=expires)
    assert isinstance(third, Reservation)
    spent = OverLimit(Limit.BUDGET, at.day_end)
    assert await storage.reserve(GUILD, 9, at, tokens=5000, expires_at=expires) == spent
    assert await storage.over_limit(OTHER_GUILD, 9, at) is None  # its own budget
    # Tokens the database has not taken yet count too.
    assert await storage.over_limit(OTHER_GUILD, 9, replace(at, budget=100, unrecorded=100))
    assert await storage.count_rows("reservations") == 3

    # The real usage (150 tokens) replaces the reservation in one transaction...
    await settle(storage, third, user_id=8, when=now + 10)
    assert await storage.count_rows("reservations") == 2
    assert (await storage.usage_since(GUILD, 0)).tokens == 150
    # ...so the budget has room again (10,150 of 12,000), and a generation that spent
    # nothing stops counting once released.
    fourth = await storage.reserve(GUILD, 9, at, tokens=5000, expires_at=expires)
    assert isinstance(fourth, Reservation)
    await storage.release(fourth.id)
    later = replace(at, now=now + 20, allowed=1)
    assert await storage.over_limit(OTHER_GUILD, 9, later) is None
    # The settled generation still counts once toward its user's cooldown, as usage.
    assert await storage.over_limit(OTHER_GUILD, 8, later) == OverLimit(
        Limit.COOLDOWN, now + 10 + 600
    )
    assert await storage.count_rows("reservations") == 2


async def test_a_reservation_left_by_a_killed_process_expires_and_is_pruned(
    storage: Storage,
) -> None:
    now = 10_000.0
    at = limits(now, allowed=1, budget=5000)
    left = await storage.reserve(GUILD, 7, at, tokens=5000, expires_at=now + 900)
    assert isinstance(left, Reservation)
    assert await storage.over_limit(GUILD, 7, at) == OverLimit(Limit.COOLDOWN, now + 600)
    assert await storage.over_limit(GUILD, 8, at) == OverLimit(Limit.BUDGET, at.day_end)

    expired = replace(at, now=now + 900)
    assert await storage.over_limit(GUILD, 7, expired) is None
    assert await storage.over_limit(GUILD, 8, expired) is None
    newer = await storage.reserve(GUILD, 8, expired, tokens=5000, expires_at=now + 1800)
    assert isinstance(newer, Reservation) and newer.id > left.id
    pruned = await storage.prune(
        sessions_before=0.0, now=now + 900, usage_before=0.0, retries_before=0.0
    )
    assert pruned.reservations == 1
    # Settling the pruned one late records its usage and leaves the live one alone.
    await settle(storage, left, user_id=7, when=now + 901)
    assert await storage.count_rows("reservations") == 1
    assert (await storage.usage_since(GUILD, 0)).calls == 1


async def test_reservations_made_at_once_through_two_pools_stay_within_the_limits(
    database: Path | str,
) -> None:
    """Two processes' storage on one database, reserving at once: the user's cooldown and the
    server's budget hold across them (SQLite serialises writers; PostgreSQL locks the user
    and the server)."""
    now = 10_000.0
    at = limits(now, allowed=3, budget=4 * 5000)
    expires = now + 900
    async with open_storage(database) as one, open_storage(database) as two:
        same_user = await asyncio.gather(
            *(
                shard.reserve(GUILD + n, 7, at, tokens=5000, expires_at=expires)
                for n in range(10)
                for shard in (one, two)
            )
        )
        same_server = await asyncio.gather(
            *(
                shard.reserve(OTHER_GUILD, 100 + n, at, tokens=5000, expires_at=expires)
                for n in range(10)
                for shard in (one, two)
            )
        )
    assert sum(isinstance(r, Reservation) for r in same_user) == 3
    assert sum(isinstance(r, Reservation) for r in same_server) == 4
    assert {r.limit for r in same_user + same_server if isinstance(r, OverLimit)} == {
        Limit.COOLDOWN,
        Limit.BUDGET,
    }


async def test_refusals_are_remembered_until_they_expire(storage: Storage) -> None:
    await storage.remember_refusal(GUILD, "map:weapons", until=500.0)
    assert await storage.refused_until(GUILD, "map:weapons", now=100.0) == 500.0
    assert await storage.refused_until(GUILD, "map:weapons", now=501.0) is None
    assert await storage.refused_until(OTHER_GUILD, "map:weapons", now=100.0) is None


async def test_scope_settings_round_trip(storage: Storage) -> None:
    assert await storage.scope_settings(GUILD) == ScopeSettings()
    await storage.save_scope_settings(GUILD, ScopeSettings(language="fr", daily_token_budget=10))
    await storage.save_scope_settings(GUILD, ScopeSettings(language="de", daily_token_budget=10))
    assert await storage.scope_settings(GUILD) == ScopeSettings("de", 10)
    assert await storage.scope_settings(OTHER_GUILD) == ScopeSettings()


async def test_level_is_stored_with_the_scope_and_the_map(storage: Storage) -> None:
    await storage.save_scope_settings(GUILD, ScopeSettings(level=Level.EXPERT))
    assert await storage.scope_settings(GUILD) == ScopeSettings(level=Level.EXPERT)
    await storage.save_scope_settings(GUILD, ScopeSettings("fr", 5, Level.INTRO))
    assert await storage.scope_settings(GUILD) == ScopeSettings("fr", 5, Level.INTRO)

    made = await storage.create_map(
        scope=GUILD,
        key="tides",
        topic="Tides",
        language="en",
        overview="The sea rises and falls.",
        source=Source.GENERATED,
        model="m",
        concepts=[draft("Moon")],
        now=1000.0,
        level=Level.INTRO,
    )
    assert made.level is Level.INTRO
    assert (await storage.find_map(GUILD, "tides")).level is Level.INTRO
    assert (await storage.get_map(made.id)).level is Level.INTRO
    # A map stored without a level is standard.
    assert (await store_cells(storage)).level is Level.STANDARD


async def test_answers_are_kept_per_card_and_question(storage: Storage) -> None:
    stored = await store_cells(storage)
    organelles = (await storage.key_concepts(stored.id))[0]

    async def save(concept_id: int | None, key: str, text: str):
        return await storage.save_answer(
            scope=GUILD,
            map_id=stored.id,
            concept_id=concept_id,
            question_key=key,
            question=key.capitalize() + "?",
            text=text,
            model="claude-x",
            now=1000.0,
        )

    about_concept = await save(organelles.id, "why", "Because of the concept.")
    about_map = await save(None, "why", "Because of the topic.")
    # Two answers made at once for one question: the first one stored wins.
    again = await save(organelles.id, "why", "A second answer.")

    assert about_concept.concept_id == organelles.id and about_map.concept_id is None
    assert about_map.id != about_concept.id
    assert again == about_concept and again.text == "Because of the concept."
    assert await storage.find_answer(stored.id, organelles.id, "why") == about_concept
    assert await storage.find_answer(stored.id, None, "why") == about_map
    assert await storage.find_answer(stored.id, organelles.id, "how") is None
    assert await storage.get_answer(about_map.id) == about_map
    assert about_map.question == "Why?" and about_map.model == "claude-x"
    assert about_map.scope == GUILD

    assert await storage.delete_map(GUILD, stored.key)
    assert await storage.get_answer(about_concept.id) is None  # answers go with their map


# -- a locked or full database ----------------------------------------------------


@pytest.fixture
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """The SQLite backend alone, for faults of a SQLite file (another process's lock, a
    full disk); PostgreSQL reports its own."""
    async with open_storage(tmp_path / "kinapse.db") as opened:
        yield opened


async def test_a_write_cancelled_while_waiting_for_the_lock_leaves_storage_usable(
    sqlite_storage: Storage, tmp_path: Path
) -> None:
    storage = sqlite_storage
    with locked_by_another_process(tmp_path / "kinapse.db") as release:
        waiting = asyncio.create_task(storage.set_meta("cancelled", "never"))
        await asyncio.sleep(0.2)  # its write now waits for the lock
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
    await storage.set_meta("next", "works")
    assert await storage.get_meta("next") == "works"
    assert await storage.get_meta("cancelled") is None


async def test_a_full_disk_is_a_clear_error_and_passes_once_space_is_freed(
    sqlite_storage: Storage,
) -> None:
    storage = sqlite_storage
    await store_cells(storage)
    await full_disk(storage)
    with pytest.raises(StorageFull, match="storage is full"):
        for scope in range(100):  # the first ones may fit in the free space of used pages
            await store_cells(storage, scope=OTHER_GUILD + scope)
    assert (await storage.find_map(GUILD, "cells")).topic == "Cells"  # reads still work
    await free_disk(storage)
    assert (await store_cells(storage, scope=OTHER_GUILD)).scope == OTHER_GUILD


async def test_forgetting_a_map_finds_its_sessions_by_index(tmp_path: Path) -> None:
    """The lookups a map's delete makes (sessions by map and by concept) use an index."""
    path = tmp_path / "kinapse.db"
    async with open_storage(path):
        pass
    for sql in (
        "DELETE FROM sessions WHERE map_id = 1",
        "UPDATE sessions SET concept_id = NULL WHERE concept_id = 1",
        "DELETE FROM answers WHERE concept_id = 1",
    ):
        plan = " ".join(row[-1] for row in sqlite_file(path, f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (sql, plan)


async def test_text_many_maps_start_with_is_matched_by_an_index_range(storage: Storage) -> None:
    """Autocomplete once a few letters are typed: the first maps that start with them come
    from a range of an index, in code point order, whatever else the scope holds."""
    topics = [f"Topic {n:02d}" for n in range(30)] + ["A Topic", "Café au Lait", "\ud7ff Edge"]
    await store_topics(storage, GUILD, topics)
    first = await storage.matching_topics(GUILD, "topic", 25)
    assert [t for t, _ in first] == [f"Topic {n:02d}" for n in range(25)]
    assert [t for t, _ in await storage.matching_topics(GUILD, "topic 2", 3)] == [
        "Topic 20",
        "Topic 21",
        "Topic 22",
    ]
    assert [t for t, _ in await storage.matching_topics(GUILD, "café", 1)] == ["Café au Lait"]
    # The last code point before the surrogates: its successor skips them.
    assert [t for t, _ in await storage.matching_topics(GUILD, "\ud7ff", 1)] == ["\ud7ff Edge"]

    sql = PREFIX_TOPICS.format(bytewise=storage.bytewise)
    async with storage.transaction() as db:
        if storage.dialect is Dialect.POSTGRES:
            await db.execute("SET LOCAL enable_seqscan = off")  # a small table: show the index
            rows = await db.fetchall(f"EXPLAIN {sql}", (GUILD, "topic", "topid", 25))
        else:
            rows = await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", (GUILD, "topic", "topid", 25))
    plan = " ".join(str(row[-1]) for row in rows)
    if storage.dialect is Dialect.POSTGRES:
        assert "maps_by_key_bytes" in plan and "Sort" not in plan, plan
    else:
        assert "key>? AND key<?" in plan and "TEMP B-TREE" not in plan, plan


async def test_a_postgresql_table_locked_by_another_session_is_busy_not_a_hang(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session holds a table lock (a LOCK TABLE, a long DDL): reads and writes
    give up after the lock patience with the storage-busy message, and work once it goes."""
    monkeypatch.setattr(postgres, "LOCK_PATIENCE_MS", 300)
    async with open_storage(postgres_url) as storage:
        stored = await store_cells(storage)
        holder = await asyncpg.connect(postgres_url)
        try:
            locking = holder.transaction()
            await locking.start()
            await holder.execute("LOCK TABLE maps IN ACCESS EXCLUSIVE MODE")
            started = asyncio.get_running_loop().time()
            with pytest.raises(StorageBusy, match="storage is busy"):
                await storage.find_map(GUILD, stored.key)
            with pytest.raises(StorageBusy):
                await storage.delete_map(GUILD, stored.key)
            assert asyncio.get_running_loop().time() - started < 5
            await locking.rollback()
        finally:
            await holder.close()
        assert await storage.find_map(GUILD, stored.key) == stored
