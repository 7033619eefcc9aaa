"""Upkeep: pruning old sessions, refusals, usage and retries, and `python -m bot db backup`."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.explore import Explorer
from bot.explore.upkeep import DAY, USAGE_KEPT_DAYS
from bot.maps import BundledMaps
from bot.models import Session, Usage
from bot.storage import Storage, StorageUnavailable, open_storage
from bot.storage.sqlite import backup
from tests.support.fakes import Clock, store_topics
from tests.test_main import run

GUILD = 1001
NOW = 1_800_000_000.0


async def _session(storage: Storage, message_id: int, map_id: int, updated: float) -> None:
    session = Session(
        message_id=message_id, owner_id=7, scope=GUILD, map_id=map_id, concept_id=None
    )
    await storage.save_session(session, now=updated)


async def _usage(storage: Storage, request: str, when: float) -> None:
    usage = [Usage(model="m", input_tokens=10, output_tokens=5)]
    await storage.record_usage(
        scope=GUILD, user_id=7, request=request, kind="map", usage=usage, now=when
    )


async def test_prune_forgets_what_is_old_and_keeps_the_rest(storage: Storage) -> None:
    clock = Clock(NOW)
    settings = Settings(session_days=90)
    explorer = Explorer(storage, BundledMaps.load(PROJECT_ROOT / "maps"), settings, clock=clock)
    concept_map = await explorer.topics.lookup(GUILD, "Interest Rates")
    assert concept_map is not None
    await _session(storage, 1, concept_map.id, NOW - 91 * DAY)  # untouched for 91 days
    await _session(storage, 2, concept_map.id, NOW - 89 * DAY)
    await storage.remember_refusal(GUILD, "map:old", NOW - 1)
    await storage.remember_refusal(GUILD, "map:new", NOW + 3600)
    await _usage(storage, "old", NOW - (USAGE_KEPT_DAYS + 1) * DAY)
    await _usage(storage, "new", NOW - 30 * DAY)
    old_retry = await storage.save_retry(GUILD, "Old", meaning_id=None, now=NOW - 91 * DAY)
    new_retry = await storage.save_retry(GUILD, "New", meaning_id=None, now=NOW - 89 * DAY)

    pruned = await explorer.upkeep.prune()

    assert (pruned.sessions, pruned.refusals, pruned.usage, pruned.retries) == (1, 1, 1, 1)
    assert await storage.get_retry(old_retry.id) is None
    assert await storage.get_retry(new_retry.id) == new_retry
    assert await storage.get_session(1) is None
    assert await storage.get_session(2) is not None
    assert await storage.refused_until(GUILD, "map:new", NOW) == NOW + 3600
    assert (await storage.usage_since(GUILD, 0)).calls == 1
    # The map itself and its concepts are never pruned.
    assert await storage.find_map(GUILD, concept_map.key) is not None
    assert (await explorer.upkeep.prune()).sessions == 0


# -- backup ---------------------------------------------------------------------


async def _populated(path: Path) -> dict[str, int]:
    settings = Settings(database=path)
    async with open_storage(path) as storage:
        explorer = Explorer(storage, BundledMaps.load(PROJECT_ROOT / "maps"), settings)
        for topic in ("Interest Rates", "Oil", "AI Agents"):
            await explorer.topics.lookup(GUILD, topic)
    with sqlite3.connect(path) as db:
        return {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("maps", "concepts")
        }


async def test_backup_is_a_consistent_copy_taken_while_another_writer_is_busy(tmp_path: Path):
    source = tmp_path / "kinapse.db"
    counts = await _populated(source)
    writer = sqlite3.connect(source, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a running bot in the middle of a write
    writer.execute("DELETE FROM concepts")
    target = tmp_path / "backups" / "kinapse-copy.db"

    copied = backup(source, target)
    writer.execute("ROLLBACK")
    writer.close()

    assert copied["maps"] == counts["maps"] == 3 and copied["concepts"] == counts["concepts"]
    # Restoring is opening the copy as the database: the maps are all there.
    async with open_storage(target) as restored:
        assert {m.topic for m in await restored.list_maps(GUILD, 10)} == {
            "Interest Rates",
            "Oil Resources",
            "AI Agents",
        }


async def test_backup_refuses_to_overwrite_or_to_copy_nothing(tmp_path: Path) -> None:
    source = tmp_path / "kinapse.db"
    await _populated(source)
    existing = tmp_path / "there.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(StorageUnavailable, match="already exists"):
        backup(source, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(StorageUnavailable, match="no database to back up"):
        backup(tmp_path / "missing.db", tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


def test_db_backup_command_prints_what_it_copied(tmp_path: Path) -> None:
    source = tmp_path / "kinapse.db"
    counts = asyncio.run(_populated(source))
    target = tmp_path / "copy.db"
    result = run("db", "backup", str(target), KINAPSE_DATABASE=str(source))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Backed up {source} to {target}")
    assert f"{counts['concepts']:,} concepts" in result.stdout and "3 maps" in result.stdout

    again = run("db", "backup", str(target), KINAPSE_DATABASE=str(source))
    assert again.returncode == 2
    assert again.stderr.strip() == f"Error: {target}: already exists; back up to a new file"


# -- heavy reads ------------------------------------------------------------------


async def test_a_click_read_does_not_wait_behind_a_whole_scope_listing(tmp_path: Path) -> None:
    path = tmp_path / "kinapse.db"
    async with open_storage(path):
        pass  # migrated
    with sqlite3.connect(path) as db:  # a server with many maps, written fast
        db.executemany(
            "INSERT INTO maps (id, scope, key, topic, language, overview, source, created_at)"
            " VALUES (?, ?, ?, ?, 'en', 'An overview.', 'generated', 0)",
            [(n, GUILD, f"topic {n}", f"Topic {n}") for n in range(1, 6001)],
        )
        db.executemany(
            "INSERT INTO concepts (map_id, parent_id, position, depth, title, summary, detail)"
            " VALUES (?, NULL, ?, 1, 'T', 'S.', 'D.')",
            [(n, p) for n in range(1, 6001) for p in range(6)],
        )
    async with open_storage(path) as storage:
        finished: list[str] = []

        async def listing() -> None:
            await storage.topics(GUILD)
            finished.append("listing")

        async def click() -> None:
            await asyncio.sleep(0)  # the listing is under way first
            assert await storage.get_map(1) is not None
            finished.append("click")

        await asyncio.gather(listing(), click())
    assert finished == ["click", "listing"]


async def test_explored_counts_live_on_the_map_row_and_older_databases_get_them(tmp_path: Path):
    path = tmp_path / "kinapse.db"
    settings = Settings(database=path)
    async with open_storage(path) as storage:
        explorer = Explorer(storage, BundledMaps.load(PROJECT_ROOT / "maps"), settings)
        rates = await explorer.topics.lookup(GUILD, "Interest Rates")
        assert rates is not None
        first, second = (await storage.key_concepts(rates.id))[:2]
        for concept in (first, first, second):  # a second open of one concept counts once
            await storage.count_open(concept.id)
        counted = await storage.get_map(rates.id)
        assert counted is not None and counted.opened == 2 and counted.total == rates.total > 0
        assert [(m.opened, m.total) for m in await storage.list_maps(GUILD, 10)] == [
            (2, rates.total)
        ]
    # The database as schema 6 left it: no counts on the map row (nor what 8 and later add).
    with sqlite3.connect(path) as db:
        db.executescript(
            "DROP INDEX maps_in_listing_order; ALTER TABLE maps DROP COLUMN opened;"
            " ALTER TABLE maps DROP COLUMN total; DROP TABLE reservations; DROP TABLE retries;"
            " DROP TABLE asks; DROP TABLE translations;"
            " DROP TABLE concept_versions; ALTER TABLE concepts DROP COLUMN model;"
            " ALTER TABLE concepts DROP COLUMN created_at;"
            " ALTER TABLE concepts DROP COLUMN sources;"
            " ALTER TABLE maps DROP COLUMN sources; ALTER TABLE maps DROP COLUMN volatile;"
            " ALTER TABLE answers DROP COLUMN sources; ALTER TABLE usage DROP COLUMN web_searches;"
            " ALTER TABLE scope_settings DROP COLUMN sources;"
            " ALTER TABLE scope_settings DROP COLUMN prefer_domains;"
            " ALTER TABLE scope_settings DROP COLUMN block_domains;"
            " DROP TABLE quiz_answers; DROP TABLE quiz_questions; DROP TABLE quizzes;"
            " DROP TABLE concept_questions; DROP TABLE review_log; DROP TABLE review_cards;"
            " DROP TABLE explored; DROP TABLE member_names; DROP TABLE threads;"
            " DROP TABLE learning_settings; ALTER TABLE maps DROP COLUMN explorers;"
            " DROP TABLE materials; ALTER TABLE maps DROP COLUMN material;"
            " PRAGMA user_version = 6;"
        )
    async with open_storage(path) as storage:
        migrated = await storage.get_map(rates.id)
        assert migrated is not None and (migrated.opened, migrated.total) == (2, rates.total)


async def test_matching_topics_are_ranked_by_storage_and_typed_wildcards_are_literal(
    storage: Storage,
) -> None:
    topics = ("Data_Science", "100% Juice", "Bigdata", "Data Mining", "Open Data", "Dat")
    await store_topics(storage, GUILD, topics)
    # Starts with it, then a word starts with it, then contains it; each by topic.
    assert [t for t, _ in await storage.matching_topics(GUILD, "data", 25)] == [
        "Data Mining",
        "Data_Science",
        "Open Data",
        "Bigdata",
    ]
    assert [t for t, _ in await storage.matching_topics(GUILD, "data", 2)] == [
        "Data Mining",
        "Data_Science",
    ]
    assert [t for t, _ in await storage.matching_topics(GUILD, "_", 25)] == ["Data_Science"]
    assert [t for t, _ in await storage.matching_topics(GUILD, "%", 25)] == ["100% Juice"]
    assert await storage.matching_topics(GUILD + 1, "data", 25) == []


# Runs `db backup` with the file size this process may write capped: what a full disk
# does to the copy's writes (RLIMIT_FSIZE; SIGXFSZ ignored, so a write fails instead).
CAPPED_BACKUP = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
from bot.__main__ import main
sys.exit(main(["db", "backup", sys.argv[1]]))
"""


