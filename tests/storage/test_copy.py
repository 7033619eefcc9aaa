"""``db copy``: every row from SQLite to PostgreSQL and back, ids and all."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.models import Citation, MaterialKind, Meaning, QuizDraft, Session, Source, Usage
from bot.storage import (
    Limits,
    NewMaterial,
    Reservation,
    ScopeSettings,
    Storage,
    open_storage,
    postgres,
    sqlite,
)
from bot.storage.copy import COPY_ORDER, CopyError, copy_database
from bot.storage.whole_tables import COPY_BATCH
from tests.storage.test_storage import bundled_map
from tests.support.fakes import draft

GUILD, OTHER = 1001, 2002
SNOWFLAKE = 1_234_567_890_123_456_789  # beyond 32 bits: needs BIGINT on PostgreSQL


SOURCE = Citation(title="Membranes", url="https://cells.example/membranes", date="2026-11")


async def populate(storage: Storage) -> int:
    """A bit of everything; returns the id of a map that was made, then forgotten."""
    cells = bundled_map()
    maps = {}
    for scope, key in ((GUILD, "cells"), (OTHER, "cells"), (GUILD, "forgotten")):
        maps[(scope, key)] = await storage.create_map(
            scope=scope,
            key=key,
            topic=cells.topic if key == "cells" else "Forgotten",
            language="en",
            overview=cells.overview,
            source=Source.BUNDLED if key == "cells" else Source.GENERATED,
            model=None if key == "cells" else "claude-sonnet-4-6",
            concepts=cells.concepts,
            now=1_700_000_000.25,
        )
    first = maps[(GUILD, "cells")]
    organelles, _, membrane, division = await storage.key_concepts(first.id)
    lipids = draft("Lipids").model_copy(update={"sources": [SOURCE]})
    await storage.store_expansion(
        membrane.id, [lipids, draft("Proteins")], leaf=False, model="claude-sonnet-4-6", now=3.5
    )
    [written, _] = await storage.children(membrane.id)
    await storage.refresh_concept(written.id, draft("Lipids"), model="claude-opus-4-6", now=4.5)
    await storage.claim_expansion(division.id, now=5.0, lease=60)
    await storage.release_expansion(division.id, "Claude was busy.")
    await storage.count_open(organelles.id)
    await storage.save_session(
        Session(
            message_id=SNOWFLAKE,
            owner_id=SNOWFLAKE - 1,
            scope=GUILD,
            map_id=first.id,
            concept_id=membrane.id,
            history=[None, organelles.id],
        ),
        now=12.5,
    )
    await storage.record_usage(
        scope=GUILD,
        user_id=SNOWFLAKE - 2,
        request="r1",
        kind="expand",
        usage=[Usage(model="claude-sonnet-4-6", input_tokens=10, output_tokens=20, web_searches=2)],
        now=13.0,
    )
    # A generation under way, and one that ended with nothing spent.
    limits = Limits(now=15.0, window=600, allowed=5, budget=10**6, day_start=0, day_end=86_400)
    for _ in range(2):
        reserved = await storage.reserve(GUILD, SNOWFLAKE - 2, limits, tokens=5000, expires_at=15.5)
    assert isinstance(reserved, Reservation)
    await storage.release(reserved.id)
    await storage.save_scope_settings(
        GUILD,
        ScopeSettings(
            language="fr", daily_token_budget=9, web_search=False, block_domains=("x.example",)
        ),
    )
    await storage.remember_refusal(GUILD, "map:nope", 99.5)
    await storage.set_meta("commands_hash", "abc")
    await storage.save_translation(
        "ai agents", "ja", "", source_hash="e3b0", content='{"overview": "…"}', model="m", now=7.25
    )
    answer = await storage.save_answer(
        scope=GUILD,
        map_id=first.id,
        concept_id=membrane.id,
        question_key="why",
        question="Why?",
        text="Because.",
        model="claude-sonnet-4-6",
        now=14.0,
        sources=[SOURCE],
    )
    asked = await storage.record_ask(answer.id, SNOWFLAKE - 3, now=14.5)
    await storage.claim_share(asked, SNOWFLAKE - 3, now=14.75)
    await storage.record_ask(answer.id, SNOWFLAKE - 4, now=14.5)
    meanings = [
        Meaning(title="Cell (biology)", line="The smallest unit of life."),
        Meaning(title="Cell (battery)", line="One unit of a battery."),
    ]
    await storage.save_meanings(GUILD, "cell", "Cell", meanings)
    await storage.save_alias(GUILD, "cell", "cells")
    chosen = (await storage.meanings(GUILD, "cell"))[0]
    await storage.save_retry(GUILD, chosen.title, meaning_id=chosen.id, now=15.0)
    await populate_learning(storage, first.id, organelles.id)
    # A map of a member's PDF: its bytes (not text) must come through whole.
    lecture = await storage.create_map(
        scope=GUILD,
        key="lecture 3",
        topic="Lecture 3",
        language="en",
        overview=cells.overview,
        source=Source.GENERATED,
        model="claude-sonnet-4-6",
        concepts=cells.concepts,
        now=16.0,
        material=NewMaterial(
            kind=MaterialKind.PDF,
            name="lecture-3.pdf",
            media_type="application/pdf",
            data=b"%PDF-1.4\x00\xff\xfe binary",
            digest="d" * 64,
            pages=3,
            shared_by=SNOWFLAKE - 3,
        ),
    )
    await storage.set_material_file(lecture.id, "file_011CNha8iCJcU1wXNR6q4V8w")
    forgotten = maps[(GUILD, "forgotten")].id
    assert await storage.delete_map(GUILD, "forgotten")
    return forgotten


async def populate_learning(storage: Storage, map_id: int, concept_id: int) -> None:
    """A member's exploration, a quiz answered, a deck reviewed, a thread and a forum."""
    member = SNOWFLAKE - 3
    session = Session(
        message_id=SNOWFLAKE + 1, owner_id=member, scope=GUILD, map_id=map_id, concept_id=None
    )
    await storage.save_click(session, concept_id, now=16.0)
    question = QuizDraft(
        prompt="Which?", options=["A", "B", "C"], correct=1, explanation="B is right."
    )
    _, first = await storage.create_quiz(
        scope=GUILD,
        channel_id=SNOWFLAKE + 2,
        map_id=map_id,
        concept_id=None,
        starter_id=member,
        seconds=30,
        questions=[(concept_id, question)],
        written_by=None,
        now=17.0,
    )
    await storage.answer_question(
        first.id, user_id=member, scope=GUILD, name="Ada", choice=1, now=18.0
    )
    await storage.save_concept_questions([(concept_id, question)], model="claude", now=18.5)
    card, _ = await storage.add_card(
        user_id=member,
        concept_id=concept_id,
        topic="Cells",
        title="Organelles",
        prompt="What?",
        answer="That.",
        fsrs="{}",
        due=19.0,
        now=19.0,
    )
    await storage.review_card(card.id, member, fsrs="{}", due=99.0, rating=3, now=20.0)
    await storage.save_thread(
        scope=GUILD,
        kind="concept",
        target=concept_id,
        channel_id=SNOWFLAKE + 2,
        thread_id=SNOWFLAKE + 3,
        now=21.0,
    )
    await storage.set_forum_channel(GUILD, SNOWFLAKE + 4)


