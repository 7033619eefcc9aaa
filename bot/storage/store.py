"""The storage use cases, written once for every backend.

``Storage`` holds every query (``?`` placeholders, SQL both SQLite and
PostgreSQL run alike) and every use case; a backend (``sqlite.py``,
``postgres.py``) only supplies connections: reads outside a transaction,
and ``transaction()`` yielding a ``Transaction``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from bot.errors import StartupError
from bot.models import (
    Answer,
    BundledConcept,
    ChildState,
    Concept,
    ConceptDraft,
    ConceptMap,
    Level,
    Meaning,
    Session,
    Source,
    StoredMeaning,
    StoredRetry,
    Usage,
)
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION, Dialect

log = logging.getLogger(__name__)

STORAGE_FULL = (
    "The bot's storage is full, so nothing new can be saved right now; "
    "maps already stored still open. A bot admin needs to free disk space."
)
STORAGE_BUSY = "The bot's storage is busy right now; please try again in a moment."
COPY_BATCH = 1_000  # rows `db copy` holds in memory at once
EXPANSION_POLL = 0.5  # seconds between a waiter's reads, so it sees a result within a second
SESSION_HISTORY_MAX = 50  # Back goes this many cards deep; older steps are dropped


# Who to tell, in the current task, that a write waits for another process's lock: an
# interaction then acknowledges at once rather than on its timer (see views.in_time).
lock_wait_listener: ContextVar[Callable[[], None] | None] = ContextVar(
    "lock_wait_listener", default=None
)


def tell_lock_wait() -> None:
    """A write is waiting for another process's lock; tell whoever is listening."""
    listener = lock_wait_listener.get()
    if listener is not None:
        listener()


class StorageError(StartupError):
    """The database cannot be used; the message says why, in one line, safe to print."""


class SchemaTooNew(StorageError):
    """The database was written by a newer Kinapse; refusing to touch it."""


class StorageUnavailable(StorageError):
    """The database cannot be opened or used at all (not a database, corrupt, no access,
    a PostgreSQL server that cannot be reached or refuses).

    The message names the file or URL (without its password) and what is wrong, in one line.
    """


class DatabaseInUse(StorageError):
    """Another process has the SQLite file open; SQLite is not shared between processes."""


@dataclass(frozen=True)
class Pruned:
    """Rows deleted by one ``prune``."""

    sessions: int
    refusals: int
    usage: int
    reservations: int = 0
    retries: int = 0


@dataclass(frozen=True)
class MapListing:
    """A map as /maps lists it."""

    topic: str
    key: str
    source: Source
    model: str | None
    opened: int
    total: int
    id: int | None = None  # None: a bundled map the scope has not opened, so has no row


@dataclass(frozen=True)
class UsageTotals:
    calls: int
    tokens: int


@dataclass(frozen=True)
class Limits:
    """How many generations a user may start and how many tokens a scope may spend, as of
    ``now``: ``allowed`` starts per ``window`` seconds, and ``budget`` tokens between
    ``day_start`` and ``day_end``."""

    now: float
    window: float
    allowed: int
    budget: int
    day_start: float
    day_end: float
    # Tokens this process spent that storage does not hold yet (the database refused them).
    unrecorded: int = 0


class Limit(StrEnum):
    COOLDOWN = "cooldown"
    BUDGET = "budget"


@dataclass(frozen=True)
class OverLimit:
    """The limit that stands in the way of a new generation, and when to try again."""

    limit: Limit
    retry_at: float


@dataclass(frozen=True)
class Reservation:
    """A generation under way, counted in storage until its usage settles it."""

    id: int
    tokens: int
    expires_at: float

    def held(self, now: float) -> int:
        """The tokens it still counts against the budget (none once expired)."""
        return self.tokens if self.expires_at > now else 0


@dataclass(frozen=True)
class ScopeSettings:
    language: str | None = None
    daily_token_budget: int | None = None
    level: Level | None = None  # None: standard


# -- statements ---------------------------------------------------------------

