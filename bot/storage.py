"""SQLite storage: the only module with SQL.

One writer connection, guarded by a lock so that the transactions of
different coroutines never interleave (a shared aiosqlite connection does not
isolate them), every write in ``BEGIN IMMEDIATE``; a second connection for
reads, which WAL lets run beside the writer. The schema version lives in
``PRAGMA user_version``; each migration runs in one transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import aiosqlite

from bot.models import (
    BundledConcept,
    ChildState,
    Concept,
    ConceptDraft,
    ConceptMap,
    Session,
    Source,
    Usage,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
SESSION_HISTORY_MAX = 50  # Back goes this many cards deep; older steps are dropped

MIGRATIONS: list[list[str]] = [
    # 1: the first schema
    [
        # AUTOINCREMENT: ids live on in custom_ids for ever, so a forgotten map's
        # ids must never be handed to a new one.
        """CREATE TABLE maps (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            scope INTEGER NOT NULL,
            key TEXT NOT NULL,
            topic TEXT NOT NULL,
            language TEXT NOT NULL,
            overview TEXT NOT NULL,
            source TEXT NOT NULL,
            model TEXT,
            created_at REAL NOT NULL,
            UNIQUE (scope, key)
        )""",
        """CREATE TABLE concepts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            map_id INTEGER NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES concepts (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            depth INTEGER NOT NULL,
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'unexpanded',
            lease_until REAL,
            error TEXT,
            open_count INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX concepts_by_parent ON concepts (parent_id, position)",
        "CREATE INDEX concepts_by_map ON concepts (map_id, parent_id, position)",
        """CREATE TABLE sessions (
            message_id INTEGER PRIMARY KEY,
            owner_id INTEGER NOT NULL,
            scope INTEGER NOT NULL,
            map_id INTEGER NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            concept_id INTEGER REFERENCES concepts (id) ON DELETE SET NULL,
            history TEXT NOT NULL DEFAULT '[]',
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            scope INTEGER NOT NULL,
            user_id INTEGER,
            request TEXT NOT NULL,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX usage_by_scope ON usage (scope, created_at)",
        "CREATE INDEX usage_by_user ON usage (user_id, created_at)",
        """CREATE TABLE scope_settings (
            scope INTEGER PRIMARY KEY,
            language TEXT,
            daily_token_budget INTEGER
        )""",
        """CREATE TABLE refusals (
            scope INTEGER NOT NULL,
            key TEXT NOT NULL,
            until REAL NOT NULL,
            PRIMARY KEY (scope, key)
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Kinapse; refusing to touch it."""


@dataclass(frozen=True)
class MapListing:
    """A map as /maps lists it."""

    topic: str
    key: str
    source: Source
    model: str | None
    opened: int
    total: int


@dataclass(frozen=True)
class UsageTotals:
    calls: int
    tokens: int


@dataclass(frozen=True)
class ScopeSettings:
    language: str | None = None
    daily_token_budget: int | None = None


# -- statements ---------------------------------------------------------------

SELECT_MAP_COLUMNS = """
    SELECT m.id, m.scope, m.topic, m.key, m.language, m.overview, m.source, m.model,
           (SELECT COUNT(*) FROM concepts c WHERE c.map_id = m.id AND c.open_count > 0)
               AS opened,
           (SELECT COUNT(*) FROM concepts c WHERE c.map_id = m.id) AS total
    FROM maps m
"""
SELECT_MAP_BY_KEY = SELECT_MAP_COLUMNS + " WHERE m.scope = ? AND m.key = ?"
SELECT_MAP_BY_ID = SELECT_MAP_COLUMNS + " WHERE m.id = ?"
INSERT_MAP = """
    INSERT INTO maps (scope, key, topic, language, overview, source, model, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
SELECT_MAP_ID_BY_KEY = "SELECT id FROM maps WHERE scope = ? AND key = ?"
DELETE_MAP = "DELETE FROM maps WHERE scope = ? AND key = ?"
LIST_MAPS = """
    SELECT m.topic, m.key, m.source, m.model,
           COALESCE(SUM(c.open_count > 0), 0) AS opened, COUNT(c.id)
    FROM maps m LEFT JOIN concepts c ON c.map_id = m.id
    WHERE m.scope = ?
    GROUP BY m.id
    ORDER BY opened DESC, m.topic COLLATE NOCASE
"""
SELECT_TOPICS = "SELECT topic, key FROM maps WHERE scope = ? ORDER BY topic COLLATE NOCASE"

CONCEPT_COLUMNS = """
    SELECT id, map_id, parent_id, position, depth, title, summary, detail, state, error
    FROM concepts
"""
SELECT_CONCEPT = CONCEPT_COLUMNS + " WHERE id = ?"
SELECT_KEY_CONCEPTS = CONCEPT_COLUMNS + " WHERE map_id = ? AND parent_id IS NULL ORDER BY position"
SELECT_CHILDREN = CONCEPT_COLUMNS + " WHERE parent_id = ? ORDER BY position"
SELECT_MAP_CONCEPTS = CONCEPT_COLUMNS + " WHERE map_id = ? ORDER BY depth, parent_id, position"
SELECT_PATH = """
    WITH RECURSIVE path (id, parent_id, level) AS (
        SELECT id, parent_id, 0 FROM concepts WHERE id = ?
        UNION ALL
        SELECT c.id, c.parent_id, path.level + 1
        FROM concepts c JOIN path ON c.id = path.parent_id
    )
    SELECT c.id, c.map_id, c.parent_id, c.position, c.depth, c.title, c.summary, c.detail,
           c.state, c.error
    FROM path JOIN concepts c ON c.id = path.id
    ORDER BY path.level DESC
"""
INSERT_CONCEPT = """
    INSERT INTO concepts (map_id, parent_id, position, depth, title, summary, detail, state)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
COUNT_OPEN = "UPDATE concepts SET open_count = open_count + 1 WHERE id = ?"
CLAIM_EXPANSION = """
    UPDATE concepts SET state = 'pending', lease_until = ?, error = NULL
    WHERE id = ? AND (state = 'unexpanded' OR (state = 'pending' AND lease_until < ?))
"""
FINISH_EXPANSION = "UPDATE concepts SET state = ?, lease_until = NULL, error = NULL WHERE id = ?"
RELEASE_EXPANSION = """
    UPDATE concepts SET state = 'unexpanded', lease_until = NULL, error = ?
    WHERE id = ? AND state = 'pending'
"""

UPSERT_SESSION = """
    INSERT INTO sessions (message_id, owner_id, scope, map_id, concept_id, history, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (message_id) DO UPDATE SET
        concept_id = excluded.concept_id, history = excluded.history,
        updated_at = excluded.updated_at
"""
SELECT_SESSION = """
    SELECT message_id, owner_id, scope, map_id, concept_id, history FROM sessions
    WHERE message_id = ?
"""

INSERT_USAGE = """
    INSERT INTO usage (scope, user_id, request, kind, model, input_tokens, output_tokens,
                       cache_read_tokens, cache_write_tokens, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
SUM_SCOPE_USAGE = """
    SELECT COUNT(*),
           COALESCE(SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)
    FROM usage WHERE scope = ? AND created_at >= ?
"""
SELECT_USER_REQUESTS = """
    SELECT MIN(created_at) FROM usage WHERE user_id = ? AND created_at > ?
    GROUP BY request ORDER BY 1
"""
TOP_USERS = """
    SELECT user_id,
           SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens
    FROM usage WHERE scope = ? AND created_at >= ? AND user_id IS NOT NULL
    GROUP BY user_id ORDER BY tokens DESC LIMIT ?
"""

SELECT_SCOPE_SETTINGS = "SELECT language, daily_token_budget FROM scope_settings WHERE scope = ?"
UPSERT_SCOPE_SETTINGS = """
    INSERT INTO scope_settings (scope, language, daily_token_budget) VALUES (?, ?, ?)
    ON CONFLICT (scope) DO UPDATE SET
        language = excluded.language, daily_token_budget = excluded.daily_token_budget
"""

UPSERT_REFUSAL = """
    INSERT INTO refusals (scope, key, until) VALUES (?, ?, ?)
    ON CONFLICT (scope, key) DO UPDATE SET until = excluded.until
"""
SELECT_REFUSAL = "SELECT until FROM refusals WHERE scope = ? AND key = ? AND until > ?"

SELECT_META = "SELECT value FROM meta WHERE key = ?"
UPSERT_META = """
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""


def _concept(row: aiosqlite.Row) -> Concept:
    return Concept.model_validate(dict(row))


def _map(row: aiosqlite.Row) -> ConceptMap:
    return ConceptMap.model_validate(dict(row))


def _state_of(concept: ConceptDraft) -> ChildState:
    if isinstance(concept, BundledConcept):
        if concept.leaf:
            return ChildState.LEAF
        if concept.children:
            return ChildState.EXPANDED
    return ChildState.UNEXPANDED


class Storage:
    """The database. Use ``async with Storage.open(path) as storage``."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Self]:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        try:
            await _migrate(writer, path)
            reader = await _connect(path)
            try:
                yield cls(writer, reader)
            finally:
                await reader.close()
        finally:
            await writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; no other coroutine's statements run inside it."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                # Shielded so that a cancelled caller still leaves no open transaction.
                await asyncio.shield(self._writer.rollback())
                raise
            await asyncio.shield(self._writer.commit())

    async def _one(self, sql: str, params: Sequence = ()) -> aiosqlite.Row | None:
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _all(self, sql: str, params: Sequence = ()) -> list[aiosqlite.Row]:
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

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
    ) -> ConceptMap:
        """Store a map and its concept tree at once; an existing map for the key wins."""
        async with self.transaction() as db:
            async with db.execute(SELECT_MAP_ID_BY_KEY, (scope, key)) as cursor:
                existing = await cursor.fetchone()
            if existing is None:
                cursor = await db.execute(
                    INSERT_MAP,
                    (scope, key, topic, language, overview, source.value, model, now),
                )
                map_id = cursor.lastrowid
                await _insert_concepts(db, map_id, None, 1, concepts)
            else:
                map_id = existing[0]
        stored = await self.get_map(map_id)
        assert stored is not None
        return stored

    async def delete_map(self, scope: int, key: str) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(DELETE_MAP, (scope, key))
            return cursor.rowcount > 0

    async def list_maps(self, scope: int) -> list[MapListing]:
        rows = await self._all(LIST_MAPS, (scope,))
        return [MapListing(r[0], r[1], Source(r[2]), r[3], r[4], r[5]) for r in rows]

    async def topics(self, scope: int) -> list[tuple[str, str]]:
        """(topic, key) of every map stored for the scope."""
        return [(r[0], r[1]) for r in await self._all(SELECT_TOPICS, (scope,))]

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

    async def path(self, concept_id: int) -> list[Concept]:
        """The concept's ancestors from its key concept down, the concept last."""
        return [_concept(r) for r in await self._all(SELECT_PATH, (concept_id,))]

    async def count_open(self, concept_id: int) -> None:
        async with self.transaction() as db:
            await db.execute(COUNT_OPEN, (concept_id,))

    async def claim_expansion(self, concept_id: int, *, now: float, lease: float) -> bool:
        """Mark the concept pending for ``lease`` seconds; False if someone else holds it."""
        async with self.transaction() as db:
            cursor = await db.execute(CLAIM_EXPANSION, (now + lease, concept_id, now))
            return cursor.rowcount == 1

    async def store_expansion(
        self, concept_id: int, concepts: Sequence[ConceptDraft], *, leaf: bool
    ) -> None:
        """Store the sub-concepts (or the leaf mark) and end the pending state, atomically."""
        async with self.transaction() as db:
            async with db.execute(SELECT_CONCEPT, (concept_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None or (parent := _concept(row)).state.settled:
                return  # deleted meanwhile, or already stored by a generation that outlived us
            if not leaf:
                await _insert_concepts(db, parent.map_id, concept_id, parent.depth + 1, concepts)
            state = ChildState.LEAF if leaf else ChildState.EXPANDED
            await db.execute(FINISH_EXPANSION, (state.value, concept_id))

    async def release_expansion(self, concept_id: int, error: str | None) -> None:
        """A generation failed: the next click tries again."""
        async with self.transaction() as db:
            await db.execute(RELEASE_EXPANSION, (error, concept_id))

    # -- sessions -------------------------------------------------------------

    async def save_session(self, session: Session, *, now: float) -> None:
        history = json.dumps(session.history[-SESSION_HISTORY_MAX:])
        async with self.transaction() as db:
            await db.execute(
                UPSERT_SESSION,
                (
                    session.message_id,
                    session.owner_id,
                    session.scope,
                    session.map_id,
                    session.concept_id,
                    history,
                    now,
                ),
            )

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

    # -- usage and limits -----------------------------------------------------

    async def record_usage(
        self,
        *,
        scope: int,
        user_id: int | None,
        request: str,
        kind: str,
        usage: Sequence[Usage],
        now: float,
    ) -> None:
        if not usage:
            return
        async with self.transaction() as db:
            await db.executemany(
                INSERT_USAGE,
                [
                    (
                        scope,
                        user_id,
                        request,
                        kind,
                        u.model,
                        u.input_tokens,
                        u.output_tokens,
                        u.cache_read_tokens,
                        u.cache_write_tokens,
                        now,
                    )
                    for u in usage
                ],
            )

    async def usage_since(self, scope: int, since: float) -> UsageTotals:
        row = await self._one(SUM_SCOPE_USAGE, (scope, since))
        assert row is not None
        return UsageTotals(calls=row[0], tokens=row[1])

    async def user_requests_since(self, user_id: int, since: float) -> list[float]:
        """When each of the user's generation requests since ``since`` started, oldest first."""
        return [r[0] for r in await self._all(SELECT_USER_REQUESTS, (user_id, since))]

    async def top_users(self, scope: int, since: float, limit: int = 5) -> list[tuple[int, int]]:
        return [(r[0], r[1]) for r in await self._all(TOP_USERS, (scope, since, limit))]

    async def remember_refusal(self, scope: int, key: str, until: float) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_REFUSAL, (scope, key, until))

    async def refused_until(self, scope: int, key: str, now: float) -> float | None:
        row = await self._one(SELECT_REFUSAL, (scope, key, now))
        return row[0] if row else None

    # -- settings -------------------------------------------------------------

    async def scope_settings(self, scope: int) -> ScopeSettings:
        row = await self._one(SELECT_SCOPE_SETTINGS, (scope,))
        return ScopeSettings(*row) if row else ScopeSettings()

    async def save_scope_settings(self, scope: int, settings: ScopeSettings) -> None:
        async with self.transaction() as db:
            await db.execute(
                UPSERT_SCOPE_SETTINGS, (scope, settings.language, settings.daily_token_budget)
            )

    async def get_meta(self, key: str) -> str | None:
        row = await self._one(SELECT_META, (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_META, (key, value))


async def _connect(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row  # rows by column name, straight into the models
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await db.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode survives a killed process; only an OS crash can lose the last commit.
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("PRAGMA foreign_keys = ON")
    return db


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{path} has schema version {version}, newer than this Kinapse understands "
            f"({SCHEMA_VERSION}); upgrade Kinapse or point KINAPSE_DATABASE elsewhere."
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1]:
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await db.rollback()
            raise
        await db.commit()
        log.info("Database %s migrated to schema version %d", path, number)


async def _insert_concepts(
    db: aiosqlite.Connection,
    map_id: int,
    parent_id: int | None,
    depth: int,
    concepts: Sequence[ConceptDraft],
) -> None:
    for position, concept in enumerate(concepts):
        cursor = await db.execute(
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
            ),
        )
        if isinstance(concept, BundledConcept) and concept.children:
            await _insert_concepts(db, map_id, cursor.lastrowid, depth + 1, concept.children)
