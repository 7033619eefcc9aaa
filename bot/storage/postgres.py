"""The PostgreSQL backend: one store for several bot processes and machines.

One asyncpg pool for the life of the bot; every use case's transaction is a
PostgreSQL transaction on one pooled connection. The queries are the shared
ones (``sql.py``) with ``?`` turned into ``$1, $2, ...``.

A generation lease works across processes: the process that stores or
releases an expansion sends ``NOTIFY`` in the same transaction, and a process
waiting on it ``LISTEN``s on one extra connection. Notifications are not
durable (a dropped listener misses them), so waiters also poll.

Every change a reader may hold (``Storage.watch``) goes out the same way, on a
channel of its own. A listener that is lost (its connection ends, or stops
answering) makes the process's readers drop all they hold and hold nothing
until it listens again, so nothing they missed is ever shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.errors import StorageBusy, StorageFull
from bot.storage.base import Row, Storage, Transaction
from bot.storage.errors import STORAGE_BUSY, STORAGE_FULL, StorageUnavailable
from bot.storage.migrations import Dialect
from bot.storage.records import Change, Changed
from bot.storage.whole_tables import COPY_BATCH

log = logging.getLogger(__name__)

POOL_MIN_SIZE = 1
# How long a statement waits for another session's lock (a LOCK TABLE, a long DDL) before
# giving up, as SQLite's writes do: the member is told the storage is busy, never left
# waiting for ever. Migrations wait as long as they must.
LOCK_PATIENCE_MS = 15_000
EXPANSION_CHANNEL = "kinapse_expansion"
CHANGES_CHANNEL = "kinapse_changes"  # payloads: Change.payload() lines
# A NOTIFY payload is shorter than 8000 bytes; a transaction's changes go out as few as fit.
NOTIFY_PAYLOAD_MAX = 7999
# The listening connection is asked for a reply this often (seconds), and is taken for
# lost when none comes within LISTENER_PATIENCE: a connection that died without a word
# (a network gone quiet) would otherwise miss changes for good.
LISTENER_CHECK = 10.0
LISTENER_PATIENCE = 5.0
RELISTEN_PAUSE = 1.0  # seconds between attempts to listen again after a loss
# Taken by each migration's transaction, so processes starting together migrate one at a time.
MIGRATION_LOCK_KEY = 0x6B696E61  # "kina"
# Transaction-level locks on a user's and a scope's ids (Discord snowflakes, unique across
# users and servers; a DM's scope is its user, one lock): a generation's check and
# reservation for either waits for the one before it, in any process.
LOCK_LIMITS = "SELECT pg_advisory_xact_lock(?)"
CREATE_SCHEMA_VERSION = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
SELECT_SCHEMA_VERSION = "SELECT version FROM schema_version"
NOTIFY = "SELECT pg_notify(?, ?)"
SELECT_NOW = "SELECT extract(epoch FROM now())::float8"  # the server's clock
SELECT_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
SELECT_COLUMNS = """
    SELECT column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position
"""
SELECT_SEQUENCE = "SELECT pg_sequence_last_value(pg_get_serial_sequence(?, 'id'))"
# The next id is above both the floor and every id stored.
RAISE_SEQUENCE = """
    SELECT setval(pg_get_serial_sequence(?, 'id'),
                  GREATEST(?, highest, 1), GREATEST(?, highest) > 0)
    FROM (SELECT COALESCE(MAX(id), 0) AS highest FROM {table}) AS stored
"""


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (no statement has a ``?`` literal)."""
    counter = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """A connection back in the pool needs no reset: nothing the bot runs outlives its
    statement or transaction (locks are transaction locks, settings ``SET LOCAL``, cursors
    in transactions, LISTEN on a connection of its own). asyncpg's default reset (RESET
    ALL, UNLISTEN *, ...) would cost a round trip to the server on every read."""