SELECT_MAP_COLUMNS = """
    SELECT m.id, m.scope, m.topic, m.key, m.language, m.overview, m.source, m.model,
           COALESCE(m.level, 'standard') AS level, m.opened, m.total
    FROM maps m
"""
SELECT_MAP_BY_KEY = SELECT_MAP_COLUMNS + " WHERE m.scope = ? AND m.key = ?"
SELECT_MAP_BY_ID = SELECT_MAP_COLUMNS + " WHERE m.id = ?"
INSERT_MAP = """
    INSERT INTO maps (scope, key, topic, language, level, overview, source, model, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
"""
SELECT_MAP_ID_BY_KEY = "SELECT id FROM maps WHERE scope = ? AND key = ?"
DELETE_MAP = "DELETE FROM maps WHERE scope = ? AND key = ?"
# A forgotten map leaves its scope at once, for the scope no Discord id has; its rows
# (a map may have tens of thousands of sessions) are deleted afterwards, a batch at a time.
FORGOTTEN_SCOPE = 0
FORGET_MAP = """
    UPDATE maps SET scope = ?, key = 'forgotten ' || id
    WHERE scope = ? AND key = ?
    RETURNING id
"""
SELECT_FORGOTTEN = "SELECT id FROM maps WHERE scope = ? ORDER BY id"
DELETE_SESSIONS_OF_MAP = """
    DELETE FROM sessions
    WHERE message_id IN (SELECT message_id FROM sessions WHERE map_id = ? LIMIT ?)
"""
DELETE_MAP_BY_ID = "DELETE FROM maps WHERE id = ?"
PURGE_BATCH = 2_000  # sessions deleted per transaction: a few milliseconds each
# /maps' order, the order of index maps_in_listing_order (migration 8): a page reads its
# own rows and stops, whatever else the scope holds. The id makes the order total, so
# that pages never repeat or skip a map.
LIST_MAPS = """
    SELECT topic, key, source, model, opened, total, id FROM maps
    WHERE scope = ?
    ORDER BY opened DESC, lower(topic), id
    LIMIT ? OFFSET ?
"""
COUNT_MAPS = "SELECT COUNT(*) FROM maps WHERE scope = ?"
# Filled with one placeholder per key; each is a seek on the (scope, key) unique index.
SELECT_KEYS_AMONG = "SELECT key FROM maps WHERE scope = ? AND key IN ({keys})"
# The counts on the map row change in the transactions that change what they count.
RECOUNT_MAP = """
    UPDATE maps SET total = (SELECT COUNT(*) FROM concepts c WHERE c.map_id = maps.id)
    WHERE id = ?
"""
COUNT_FIRST_OPEN = """
    UPDATE maps SET opened = opened + 1
    WHERE id = (SELECT map_id FROM concepts WHERE id = ? AND open_count = 0)
"""
SELECT_TOPICS = "SELECT topic, key FROM maps WHERE scope = ? ORDER BY lower(topic)"
# The first maps whose key starts with the typed text: a range of an index on (scope, key)
# in code point order ({bytewise} is the collation that compares that way, if the column's
# own does not).
PREFIX_TOPICS = """
    SELECT topic, key FROM maps
    WHERE scope = ? AND key{bytewise} >= ? AND key{bytewise} < ?
    ORDER BY key{bytewise}
    LIMIT ?
"""
# Autocomplete's ranking, done where the rows are: the key starts with the typed text,
# then a word of it does, then it contains it; only the best few rows come back.
MATCHING_TOPICS = r"""
    SELECT topic, key FROM maps
    WHERE scope = ? AND key LIKE ? ESCAPE '\'
    ORDER BY CASE WHEN key LIKE ? ESCAPE '\' THEN 0
                  WHEN ' ' || key LIKE ? ESCAPE '\' THEN 1
                  ELSE 2 END,
             lower(topic)
    LIMIT ?
"""

