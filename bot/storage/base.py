"""The storage interface the core uses, written once for every backend.

``Storage`` holds every use case, on the statements of ``sql.py`` (``?`` placeholders,
SQL both SQLite and PostgreSQL run alike); a backend (``sqlite.py``, ``postgres.py``)
only supplies connections: reads outside a transaction, and ``transaction()`` yielding a
``Transaction``. Parts of it are mixins of their own, each with the hooks it needs of a
backend: the changes its writes report to readers holding what they read (``changes.py``),
what generations spend and what bounds them (``limits.py``), answers (``answers.py``), the
meanings, aliases and retries of new topics (``new_topics.py``), who asked for an answer and
shared it (``shares.py``), a scope's settings (``settings.py``), a refreshed concept's
versions (``versions.py``), quizzes (``quizzes.py``), members' progress, decks and threads
(``learning.py``), the material of a map made from a member's file or page
(``materials.py``), and whole tables for ``db copy`` (``whole_tables.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from bot.models import (
    BundledConcept,
    ChildState,
    Citation,
    Concept,
    ConceptDraft,
    ConceptMap,
    Level,
    Session,
    Source,
    citations_json,
)
from bot.storage.answers import Answers
from bot.storage.changes import Changes
from bot.storage.clicks import Click, has_work, write_clicks
from bot.storage.errors import SchemaTooNew
from bot.storage.learning import LearningStore
from bot.storage.limits import UsageAndLimits
from bot.storage.materials import Materials, NewMaterial, insert_material
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION, Dialect
from bot.storage.new_topics import NewTopics
from bot.storage.quizzes import QuizStore
from bot.storage.records import (
    FORGOTTEN_SCOPE,
    Change,
    Changed,
    MapListing,
    Pruned,
    _concept,
    _map,
    _state_of,
)
from bot.storage.settings import StoredSettings
from bot.storage.shares import Shares
from bot.storage.sql import (
    CLAIM_EXPANSION,
    COUNT_MAPS,
    DELETE_MAP,
    DELETE_MAP_BY_ID,
    DELETE_SESSIONS_OF_MAP,
    FINISH_EXPANSION,
    FORGET_MAP,
    INSERT_CONCEPT,
    INSERT_MAP,
    LIST_MAPS,
    MATCHING_TOPICS,
    PREFIX_TOPICS,
    PRUNE_ASKS,
    PRUNE_REFUSALS,
    PRUNE_RESERVATIONS,
    PRUNE_RETRIES,
    PRUNE_SESSIONS,
    PRUNE_USAGE,
    RECOUNT_MAP,
    RELEASE_EXPANSION,
    SELECT_CHILDREN,
    SELECT_CONCEPT,
    SELECT_FORGOTTEN,
    SELECT_KEY_CONCEPTS,
    SELECT_KEYS_AMONG,
    SELECT_MAP_BY_ID,
    SELECT_MAP_BY_KEY,
    SELECT_MAP_CONCEPTS,
    SELECT_MAP_ID_BY_KEY,
    SELECT_OPENED_IDS,
    SELECT_PATH,
    SELECT_SESSION,
    SELECT_TOPICS,
)
from bot.storage.translations import Translations
from bot.storage.versions import Versions
from bot.storage.whole_tables import WholeTables

log = logging.getLogger(__name__)

EXPANSION_POLL = 0.5  # seconds between a waiter's reads, so it sees a result within a second
PURGE_BATCH = 2_000  # sessions deleted per transaction: a few milliseconds each


Row = Any  # a backend's row: indexable by position, and dict(row) gives its columns


class Transaction(Protocol):
    """One backend transaction; SQL with ``?`` placeholders."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetchmany(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[Row]:
        """Run a statement once per row of parameters (one round trip where the backend
        can); every row the runs returned, in order."""