async def everything(database: Path | str) -> dict[str, Any]:
    """Every table's columns and rows, read the way ``db copy`` reads them."""
    found = {}
    async with open_storage(database) as storage:
        for table in COPY_ORDER:
            columns, batches = await storage.read_rows(table)
            found[table] = (columns, [tuple(row) async for batch in batches for row in batch])
    return found


@pytest.fixture(params=[COPY_BATCH, 2], ids=["batch", "small-batches"])
def batch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Rows held at once; with 2, every table of the copy is read in several batches."""
    for backend in (sqlite, postgres):
        monkeypatch.setattr(backend, "COPY_BATCH", request.param)
    return request.param


async def test_sqlite_to_postgres_and_back_keeps_every_row(
    tmp_path: Path, postgres_url: str, batch: int
):
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    async with open_storage(source) as storage:
        forgotten = await populate(storage)
    original = await everything(source)
    assert all(rows for _, rows in original.values())  # every table has something to copy

    copied = await copy_database(source, postgres_url)
    assert {c.table: c.rows for c in copied} == {t: len(r) for t, (_, r) in original.items()}
    assert await everything(postgres_url) == original
    await copy_database(postgres_url, back)
    assert await everything(back) == original

    # Neither copy hands out the forgotten map's id (a stale button may still carry it).
    for database in (postgres_url, back):
        async with open_storage(database) as storage:
            new = await storage.create_map(
                scope=GUILD,
                key="new",
                topic="New",
                language="en",
                overview="New.",
                source=Source.GENERATED,
                model="m",
                concepts=[draft("One")],
                now=20.0,
            )
            assert new.id > forgotten


async def test_a_non_empty_target_is_refused_untouched(tmp_path: Path, database: Path | str):
    source = tmp_path / "source.db"
    async with open_storage(source) as storage:
        await populate(storage)
    async with open_storage(database) as storage:
        await storage.set_meta("mine", "keep")
    with pytest.raises(CopyError, match="is not empty"):
        await copy_database(source, database)
    async with open_storage(database) as storage:
        assert await storage.count_rows("maps") == 0
        assert await storage.get_meta("mine") == "keep"


def foreign_sqlite(path: Path) -> bytes:
    """Another application's SQLite file, with a row; its bytes."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('mine')")
        db.commit()
    return path.read_bytes()


