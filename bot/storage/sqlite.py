"""The SQLite backend: one file on one machine, the default.

One writer connection, guarded by a lock so that the transactions of
different coroutines never interleave (a shared aiosqlite connection does not
isolate them), every write in ``BEGIN IMMEDIATE``; a second connection for
reads, which WAL lets run beside the writer. The schema version lives in
``PRAGMA user_version``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.errors import StorageBusy, StorageFull
from bot.storage.base import Row, Storage, Transaction
from bot.storage.errors import (
    STORAGE_BUSY,
    STORAGE_FULL,
    DatabaseInUse,
    StorageUnavailable,
    tell_lock_wait,
)
from bot.storage.migrations import Dialect
from bot.storage.whole_tables import COPY_BATCH

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000  # how long a read waits for a lock (rare in WAL mode)
# A write waits for another process's write lock in the event loop, not in SQLite's busy
# handler: polling here keeps the connection's thread free, and a caller cancelled while
# waiting leaves nothing behind in it.
WRITE_PATIENCE = 15.0  # seconds before a write is reported as busy
LOCK_POLL = 0.05  # seconds between attempts to take the lock
SELECT_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
SELECT_SEQUENCE = "SELECT seq FROM sqlite_sequence WHERE name = ?"
RAISE_SEQUENCE = "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?"
# At the start of the one process a file has, a generation's lease still held is a dead
# process's: the concept is free to generate at once, not when the lease runs out.
ANY_LEASE = "SELECT 1 FROM concepts WHERE state = 'pending' LIMIT 1"
RELEASE_LEASES = (
    "UPDATE concepts SET state = 'unexpanded', lease_until = NULL WHERE state = 'pending'"
)


class SqliteTransaction:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        # Every row is read, so a RETURNING statement is finished before the commit.
        rows = await self._db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def fetchmany(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[Row]:
        return [row for params in rows for row in await self._db.execute_fetchall(sql, params)]


class SqliteStorage(Storage):
    dialect = Dialect.SQLITE

    def __init__(self, path: Path, writer: aiosqlite.Connection) -> None:
        self.where = str(path)
        self._writer = writer
        self._reader: aiosqlite.Connection | None = None  # opened once migrated
        # Whole-scope reads (/maps, autocomplete) on their own connection and thread:
        # aiosqlite runs one statement at a time per connection.
        self._scanner: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def connect(cls, path: Path, *, exclusive: bool = False) -> AsyncIterator[Self]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unavailable(path, exc) from None
        with _process_lock(path) if exclusive else contextlib.nullcontext():
            async with cls._connected(path) as storage:
                if exclusive:
                    await storage._release_dead_leases()
                yield storage

    async def _release_dead_leases(self) -> None:
        """The file is this process's alone (the lock): every lease is a previous process's."""
        if await self._one(ANY_LEASE) is None:
            return  # nothing to write: a file another process is writing to opens at once
        try:
            async with self.transaction() as db:
                released = await db.execute(RELEASE_LEASES)
        except (StorageBusy, StorageFull):
            log.warning("Leases a previous process left run out on their own", exc_info=True)
            return
        log.info("Released %d generation leases a previous process left", released)

    @classmethod
    @asynccontextmanager
    async def _connected(cls, path: Path) -> AsyncIterator[Self]:
        try:
            writer = await _connect(path, busy_timeout_ms=0)
        except (OSError, sqlite3.Error) as exc:
            raise _unavailable(path, exc) from None
        try:
            storage = cls(path, writer)
            try:
                await storage.migrate()
                storage._reader = await _connect(path)  # after migrating: it sees the schema
                storage._scanner = await _connect(path)
            except (OSError, sqlite3.Error) as exc:
                if storage._reader is not None:
                    await storage._reader.close()
                raise _unavailable(path, exc) from None
            try:
                yield storage
            finally:
                await storage._scanner.close()
                await storage._reader.close()
        finally:
            await writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        await self._begin()
        try:
            try:
                with _plain_errors():
                    yield SqliteTransaction(self._writer)
                    await asyncio.shield(self._writer.commit())
            except BaseException:
                # Shielded so that a cancelled caller still leaves no open transaction.
                await asyncio.shield(self._rollback())
                raise
        finally:
            self._write_lock.release()

    async def _begin(self) -> None:
        """Hold the writer connection with a BEGIN IMMEDIATE transaction open.

        While another process holds SQLite's write lock, the connection is let go
        between attempts: other writers poll too instead of queueing behind one that
        waits, and every waiter stays cancellable.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WRITE_PATIENCE
        waited = False
        while True:
            await self._write_lock.acquire()
            try:
                with _plain_errors():
                    try:
                        await self._writer.execute("BEGIN IMMEDIATE")
                        return
                    except sqlite3.OperationalError as exc:
                        if not _is_busy(exc) or loop.time() >= give_up:
                            raise
                        if not waited:
                            tell_lock_wait()
                        waited = True
            except BaseException:
                # A caller cancelled while BEGIN ran in the connection's thread: the BEGIN
                # may have succeeded for nobody, and the rollback queued behind it undoes it.
                await asyncio.shield(self._rollback())
                self._write_lock.release()
                raise
            self._write_lock.release()
            await asyncio.sleep(LOCK_POLL)

    async def _rollback(self) -> None:
        try:
            await self._writer.rollback()
        except sqlite3.Error:
            # Nothing to roll back (BEGIN failed), or SQLite already did.
            log.debug("Rollback after a failed write did nothing", exc_info=True)

    # Each read is one trip to the connection's thread (execute_fetchall), not three
    # (execute, fetch, close): the trips, not SQLite, are most of a click's time. Single
    # rows come from keyed lookups, so reading "all" of them reads one.
    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return next(iter(await self._all(sql, params)), None)

    async def _scan(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._scanner is not None
        return list(await self._scanner.execute_fetchall(sql, params))

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._reader is not None
        return list(await self._reader.execute_fetchall(sql, params))

    async def _lock_limits(self, db: Transaction, user_id: int, scope: int) -> None:
        pass  # BEGIN IMMEDIATE already runs one write transaction at a time, in any process

    # One process per file (see the lock): waiters in it share the generating
    # task, so a waiter here only polls, for a lease left by a previous run.
    async def _announce_expansion(self, db: Transaction, concept_id: int) -> None:
        pass

    @contextlib.contextmanager
    def _expansion_signal(self, concept_id: int) -> Iterator[asyncio.Event]:
        yield asyncio.Event()

    async def tables(self) -> set[str]:
        rows = await self._all(SELECT_TABLES)
        return {row[0] for row in rows}

    async def _columns(self, table: str) -> list[str]:
        return [row[1] for row in await self._all(f"PRAGMA table_info({table})")]

    async def id_floor(self, table: str) -> int:
        # AUTOINCREMENT tables remember their highest id in sqlite_sequence.
        kept = await self._one(SELECT_SEQUENCE, (table,))
        highest = await self._one(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return max(kept[0] if kept else 0, highest[0] if highest else 0)

    async def _batches(self, sql: str, most: int) -> AsyncIterator[list[Row]]:
        assert self._scanner is not None
        # One statement, so one read transaction: the rows are one snapshot.
        async with self._scanner.execute(sql) as cursor:
            while rows := await cursor.fetchmany(min(COPY_BATCH, most)):
                yield list(rows)

    async def raise_id_floor(self, db: Transaction, table: str, floor: int) -> None:
        if await db.fetchone(SELECT_SEQUENCE, (table,)) is None:
            return  # a plain INTEGER PRIMARY KEY: ids follow MAX(id), nothing to keep
        await db.execute(RAISE_SEQUENCE, (floor, table))

    async def _settled_version(self) -> int | None:
        rows = await self._writer.execute_fetchall("PRAGMA user_version")
        return next(iter(rows))[0]

    async def _schema_version(self, db: Transaction) -> int:
        row = await db.fetchone("PRAGMA user_version")
        return row[0] if row else 0

    async def _set_schema_version(self, db: Transaction, version: int) -> None:
        await db.execute(f"PRAGMA user_version = {int(version)}")


@contextmanager
def _plain_errors() -> Iterator[None]:
    """A full disk or a lock held too long, as errors whose message a member may see."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
            log.error("The database is full: %s", exc)
            raise StorageFull(STORAGE_FULL) from exc
        if _is_busy(exc):
            log.warning("The database stayed locked for %.0f s: %s", WRITE_PATIENCE, exc)
            raise StorageBusy(STORAGE_BUSY) from exc
        raise


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


@contextlib.contextmanager
def _process_lock(path: Path) -> Iterator[None]:
    """Hold a lock on the database file itself for the block: one bot process per file.

    SQLite's own locks keep two writers from corrupting the file, but two bot
    processes would each keep their generation single-flight and caches to
    themselves; sharing one store is what PostgreSQL is for. The lock is the file's,
    not its name's: a symlink or a hard link reaches the same lock (two processes on
    one file under two names would also keep two write-ahead logs, which corrupts it).
    SQLite locks with fcntl, never flock, so the two never meet. The kernel drops the
    lock when the process ends, however it ends.
    """
    try:
        # Created if missing: SQLite takes an empty file as an empty database.
        held = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _unavailable(path, exc) from None
    try:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"{path} is in use by another Kinapse process; a SQLite file is not shared "
                "between processes (set KINAPSE_DATABASE to a postgresql:// URL to run several)."
            ) from None
        yield
    finally:
        # Closed after SQLite's connections (the block): closing any descriptor of a
        # file drops the fcntl locks this process holds on it.
        os.close(held)


async def _connect(path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row  # rows by column name, straight into the models
        await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives a killed process; only an OS crash can lose the last commit.
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        # Reads the schema: a file that is not SQLite, or is truncated, fails here, not later.
        # Closed at once: an unfinished SELECT would hold a read snapshot for good.
        async with db.execute("SELECT count(*) FROM sqlite_master") as cursor:
            await cursor.fetchone()
    except BaseException:
        # aiosqlite's worker thread keeps the process alive until the connection closes.
        await db.close()
        raise
    return db


def _unavailable(path: Path, exc: OSError | sqlite3.Error) -> StorageUnavailable:
    """One line naming the file and what is wrong with it."""
    if isinstance(exc, OSError):
        what = exc.strerror or type(exc).__name__
        where = exc.filename or path
        return StorageUnavailable(f"{where}: cannot open the database folder or file ({what})")
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        what = f"not a usable SQLite database ({text}); restore a backup or move it away"
    else:
        what = f"cannot be used as the database ({text})"
    return StorageUnavailable(f"{path}: {what}")


def backup(source: Path, target: Path) -> dict[str, int]:
    """Copy the database ``source`` to the new file ``target`` with SQLite's online backup.

    Safe while the bot runs: the copy is one consistent snapshot, whatever is
    written meanwhile. Returns the row count of each table in the copy, read
    back after an integrity check, so a backup that cannot be read is never
    reported as made. A backup that fails says which file is at fault, in one
    line, and leaves nothing behind.
    """
    if not source.is_file():
        raise StorageUnavailable(f"{source}: no database to back up")
    if os.path.lexists(target):  # a dangling symlink too: it would be written through
        raise StorageUnavailable(f"{target}: already exists; back up to a new file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailable(
            f"{target}: cannot make the folder for the backup ({exc.strerror or exc})"
        ) from None
    made = [p for p in _with_sidecars(target) if not os.path.lexists(p)]
    try:
        return _copy(source, target)
    except (OSError, sqlite3.Error) as exc:
        for path in made:  # the copy, and the journal a failed write leaves beside it
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error) and _source_at_fault(exc):
            raise _unavailable(source, exc) from None
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if _is_full(exc):
            what = "the disk is full"
        raise StorageUnavailable(f"{target}: could not write the backup ({what})") from None


def _copy(source: Path, target: Path) -> dict[str, int]:
    # Not through SqliteStorage: no migration, no lock; a running bot keeps both.
    try:
        db = sqlite3.connect(source)
    except sqlite3.Error as exc:
        raise _SourceError(str(exc)) from exc
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        db.close()
        raise _SourceError(str(exc)) from exc
    with contextlib.closing(db), contextlib.closing(sqlite3.connect(target)) as copy:
        db.backup(copy)
        # A copy is one file: no WAL beside it to forget when it is moved.
        copy.execute("PRAGMA journal_mode = DELETE")
        problem = copy.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(f"the copy fails its check: {problem}")
        tables = [
            name
            for (name,) in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            name: copy.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables
        }


class _SourceError(sqlite3.DatabaseError):
    """The database to back up cannot be read."""


def _source_at_fault(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, _SourceError) or code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _is_full(exc: OSError | sqlite3.Error) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)


def _with_sidecars(path: Path) -> list[Path]:
    """The file and what SQLite may write beside it."""
    return [path] + [path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm")]