def _capped_backup(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CAPPED_BACKUP, str(target)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "KINAPSE_DATABASE": str(source)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("where", ["full disk", "inside a file", "dangling symlink"])
def test_a_backup_that_cannot_be_made_names_its_target_and_leaves_nothing(
    tmp_path: Path, where: str
) -> None:
    source = tmp_path / "kinapse.db"
    asyncio.run(_populated(source))  # about 1 MB: more than the capped disk takes
    folder = tmp_path / "backups"
    folder.mkdir()
    if where == "full disk":
        target = folder / "copy.db"
        result = _capped_backup(source, target)
        says = "could not write the backup"
    elif where == "inside a file":
        (folder / "notes.txt").write_text("a file, not a folder")
        target = folder / "notes.txt" / "copy.db"
        result = run("db", "backup", str(target), KINAPSE_DATABASE=str(source))
        says = "cannot make the folder for the backup"
    else:
        target = folder / "copy.db"
        target.symlink_to(tmp_path / "nowhere" / "copy.db")
        result = run("db", "backup", str(target), KINAPSE_DATABASE=str(source))
        says = "already exists; back up to a new file"
    before = _files(folder) if where != "full disk" else []

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {target}: {says}"), line
    assert _files(folder) == before  # no copy, no journal beside it
    assert not (tmp_path / "nowhere").exists()