CONCEPT_COLUMNS = """
    SELECT id, map_id, parent_id, position, depth, title, summary, detail, state, error,
           CASE WHEN open_count > 0 THEN 1 ELSE 0 END AS opened
    FROM concepts
"""
SELECT_CONCEPT = CONCEPT_COLUMNS + " WHERE id = ?"
SELECT_KEY_CONCEPTS = CONCEPT_COLUMNS + " WHERE map_id = ? AND parent_id IS NULL ORDER BY position"
SELECT_CHILDREN = CONCEPT_COLUMNS + " WHERE parent_id = ? ORDER BY position"
SELECT_MAP_CONCEPTS = CONCEPT_COLUMNS + " WHERE map_id = ? ORDER BY depth, parent_id, position"
SELECT_OPENED_IDS = "SELECT id FROM concepts WHERE map_id = ? AND open_count > 0"
SELECT_PATH = """
    WITH RECURSIVE path (id, parent_id, level) AS (
        SELECT id, parent_id, 0 FROM concepts WHERE id = ?
        UNION ALL
        SELECT c.id, c.parent_id, path.level + 1
        FROM concepts c JOIN path ON c.id = path.parent_id
    )
    SELECT c.id, c.map_id, c.parent_id, c.position, c.depth, c.title, c.summary, c.detail,
           c.state, c.error, CASE WHEN c.open_count > 0 THEN 1 ELSE 0 END AS opened
    FROM path JOIN concepts c ON c.id = path.id
    ORDER BY path.level DESC
"""
INSERT_CONCEPT = """
    INSERT INTO concepts (map_id, parent_id, position, depth, title, summary, detail, state)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id
"""
COUNT_OPEN = "UPDATE concepts SET open_count = open_count + 1 WHERE id = ?"
CLAIM_EXPANSION = """
    UPDATE concepts SET state = 'pending', lease_until = ?, error = NULL
    WHERE id = ? AND (state = 'unexpanded' OR (state = 'pending' AND lease_until < ?))
"""
# Settling first locks the row (PostgreSQL), so of two generations that outlived
# their leases only one stores its sub-concepts.
FINISH_EXPANSION = """
    UPDATE concepts SET state = ?, lease_until = NULL, error = NULL
    WHERE id = ? AND state IN ('unexpanded', 'pending')
    RETURNING map_id, depth
"""
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
# When each of a user's generations in the cooldown window started, in any server: a
# recorded one once however many calls it took, one under way from now (its usage row
# will be as late). One statement, so one settling meanwhile is seen exactly once.
SELECT_USER_STARTS = """
    SELECT MIN(created_at) FROM usage WHERE user_id = ? AND created_at > ? GROUP BY request
    UNION ALL
    SELECT ? FROM reservations WHERE user_id = ? AND expires_at > ?
"""
# A scope's tokens today, recorded or reserved; one statement for the same reason.
SUM_SCOPE_SPENT = """
    SELECT (SELECT COALESCE(SUM(input_tokens + output_tokens + cache_read_tokens
                                + cache_write_tokens), 0)
            FROM usage WHERE scope = ? AND created_at >= ?)
         + (SELECT COALESCE(SUM(tokens), 0) FROM reservations WHERE scope = ? AND expires_at > ?)
"""
INSERT_RESERVATION = """
    INSERT INTO reservations (scope, user_id, tokens, created_at, expires_at)
    VALUES (?, ?, ?, ?, ?)
    RETURNING id
"""
DELETE_RESERVATION = "DELETE FROM reservations WHERE id = ?"
TOP_USERS = """
    SELECT user_id,
           SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens
    FROM usage WHERE scope = ? AND created_at >= ? AND user_id IS NOT NULL
    GROUP BY user_id ORDER BY tokens DESC LIMIT ?
"""

SELECT_SCOPE_SETTINGS = (
    "SELECT language, daily_token_budget, level FROM scope_settings WHERE scope = ?"
)
UPSERT_SCOPE_SETTINGS = """
    INSERT INTO scope_settings (scope, language, daily_token_budget, level) VALUES (?, ?, ?, ?)
    ON CONFLICT (scope) DO UPDATE SET
        language = excluded.language, daily_token_budget = excluded.daily_token_budget,
        level = excluded.level
"""

UPSERT_REFUSAL = """
    INSERT INTO refusals (scope, key, until) VALUES (?, ?, ?)
    ON CONFLICT (scope, key) DO UPDATE SET until = excluded.until
"""
SELECT_REFUSAL = "SELECT until FROM refusals WHERE scope = ? AND key = ? AND until > ?"