async def foreign_postgres(url: str) -> set[str]:
    """Another application's tables, with a row, in the PostgreSQL schema; their names."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT)")
        await connection.execute("INSERT INTO notes (body) VALUES ('mine')")
        return await postgres_tables(url, connection)
    finally:
        await connection.close()


async def postgres_tables(url: str, connection: asyncpg.Connection | None = None) -> set[str]:
    own = connection or await asyncpg.connect(url)
    try:
        rows = await own.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        return {row[0] for row in rows}
    finally:
        if connection is None:
            await own.close()


async def kinapse_file(path: Path) -> None:
    async with open_storage(path) as storage:
        await populate(storage)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_another_applications_sqlite_file_is_refused_unchanged_at_either_end(
    tmp_path: Path,
):
    theirs, ours = tmp_path / "theirs.db", tmp_path / "ours.db"
    before = foreign_sqlite(theirs)
    await kinapse_file(ours)

    with pytest.raises(CopyError) as into:
        await copy_database(ours, theirs)
    assert theirs.read_bytes() == before
    assert str(into.value).endswith(
        "theirs.db holds another application's tables (notes); copy into a new database"
    )
    with pytest.raises(CopyError) as out_of:
        await copy_database(theirs, tmp_path / "new.db")
    assert theirs.read_bytes() == before
    assert str(out_of.value).endswith("theirs.db is not a Kinapse database (it holds notes)")
    assert not (tmp_path / "new.db").exists()  # the target was not made either
    assert [n for n in names(tmp_path) if not n.startswith("ours.db")] == ["theirs.db"]


async def test_another_applications_postgres_schema_is_refused_unchanged_at_either_end(
    tmp_path: Path, postgres_url: str
):
    ours = tmp_path / "ours.db"
    await kinapse_file(ours)
    before = await foreign_postgres(postgres_url)

    with pytest.raises(CopyError) as into:
        await copy_database(ours, postgres_url)
    assert await postgres_tables(postgres_url) == before == {"notes"}
    assert "holds another application's tables (notes)" in str(into.value)
    with pytest.raises(CopyError) as out_of:
        await copy_database(postgres_url, tmp_path / "new.db")
    assert await postgres_tables(postgres_url) == before
    assert "is not a Kinapse database (it holds notes)" in str(out_of.value)
    assert not (tmp_path / "new.db").exists()


async def test_an_empty_postgres_schema_or_an_empty_kinapse_one_takes_a_copy(
    tmp_path: Path, postgres_url: str, postgres_server: Any
):
    ours = tmp_path / "ours.db"
    await kinapse_file(ours)
    await copy_database(ours, postgres_url)  # empty: migrated, then filled
    migrated_empty = await postgres_server.create_database()
    async with open_storage(migrated_empty):
        pass
    await copy_database(ours, migrated_empty)  # a current schema with no rows
    assert await everything(migrated_empty) == await everything(ours)


async def test_materials_are_read_two_at_a_time_whatever_the_batch(database: Path | str):
    """A material's row holds a whole file (up to 30 MB): ``db copy`` holds two of them at
    once, not a thousand, while other tables go by the usual batch."""
    async with open_storage(database) as storage:
        for n in range(3):
            await storage.create_map(
                scope=GUILD,
                key=f"notes {n}",
                topic=f"Notes {n}",
                language="en",
                overview="Notes.",
                source=Source.GENERATED,
                model="m",
                concepts=[draft("One")],
                now=20.0,
                material=NewMaterial(
                    kind=MaterialKind.TEXT,
                    name=f"notes-{n}.md",
                    media_type="text/plain",
                    data=b"x" * 1000,
                    digest=str(n) * 64,
                ),
            )
        _, materials = await storage.read_rows("materials")
        _, maps = await storage.read_rows("maps")
        assert [len(batch) async for batch in materials] == [2, 1]
        assert [len(batch) async for batch in maps] == [3]