class Storage(
    Changes,
    UsageAndLimits,
    Answers,
    NewTopics,
    Shares,
    StoredSettings,
    Versions,
    Translations,
    QuizStore,
    LearningStore,
    Materials,
    WholeTables,
    ABC,
):
    """The database. Use ``async with open_storage(database) as storage``.

    ``database`` is a SQLite file path or a ``postgresql://`` URL.
    """

    dialect: Dialect
    bytewise = ""  # a COLLATE clause comparing text in code point order, if not the default
    where: str  # the file or the URL without its password, for messages

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One write transaction; no other coroutine's statements run inside it."""

    @abstractmethod
    async def _schema_version(self, db: Transaction) -> int:
        """The database's schema version, 0 when new; may wait for another migrating process."""

    @abstractmethod
    async def _set_schema_version(self, db: Transaction, version: int) -> None: ...

    async def _settled_version(self) -> int | None:
        """The schema version read without a write transaction, when the backend can."""
        return None

    async def database_time(self) -> float | None:
        """The database server's clock, in seconds since the epoch; None when the database
        has no clock of its own (SQLite: the one process holding the file tells its time)."""
        return None

    async def migrate(self) -> None:
        """Run each pending migration in its own transaction; refuse a newer database."""
        if await self._settled_version() == SCHEMA_VERSION:
            # Nothing to do, and nothing written: a database another process is in the
            # middle of writing to opens at once.
            return
        while True:
            async with self.transaction() as db:
                version = await self._schema_version(db)
                if version > SCHEMA_VERSION:
                    raise SchemaTooNew(
                        f"{self.where} has schema version {version}, newer than this Kinapse "
                        f"understands ({SCHEMA_VERSION}); upgrade Kinapse or point "
                        "KINAPSE_DATABASE elsewhere."
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in MIGRATIONS[version].statements(self.dialect):
                    await db.execute(statement)
                await self._set_schema_version(db, version + 1)
            log.info("Database %s migrated to schema version %d", self.where, version + 1)

    @abstractmethod
    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """One row read outside any transaction."""

    @abstractmethod
    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row read outside any transaction."""

    async def _scan(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a read whose cost grows with the scope (every topic it holds, or
        counting its maps).

        Like ``_all``; SQLite runs it on a connection of its own, so that the
        reads of a click never queue behind it.
        """
        return await self._all(sql, params)

    # -- maps -----------------------------------------------------------------

    async def get_map(self, map_id: int) -> ConceptMap | None:
        row = await self._one(SELECT_MAP_BY_ID, (map_id,))
        return _map(row) if row else None

    async def find_map(self, scope: int, key: str) -> ConceptMap | None:
        row = await self._one(SELECT_MAP_BY_KEY, (scope, key))
        return _map(row) if row else None

    async def create_map(
        self,
        *,
        scope: int,
        key: str,
        topic: str,
        language: str,
        overview: str,
        source: Source,
        model: str | None,
        concepts: Sequence[ConceptDraft],
        now: float,
        level: Level = Level.STANDARD,
        sources: Sequence[Citation] = (),
        volatile: bool = False,
        material: NewMaterial | None = None,
    ) -> ConceptMap:
        """Store a map and its concept tree at once; an existing map for the key wins.

        A generated map (``model`` given) stores who wrote each concept, when, and the
        search results it rests on; a curated map's sources stay in its file. A map of a
        member's ``material`` stores it with the map.
        """
        written = _Written(model, now) if model is not None else None
        async with self._changing() as note, self.transaction() as db:
            inserted = await db.fetchone(
                INSERT_MAP,
                (
                    scope,
                    key,
                    topic,
                    language,
                    level.value,
                    overview,
                    source.value,
                    model,
                    now,
                    citations_json(list(sources)) if written else None,
                    int(volatile),
                ),
            )
            if inserted is not None:
                map_id = inserted[0]
                await _insert_concepts(db, map_id, None, 1, concepts, written)
                if material is not None:
                    await insert_material(db, map_id, material, now)
                await db.execute(RECOUNT_MAP, (map_id,))
                await note(db, Change(Changed.MAP, map_id, scope=scope, key=key))
            else:  # stored meanwhile, maybe by another process
                existing = await db.fetchone(SELECT_MAP_ID_BY_KEY, (scope, key))
                assert existing is not None
                map_id = existing[0]
        stored = await self.get_map(map_id)
        assert stored is not None
        return stored

    async def delete_map(self, scope: int, key: str) -> bool:
        """Delete the map and everything of it, in one transaction."""
        async with self._changing() as note, self.transaction() as db:
            deleted = await db.fetchone(DELETE_MAP, (scope, key))
            if deleted is not None:
                await note(db, Change(Changed.GONE, deleted[0], scope=scope, key=key))
        return deleted is not None

    async def forget_map(self, scope: int, key: str) -> bool:
        """Take the map out of the scope at once: no lookup finds it and its key is free;
        ``purge_forgotten`` deletes its rows later."""
        async with self._changing() as note, self.transaction() as db:
            forgotten = await db.fetchone(FORGET_MAP, (FORGOTTEN_SCOPE, scope, key))
            if forgotten is not None:
                await note(db, Change(Changed.GONE, forgotten[0], scope=scope, key=key))
        return forgotten is not None

    async def purge_forgotten(self) -> int:
        """Delete the forgotten maps with their concepts and sessions, in transactions
        short enough that no click waits long behind them; how many maps went."""
        purged = 0
        for (map_id,) in await self._all(SELECT_FORGOTTEN, (FORGOTTEN_SCOPE,)):
            while True:
                async with self.transaction() as db:
                    deleted = await db.execute(DELETE_SESSIONS_OF_MAP, (map_id, PURGE_BATCH))
                if deleted < PURGE_BATCH:
                    break
            async with self._changing() as note, self.transaction() as db:
                if await db.execute(DELETE_MAP_BY_ID, (map_id,)):
                    purged += 1
                    await note(db, Change(Changed.GONE, map_id, scope=FORGOTTEN_SCOPE))
        return purged

    async def list_maps(self, scope: int, limit: int, offset: int = 0) -> list[MapListing]:
        """``limit`` of the scope's maps from ``offset`` on: most explored first, then by
        topic (case aside), then oldest first."""
        rows = await self._all(LIST_MAPS, (scope, limit, offset))
        return [MapListing(r[0], r[1], Source(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]

    async def count_maps(self, scope: int) -> int:
        # Counting walks the scope's index entries: cheap, but it grows with the scope.
        [row] = await self._scan(COUNT_MAPS, (scope,))
        return row[0]

    async def stored_keys(self, scope: int, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` the scope has a map stored under (e.g. which curated maps it
        has opened); as cheap with 10,000 maps in the scope as with 10."""
        if not keys:
            return set()
        sql = SELECT_KEYS_AMONG.format(keys=", ".join("?" * len(keys)))
        return {r[0] for r in await self._all(sql, (scope, *keys))}

    async def matching_topics(self, scope: int, needle: str, limit: int) -> list[tuple[str, str]]:
        """(topic, key) of the scope's best ``limit`` maps for a typed ``needle`` (a search
        key): prefix matches first, then word-prefix, then substring, then by topic."""
        if (after := _successor(needle)) is not None:
            # Enough maps start with it (the common case once a few letters are typed):
            # an index range, whatever the scope holds.
            sql = PREFIX_TOPICS.format(bytewise=self.bytewise)
            rows = await self._all(sql, (scope, needle, after, limit))
            if len(rows) == limit:
                return [(r[0], r[1]) for r in rows]
        like = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self._all(
            MATCHING_TOPICS, (scope, f"%{like}%", f"{like}%", f"% {like}%", limit)
        )
        return [(r[0], r[1]) for r in rows]

    async def topics(self, scope: int) -> list[tuple[str, str]]:
        """(topic, key) of every map stored for the scope."""
        return [(r[0], r[1]) for r in await self._scan(SELECT_TOPICS, (scope,))]

    # -- concepts -------------------------------------------------------------

    async def get_concept(self, concept_id: int) -> Concept | None:
        row = await self._one(SELECT_CONCEPT, (concept_id,))
        return _concept(row) if row else None

    async def key_concepts(self, map_id: int) -> list[Concept]:
        return [_concept(r) for r in await self._all(SELECT_KEY_CONCEPTS, (map_id,))]

    async def children(self, concept_id: int) -> list[Concept]:
        return [_concept(r) for r in await self._all(SELECT_CHILDREN, (concept_id,))]

    async def map_concepts(self, map_id: int) -> list[Concept]:
        """Every concept of the map, by depth, then parent, then position."""
        return [_concept(r) for r in await self._all(SELECT_MAP_CONCEPTS, (map_id,))]

    async def opened_ids(self, map_id: int) -> set[int]:
        """The map's concepts someone has opened (for the map's picture)."""
        return {r[0] for r in await self._all(SELECT_OPENED_IDS, (map_id,))}

    async def path(self, concept_id: int) -> list[Concept]:
        """The concept's ancestors from its key concept down, the concept last."""
        return [_concept(r) for r in await self._all(SELECT_PATH, (concept_id,))]

    async def count_open(self, concept_id: int) -> None:
        await self.save_click(None, concept_id, now=0.0)

    async def save_click(self, session: Session | None, opened: int | None, *, now: float) -> None:
        """After a click was answered: save where the member stands and count the concept
        they opened, in one write transaction."""
        await self.save_clicks([(session, opened)], now=now)

    async def save_clicks(self, clicks: Sequence[Click], *, now: float) -> None:
        """After many clicks were answered: save where each member stands and count every
        concept opened, in one write transaction (``clicks.py``); what changed of the maps
        and concepts is noted for their readers."""
        if has_work(clicks):
            async with self._changing() as note, self.transaction() as db:
                await write_clicks(db, clicks, now, note)

    async def claim_expansion(self, concept_id: int, *, now: float, lease: float) -> bool:
        """Mark the concept pending for ``lease`` seconds; False if someone else holds it."""
        async with self._changing() as note, self.transaction() as db:
            claimed = await db.fetchone(CLAIM_EXPANSION, (now + lease, concept_id, now))
            if claimed is not None:
                await note(db, Change(Changed.CONCEPT, claimed[0], concept_id))
        return claimed is not None

    async def store_expansion(
        self,
        concept_id: int,
        concepts: Sequence[ConceptDraft],
        *,
        leaf: bool,
        model: str | None = None,
        now: float | None = None,
    ) -> None:
        """Store the sub-concepts (or the leaf mark) and end the pending state, atomically;
        ``model`` wrote them at ``now``, from the sources each carries."""
        state = ChildState.LEAF if leaf else ChildState.EXPANDED
        written = _Written(model, now) if model is not None else None
        async with self._changing() as note, self.transaction() as db:
            parent = await db.fetchone(FINISH_EXPANSION, (state.value, concept_id))
            if parent is None:
                return  # deleted meanwhile, or already stored by a generation that outlived us
            if not leaf:
                await _insert_concepts(db, parent[0], concept_id, parent[1] + 1, concepts, written)
                await db.execute(RECOUNT_MAP, (parent[0],))
            # Noted before the waiters are woken: what they read next is not held stale.
            await note(db, Change(Changed.CONCEPT, parent[0], concept_id))
            await self._announce_expansion(db, concept_id)

    async def release_expansion(self, concept_id: int, error: str | None) -> None:
        """A generation failed: the next click tries again."""
        async with self._changing() as note, self.transaction() as db:
            released = await db.fetchone(RELEASE_EXPANSION, (error, concept_id))
            if released is not None:
                await note(db, Change(Changed.CONCEPT, released[0], concept_id))
                await self._announce_expansion(db, concept_id)

    async def wait_for_expansion(self, concept_id: int, seconds: float) -> Concept | None:
        """Wait while another process generates the concept's sub-concepts.

        The concept once it is no longer pending (settled, or released with its
        error), or None if it is still pending after ``seconds``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        with self._expansion_signal(concept_id) as signal:
            while True:
                signal.clear()
                concept = await self.get_concept(concept_id)
                if concept is None or concept.state is not ChildState.PENDING:
                    return concept
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                # The poll is the fallback: a backend's wake-up may be lost.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(signal.wait(), min(EXPANSION_POLL, remaining))

    @abstractmethod
    async def _announce_expansion(self, db: Transaction, concept_id: int) -> None:
        """Wake, once ``db`` commits, the other processes waiting on the concept."""

    @abstractmethod
    def _expansion_signal(self, concept_id: int) -> AbstractContextManager[asyncio.Event]:
        """An event set when the concept may have settled; a backend with no
        cross-process wake-up leaves it unset and the waiter polls."""

    # -- sessions -------------------------------------------------------------

    async def save_session(self, session: Session, *, now: float) -> None:
        await self.save_click(session, None, now=now)

    async def get_session(self, message_id: int) -> Session | None:
        row = await self._one(SELECT_SESSION, (message_id,))
        if row is None:
            return None
        return Session(
            message_id=row[0],
            owner_id=row[1],
            scope=row[2],
            map_id=row[3],
            concept_id=row[4],
            history=json.loads(row[5]),
        )

    # -- upkeep ---------------------------------------------------------------

    async def prune(
        self,
        *,
        sessions_before: float,
        now: float,
        usage_before: float,
        retries_before: float,
    ) -> Pruned:
        """Delete sessions untouched since ``sessions_before``, refusals and reservations
        that have expired, usage recorded before ``usage_before``, and retries and askings
        of answers stored before ``retries_before``, in one transaction."""
        async with self.transaction() as db:
            return Pruned(
                sessions=await db.execute(PRUNE_SESSIONS, (sessions_before,)),
                refusals=await db.execute(PRUNE_REFUSALS, (now,)),
                usage=await db.execute(PRUNE_USAGE, (usage_before,)),
                retries=await db.execute(PRUNE_RETRIES, (retries_before,)),
                reservations=await db.execute(PRUNE_RESERVATIONS, (now,)),
                asks=await db.execute(PRUNE_ASKS, (retries_before,)),
            )


@dataclass(frozen=True)
class _Written:
    """Who wrote generated concepts, and when."""

    model: str
    at: float | None


async def _insert_concepts(
    db: Transaction,
    map_id: int,
    parent_id: int | None,
    depth: int,
    concepts: Sequence[ConceptDraft],
    written: _Written | None,
) -> None:
    """Insert a concept tree; generated concepts (``written``) with their provenance and
    sources, curated ones without (their file keeps them)."""
    model = written.model if written is not None else None
    now = written.at if written is not None else None
    for position, concept in enumerate(concepts):
        inserted = await db.fetchone(
            INSERT_CONCEPT,
            (
                map_id,
                parent_id,
                position,
                depth,
                concept.title,
                concept.summary,
                concept.detail,
                _state_of(concept).value,
                model,
                now,
                citations_json(concept.sources) if written is not None else None,
            ),
        )
        if isinstance(concept, BundledConcept) and concept.children:
            assert inserted is not None
            await _insert_concepts(db, map_id, inserted[0], depth + 1, concept.children, written)


def _successor(text: str) -> str | None:
    """The first string after every string that starts with ``text``, in code point order
    (None if there is none: ``text`` ends with the last code point)."""
    if not text or ord(text[-1]) == sys.maxunicode:
        return None
    after = ord(text[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:  # surrogates are no characters; UTF-8 has none
        after = 0xE000
    return text[:-1] + chr(after)