ANSWER_COLUMNS = "SELECT id, scope, map_id, concept_id, question, text, model FROM answers"
SELECT_ANSWER = ANSWER_COLUMNS + " WHERE id = ?"
SELECT_ANSWER_BY_QUESTION = (
    ANSWER_COLUMNS + " WHERE map_id = ? AND COALESCE(concept_id, 0) = ? AND question_key = ?"
)
# The first answer stored for a question wins; a second one made meanwhile is dropped.
INSERT_ANSWER = """
    INSERT INTO answers (scope, map_id, concept_id, question_key, question, text, model,
                         created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""

MEANING_COLUMNS = "SELECT id, scope, key, topic, title, line FROM meanings"
SELECT_MEANINGS = MEANING_COLUMNS + " WHERE scope = ? AND key = ? ORDER BY position"
SELECT_MEANING = MEANING_COLUMNS + " WHERE id = ?"
# The first meanings stored for a topic win; a second answer made meanwhile is dropped.
INSERT_MEANING = """
    INSERT INTO meanings (scope, key, topic, position, title, line) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
UPSERT_ALIAS = """
    INSERT INTO aliases (scope, alias, key) VALUES (?, ?, ?)
    ON CONFLICT (scope, alias) DO UPDATE SET key = excluded.key
"""
SELECT_ALIAS = "SELECT key FROM aliases WHERE scope = ? AND alias = ?"

INSERT_RETRY = """
    INSERT INTO retries (scope, topic, meaning_id, created_at) VALUES (?, ?, ?, ?)
    RETURNING id
"""
SELECT_RETRY = "SELECT id, scope, topic, meaning_id FROM retries WHERE id = ?"

PRUNE_SESSIONS = "DELETE FROM sessions WHERE updated_at < ?"
PRUNE_REFUSALS = "DELETE FROM refusals WHERE until <= ?"
PRUNE_USAGE = "DELETE FROM usage WHERE created_at < ?"
PRUNE_RETRIES = "DELETE FROM retries WHERE created_at < ?"
PRUNE_RESERVATIONS = "DELETE FROM reservations WHERE expires_at <= ?"

SELECT_META = "SELECT value FROM meta WHERE key = ?"
UPSERT_META = """
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""


Row = Any  # a backend's row: indexable by position, and dict(row) gives its columns


class Transaction(Protocol):
    """One backend transaction; SQL with ``?`` placeholders."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


def _concept(row: Row) -> Concept:
    return Concept.model_validate(dict(row))


def _map(row: Row) -> ConceptMap:
    return ConceptMap.model_validate(dict(row))


def _state_of(concept: ConceptDraft) -> ChildState:
    if isinstance(concept, BundledConcept):
        if concept.leaf:
            return ChildState.LEAF
        if concept.children:
            return ChildState.EXPANDED
    return ChildState.UNEXPANDED


