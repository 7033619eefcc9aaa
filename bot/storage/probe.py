"""What a database holds, read without changing it: what ``db copy`` checks first.

Opening a database through ``open_storage`` migrates it, which creates Kinapse's tables
in whatever it points at. ``probe`` only reads (a SQLite file opened read-only, a
PostgreSQL read-only transaction), so a copy that refuses leaves both ends as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.storage import StorageUnavailable, is_postgres_url

SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
SQLITE_VERSION = "PRAGMA user_version"
POSTGRES_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
POSTGRES_VERSION = "SELECT max(version) FROM schema_version"
POSTGRES_VERSION_TABLE = "schema_version"  # the PostgreSQL backend's bookkeeping
# Filled with a name read from the schema, never a typed one.
HAS_ROWS = 'SELECT EXISTS (SELECT 1 FROM "{table}")'


@dataclass(frozen=True)
class Found:
    """A database as it is: ``exists`` (False: a SQLite file not there yet), its Kinapse
    schema version (0: none), its tables, and which of ``asked`` hold rows."""

    where: str
    exists: bool
    version: int
    tables: frozenset[str]
    filled: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.tables and self.version == 0


async def probe(database: Path | SecretStr | str, rows_of: tuple[str, ...] = ()) -> Found:
    """Read what ``database`` holds, changing nothing; ``rows_of``: the tables (of those
    it has) whose rows to look for."""
    plain = _plain(database)
    if is_postgres_url(plain):
        return await _probe_postgres(plain, rows_of)
    return await asyncio.to_thread(_probe_sqlite, Path(plain), rows_of)


def _plain(database: Path | SecretStr | str) -> str:
    return database.get_secret_value() if isinstance(database, SecretStr) else str(database)


def _probe_sqlite(path: Path, rows_of: tuple[str, ...]) -> Found:
    where = str(path)
    if not path.exists():
        return Found(where, False, 0, frozenset(), ())
    try:
        # mode=ro: never creates, writes or migrates, whatever the file is.
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            tables = frozenset(name for (name,) in db.execute(SQLITE_TABLES))
            (version,) = db.execute(SQLITE_VERSION).fetchone()
            filled = tuple(
                table
                for table in rows_of
                if table in tables and db.execute(HAS_ROWS.format(table=table)).fetchone()[0]
            )
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(f"{where}: not a usable SQLite database ({exc})") from None
    return Found(where, True, version, tables, filled)


async def _probe_postgres(url: str, rows_of: tuple[str, ...]) -> Found:
    import asyncpg

    from bot.storage.postgres import redact

    where = redact(url)
    try:
        connection = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StorageUnavailable(f"{where}: cannot use the PostgreSQL database ({exc})") from None
    try:
        async with connection.transaction(readonly=True):
            tables = frozenset(row[0] for row in await connection.fetch(POSTGRES_TABLES))
            version = 0
            if POSTGRES_VERSION_TABLE in tables:
                version = await connection.fetchval(POSTGRES_VERSION) or 0
            filled = []
            for table in rows_of:
                if table in tables and await connection.fetchval(HAS_ROWS.format(table=table)):
                    filled.append(table)
    except asyncpg.PostgresError as exc:
        raise StorageUnavailable(f"{where}: cannot read the PostgreSQL database ({exc})") from None
    finally:
        await connection.close()
    return Found(where, True, version, tables - {POSTGRES_VERSION_TABLE}, tuple(filled))