def _rowcount(status: str) -> int:
    # "UPDATE 3", "DELETE 0", "INSERT 0 1"; "CREATE TABLE" changed no rows.
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTransaction:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _rowcount(await self._connection.execute(numbered(sql), *params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._connection.executemany(numbered(sql), rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._connection.fetchrow(numbered(sql), *params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._connection.fetch(numbered(sql), *params)

    async def fetchmany(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[Row]:
        if not rows:
            return []
        # Pipelined: every run of the statement in one round trip to the server.
        return await self._connection.fetchmany(numbered(sql), rows)


class PostgresStorage(Storage):
    dialect = Dialect.POSTGRES
    bytewise = ' COLLATE "C"'  # the database's locale may order text otherwise

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.where = redact(url)
        self._url = url  # to listen again after a loss; never shown (``where`` is)
        self._pool = pool
        self._listener: asyncpg.Connection | None = None
        self._listening = False
        self._closing = False
        self._listener_tasks: set[asyncio.Task[None]] = set()
        self._waiters: defaultdict[int, set[asyncio.Event]] = defaultdict(set)

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str, *, pool_size: int) -> AsyncIterator[Self]:
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min(POOL_MIN_SIZE, pool_size),
                max_size=pool_size,
                server_settings={
                    "application_name": "kinapse",
                    "lock_timeout": str(LOCK_PATIENCE_MS),
                },
                reset=_nothing_to_reset,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The driver's message names the host or the refusal, never the password.
            raise StorageUnavailable(
                f"{redact(url)}: cannot use the PostgreSQL database ({exc})"
            ) from None
        try:
            storage = cls(url, pool)
            await storage.migrate()
            await storage._listen()
            storage._start(storage._check_listener())
            try:
                yield storage
            finally:
                await storage._stop_listening()
        finally:
            await pool.close()

    @property
    def sees_every_change(self) -> bool:
        return self._listening

    async def _listen(self) -> None:
        # Its own connection: a pooled one would be handed to others while listening.
        listener = await asyncpg.connect(self._url)
        await listener.add_listener(EXPANSION_CHANNEL, self._on_notification)
        await listener.add_listener(CHANGES_CHANNEL, self._on_change)
        listener.add_termination_listener(self._on_listener_lost)
        self._listener = listener
        self._listening = True
        # Whatever was written while nobody listened: readers start from nothing.
        self._changed(Change(Changed.EVERYTHING))

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        for event in self._waiters.get(int(payload), ()):
            event.set()

    def _on_change(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        for line in payload.split("\n"):
            try:
                change = Change.of_payload(line)
            except ValueError:
                log.warning("Unreadable change notified: %r", payload)
                change = Change(Changed.EVERYTHING)
            self._changed(change)

    def _on_listener_lost(self, _connection: object) -> None:
        self._listening = False
        self._changed(Change(Changed.EVERYTHING))
        if not self._closing:
            log.warning("Lost the connection listening to %s; listening again", self.where)
            self._start(self._listen_again())

    async def _listen_again(self) -> None:
        while not self._closing:
            await asyncio.sleep(RELISTEN_PAUSE)
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("Cannot listen to %s yet: %s", self.where, exc)
                continue
            log.info("Listening to %s again", self.where)
            return

    async def _check_listener(self) -> None:
        while True:
            await asyncio.sleep(LISTENER_CHECK)
            listener = self._listener
            if listener is None or listener.is_closed():
                continue  # lost, and being listened to again
            try:
                await asyncio.wait_for(listener.fetchval("SELECT 1"), LISTENER_PATIENCE)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("The connection listening to %s stopped answering", self.where)
                listener.terminate()  # its loss is handled as any other (_on_listener_lost)

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._listener_tasks.add(task)
        task.add_done_callback(self._listener_tasks.discard)

    async def _stop_listening(self) -> None:
        self._closing = True
        for task in list(self._listener_tasks):
            task.cancel()
        await asyncio.gather(*self._listener_tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        with _plain_errors():
            async with self._pool.acquire() as connection:
                transaction = connection.transaction()
                await transaction.start()
                try:
                    yield PostgresTransaction(connection)
                except BaseException:
                    # Finished even for a cancelled caller: no open transaction is left.
                    await _to_the_end(transaction.rollback())
                    raise
                await _to_the_end(transaction.commit())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with _plain_errors():
            return await self._pool.fetchrow(numbered(sql), *params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with _plain_errors():
            return await self._pool.fetch(numbered(sql), *params)

    async def database_time(self) -> float:
        row = await self._one(SELECT_NOW)
        assert row is not None
        return float(row[0])

    async def _announce_expansion(self, db: Transaction, concept_id: int) -> None:
        await db.execute(NOTIFY, (EXPANSION_CHANNEL, str(concept_id)))

    async def _announce(self, db: Transaction, changes: Sequence[Change]) -> None:
        # One line a change (keys hold no newline: ``topic_key`` drops control characters),
        # as many lines to a NOTIFY as fit.
        for payload in _payloads(c.payload() for c in changes):
            await db.execute(NOTIFY, (CHANGES_CHANNEL, payload))

    @contextlib.contextmanager
    def _expansion_signal(self, concept_id: int) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters[concept_id].add(event)
        try:
            yield event
        finally:
            self._waiters[concept_id].discard(event)
            if not self._waiters[concept_id]:
                del self._waiters[concept_id]

    async def _lock_limits(self, db: Transaction, user_id: int, scope: int) -> None:
        # Always the lower id first: two transactions never wait on each other's second lock.
        for key in sorted({user_id, scope}):
            await db.execute(LOCK_LIMITS, (key,))

    async def tables(self) -> set[str]:
        rows = await self._all(SELECT_TABLES)
        return {row[0] for row in rows} - {"schema_version"}

    async def _columns(self, table: str) -> list[str]:
        return [row[0] for row in await self._all(SELECT_COLUMNS, (table,))]

    async def id_floor(self, table: str) -> int:
        row = await self._one(SELECT_SEQUENCE, (table,))
        return row[0] if row and row[0] is not None else 0

    async def _batches(self, sql: str, most: int) -> AsyncIterator[list[Row]]:
        # A server-side cursor: the server holds the rows, the bot a batch at a time.
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = await connection.cursor(sql)
            while rows := await cursor.fetch(min(COPY_BATCH, most)):
                yield rows

    async def raise_id_floor(self, db: Transaction, table: str, floor: int) -> None:
        await db.execute(RAISE_SEQUENCE.format(table=table), (table, floor, floor))

    async def _schema_version(self, db: Transaction) -> int:
        await db.execute("SET LOCAL lock_timeout = 0")  # another process may be migrating
        await db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))
        await db.execute(CREATE_SCHEMA_VERSION)
        row = await db.fetchone(SELECT_SCHEMA_VERSION)
        return row[0] if row else 0

    async def _set_schema_version(self, db: Transaction, version: int) -> None:
        await db.execute("DELETE FROM schema_version")
        await db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


async def _to_the_end(ending: Coroutine[Any, Any, None]) -> None:
    """Commit or roll back to the end, even if the caller is cancelled meanwhile, and only
    then let the cancellation go on: the connection goes back to the pool with no
    statement running on it. (Released mid-commit, asyncpg's pool fails the release with
    "another operation is in progress", an error that replaced the cancellation: a
    cancelled background loop caught it, logged it and went on, and the process's
    shutdown waited for it for ever.)"""
    task = asyncio.ensure_future(ending)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})  # a cancelled wait leaves the task running
        except asyncio.CancelledError:
            cancelled = True  # the caller's: the commit is waited for all the same
    if cancelled:
        raise asyncio.CancelledError
    task.result()  # the commit's own failure, if any


def _payloads(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` joined by newlines into as few NOTIFY payloads as fit."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode()) + 1
        if chunk and size + length > NOTIFY_PAYLOAD_MAX:
            yield "\n".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        yield "\n".join(chunk)


@contextlib.contextmanager
def _plain_errors() -> Iterator[None]:
    """A lock held too long or a full disk, as errors whose message a member may see."""
    try:
        yield
    except asyncpg.LockNotAvailableError as exc:
        log.warning("A PostgreSQL lock was held for %.0f s: %s", LOCK_PATIENCE_MS / 1000, exc)
        raise StorageBusy(STORAGE_BUSY) from exc
    except asyncpg.DiskFullError as exc:
        log.error("PostgreSQL's disk is full: %s", exc)
        raise StorageFull(STORAGE_FULL) from exc