class Storage(ABC):
    """The database. Use ``async with Storage.open(database) as storage``.

    ``database`` is a SQLite file path or a ``postgresql://`` URL.
    """

    dialect: Dialect
    bytewise = ""  # a COLLATE clause comparing text in code point order, if not the default
    where: str  # the file or the URL without its password, for messages

    @staticmethod
    def open(database: Path | str) -> AbstractAsyncContextManager[Storage]:
        from bot.storage import open_storage  # the backends import this module

        return open_storage(database)

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

    # -- whole tables, for ``db copy`` -----------------------------------------

    @abstractmethod
    async def tables(self) -> set[str]:
        """The names of Kinapse's tables (not the backend's own bookkeeping)."""

    async def count_rows(self, table: str, db: Transaction | None = None) -> int:
        sql = f"SELECT COUNT(*) FROM {table}"
        row = await (db.fetchone(sql) if db else self._one(sql))
        assert row is not None
        return row[0]

    async def read_rows(self, table: str) -> tuple[list[str], AsyncIterator[list[Row]]]:
        """A table's column names, and its rows ``COPY_BATCH`` at a time from one snapshot,
        in id order where it has ids: a table of any size is copied in bounded memory."""
        columns = await self._columns(table)
        order = "id" if "id" in columns else columns[0]
        sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
        return columns, self._batches(sql)

    @abstractmethod
    def _batches(self, sql: str) -> AsyncIterator[list[Row]]:
        """The rows of one read, ``COPY_BATCH`` at a time, never all of them at once."""

    async def write_rows(
        self, db: Transaction, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows as they are, ids included."""
        placeholders = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        await db.executemany(insert, rows)

    @abstractmethod
    async def raise_id_floor(self, db: Transaction, table: str, floor: int) -> None:
        """From now on no new id of ``table`` is ``<= floor`` or an id it holds."""

    @abstractmethod
    async def _columns(self, table: str) -> list[str]: ...

    @abstractmethod
    async def id_floor(self, table: str) -> int:
        """The highest id the table ever handed out (deleted rows' ids included)."""

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
    ) -> ConceptMap:
        """Store a map and its concept tree at once; an existing map for the key wins."""
        async with self.transaction() as db:
            inserted = await db.fetchone(
                INSERT_MAP,
                (scope, key, topic, language, level.value, overview, source.value, model, now),
            )
            if inserted is not None:
                map_id = inserted[0]
                await _insert_concepts(db, map_id, None, 1, concepts)
                await db.execute(RECOUNT_MAP, (map_id,))
            else:  # stored meanwhile, maybe by another process
                existing = await db.fetchone(SELECT_MAP_ID_BY_KEY, (scope, key))
                assert existing is not None
                map_id = existing[0]
        stored = await self.get_map(map_id)
        assert stored is not None
        return stored

    async def delete_map(self, scope: int, key: str) -> bool:
        """Delete the map and everything of it, in one transaction."""
        async with self.transaction() as db:
            return await db.execute(DELETE_MAP, (scope, key)) > 0

    async def forget_map(self, scope: int, key: str) -> bool:
        """Take the map out of the scope at once: no lookup finds it and its key is free;
        ``purge_forgotten`` deletes its rows later."""
        async with self.transaction() as db:
            return await db.fetchone(FORGET_MAP, (FORGOTTEN_SCOPE, scope, key)) is not None

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
            async with self.transaction() as db:
                purged += await db.execute(DELETE_MAP_BY_ID, (map_id,))
        return purged

    async def list_maps(self, scope: int, limit: int, offset: int = 0) -> list[MapListing]:
        """``limit`` of the scope's maps from ``offset`` on: most explored first, then by
        topic (case aside), then oldest first."""
        rows = await self._all(LIST_MAPS, (scope, limit, offset))
        return [MapListing(r[0], r[1], Source(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

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
        if session is None and opened is None:
            return
        async with self.transaction() as db:
            if session is not None:
                await db.execute(UPSERT_SESSION, _session_row(session, now))
            if opened is not None:
                await db.execute(COUNT_FIRST_OPEN, (opened,))  # before the concept's own count
                await db.execute(COUNT_OPEN, (opened,))

    async def claim_expansion(self, concept_id: int, *, now: float, lease: float) -> bool:
        """Mark the concept pending for ``lease`` seconds; False if someone else holds it."""
        async with self.transaction() as db:
            return await db.execute(CLAIM_EXPANSION, (now + lease, concept_id, now)) == 1

    async def store_expansion(
        self, concept_id: int, concepts: Sequence[ConceptDraft], *, leaf: bool
    ) -> None:
        """Store the sub-concepts (or the leaf mark) and end the pending state, atomically."""
        state = ChildState.LEAF if leaf else ChildState.EXPANDED
        async with self.transaction() as db:
            parent = await db.fetchone(FINISH_EXPANSION, (state.value, concept_id))
            if parent is None:
                return  # deleted meanwhile, or already stored by a generation that outlived us
            if not leaf:
                await _insert_concepts(db, parent[0], concept_id, parent[1] + 1, concepts)
                await db.execute(RECOUNT_MAP, (parent[0],))
            await self._announce_expansion(db, concept_id)

    async def release_expansion(self, concept_id: int, error: str | None) -> None:
        """A generation failed: the next click tries again."""
        async with self.transaction() as db:
            if await db.execute(RELEASE_EXPANSION, (error, concept_id)):
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
        settles: int | None = None,
    ) -> None:
        """Record a generation's usage; ``settles``: the id of its reservation, deleted in the
        same transaction, so the generation counts at every moment exactly once."""
        if not usage:
            if settles is not None:
                await self.release(settles)
            return
        async with self.transaction() as db:
            if settles is not None:
                await db.execute(DELETE_RESERVATION, (settles,))
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

    async def over_limit(self, scope: int, user_id: int, limits: Limits) -> OverLimit | None:
        """The limit a new generation by ``user_id`` in ``scope`` would exceed, if any.

        A read that reserves nothing: the answer before anyone waits. ``reserve`` decides.
        """
        return await self._over_limit(None, scope, user_id, limits)

    async def reserve(
        self, scope: int, user_id: int, limits: Limits, *, tokens: int, expires_at: float
    ) -> Reservation | OverLimit:
        """Check the limits and, within them, reserve ``tokens`` of the scope's budget and one
        of the user's starts for a new generation: one step in one write transaction, so that
        generations started at once, in any number of processes, stay within the limits.

        The reservation counts until ``record_usage`` settles it or ``release`` drops it,
        or until ``expires_at`` if neither happens (the process was killed).
        """
        async with self.transaction() as db:
            await self._lock_limits(db, user_id, scope)
            over = await self._over_limit(db, scope, user_id, limits)
            if over is not None:
                return over
            row = await db.fetchone(
                INSERT_RESERVATION, (scope, user_id, tokens, limits.now, expires_at)
            )
        assert row is not None
        return Reservation(row[0], tokens, expires_at)

    async def release(self, reservation_id: int) -> None:
        """A generation ended with no usage to record: it stops counting."""
        async with self.transaction() as db:
            await db.execute(DELETE_RESERVATION, (reservation_id,))

    async def _over_limit(
        self, db: Transaction | None, scope: int, user_id: int, limits: Limits
    ) -> OverLimit | None:
        now = limits.now
        fetchall = db.fetchall if db is not None else self._all
        fetchone = db.fetchone if db is not None else self._one
        rows = await fetchall(SELECT_USER_STARTS, (user_id, now - limits.window, now, user_id, now))
        starts = sorted(row[0] for row in rows)
        if len(starts) >= limits.allowed:
            return OverLimit(Limit.COOLDOWN, starts[-limits.allowed] + limits.window)
        spent = await fetchone(SUM_SCOPE_SPENT, (scope, limits.day_start, scope, now))
        assert spent is not None
        if spent[0] + limits.unrecorded >= limits.budget:
            return OverLimit(Limit.BUDGET, limits.day_end)
        return None

    @abstractmethod
    async def _lock_limits(self, db: Transaction, user_id: int, scope: int) -> None:
        """Make the limit checks of this user and of this scope wait for ``db`` to end, in
        every process, so that each one reads the reservations made before it."""

    async def top_users(self, scope: int, since: float, limit: int = 5) -> list[tuple[int, int]]:
        return [(r[0], r[1]) for r in await self._all(TOP_USERS, (scope, since, limit))]

    async def remember_refusal(self, scope: int, key: str, until: float) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_REFUSAL, (scope, key, until))

    async def refused_until(self, scope: int, key: str, now: float) -> float | None:
        row = await self._one(SELECT_REFUSAL, (scope, key, now))
        return row[0] if row else None

    async def prune(
        self,
        *,
        sessions_before: float,
        now: float,
        usage_before: float,
        retries_before: float,
    ) -> Pruned:
        """Delete sessions untouched since ``sessions_before``, refusals and reservations
        that have expired, usage recorded before ``usage_before`` and retries stored before
        ``retries_before``, in one transaction."""
        async with self.transaction() as db:
            return Pruned(
                sessions=await db.execute(PRUNE_SESSIONS, (sessions_before,)),
                refusals=await db.execute(PRUNE_REFUSALS, (now,)),
                usage=await db.execute(PRUNE_USAGE, (usage_before,)),
                retries=await db.execute(PRUNE_RETRIES, (retries_before,)),
                reservations=await db.execute(PRUNE_RESERVATIONS, (now,)),
            )

    # -- answers --------------------------------------------------------------

    async def find_answer(
        self, map_id: int, concept_id: int | None, question_key: str
    ) -> Answer | None:
        """The stored answer to a question about a concept (None: about the map itself)."""
        row = await self._one(SELECT_ANSWER_BY_QUESTION, (map_id, concept_id or 0, question_key))
        return Answer.model_validate(dict(row)) if row else None

    async def get_answer(self, answer_id: int) -> Answer | None:
        row = await self._one(SELECT_ANSWER, (answer_id,))
        return Answer.model_validate(dict(row)) if row else None

    async def save_answer(
        self,
        *,
        scope: int,
        map_id: int,
        concept_id: int | None,
        question_key: str,
        question: str,
        text: str,
        model: str,
        now: float,
    ) -> Answer:
        """Store an answer; if the question was answered meanwhile, that answer is returned."""
        async with self.transaction() as db:
            await db.execute(
                INSERT_ANSWER,
                (scope, map_id, concept_id, question_key, question, text, model, now),
            )
        stored = await self.find_answer(map_id, concept_id, question_key)
        assert stored is not None
        return stored

    # -- meanings and aliases -------------------------------------------------

    async def save_meanings(
        self, scope: int, key: str, topic: str, meanings: Sequence[Meaning]
    ) -> list[StoredMeaning]:
        """Store the meanings of the typed topic ``key``; ones stored meanwhile win."""
        async with self.transaction() as db:
            await db.executemany(
                INSERT_MEANING,
                [
                    (scope, key, topic, position, m.title, m.line)
                    for position, m in enumerate(meanings, start=1)
                ],
            )
        return await self.meanings(scope, key)

    async def meanings(self, scope: int, key: str) -> list[StoredMeaning]:
        rows = await self._all(SELECT_MEANINGS, (scope, key))
        return [StoredMeaning.model_validate(dict(r)) for r in rows]

    async def get_meaning(self, meaning_id: int) -> StoredMeaning | None:
        row = await self._one(SELECT_MEANING, (meaning_id,))
        return StoredMeaning.model_validate(dict(row)) if row else None

    async def save_alias(self, scope: int, alias: str, key: str) -> None:
        """Make the key ``alias`` find the scope's map stored under ``key``."""
        async with self.transaction() as db:
            await db.execute(UPSERT_ALIAS, (scope, alias, key))

    async def alias_of(self, scope: int, alias: str) -> str | None:
        row = await self._one(SELECT_ALIAS, (scope, alias))
        return row[0] if row else None

    # -- retries of failed new topics ------------------------------------------

    async def save_retry(
        self, scope: int, topic: str, *, meaning_id: int | None, now: float
    ) -> StoredRetry:
        """Store what the Retry of a failed new topic needs; its button carries the id."""
        async with self.transaction() as db:
            row = await db.fetchone(INSERT_RETRY, (scope, topic, meaning_id, now))
        assert row is not None
        return StoredRetry(id=row[0], scope=scope, topic=topic, meaning_id=meaning_id)

    async def get_retry(self, retry_id: int) -> StoredRetry | None:
        row = await self._one(SELECT_RETRY, (retry_id,))
        return StoredRetry.model_validate(dict(row)) if row else None

    # -- settings -------------------------------------------------------------

    async def scope_settings(self, scope: int) -> ScopeSettings:
        row = await self._one(SELECT_SCOPE_SETTINGS, (scope,))
        if row is None:
            return ScopeSettings()
        language, budget, level = row
        return ScopeSettings(language, budget, Level(level) if level else None)

    async def save_scope_settings(self, scope: int, settings: ScopeSettings) -> None:
        async with self.transaction() as db:
            await db.execute(
                UPSERT_SCOPE_SETTINGS,
                (
                    scope,
                    settings.language,
                    settings.daily_token_budget,
                    settings.level.value if settings.level else None,
                ),
            )

    async def get_meta(self, key: str) -> str | None:
        row = await self._one(SELECT_META, (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_META, (key, value))


def _session_row(session: Session, now: float) -> tuple[Any, ...]:
    history = json.dumps(session.history[-SESSION_HISTORY_MAX:])
    return (
        session.message_id,
        session.owner_id,
        session.scope,
        session.map_id,
        session.concept_id,
        history,
        now,
    )


async def _insert_concepts(
    db: Transaction,
    map_id: int,
    parent_id: int | None,
    depth: int,
    concepts: Sequence[ConceptDraft],
) -> None:
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
            ),
        )
        if isinstance(concept, BundledConcept) and concept.children:
            assert inserted is not None
            await _insert_concepts(db, map_id, inserted[0], depth + 1, concept.children)


def _successor(text: str) -> str | None:
    """The first string after every string that starts with ``text``, in code point order
    (None if there is none: ``text`` ends with the last code point)."""
    if not text or ord(text[-1]) == sys.maxunicode:
        return None
    after = ord(text[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:  # surrogates are no characters; UTF-8 has none
        after = 0xE000
    return text[:-1] + chr(after)
