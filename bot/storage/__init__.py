"""Storage: the only package with SQL.

``open_storage(database)`` picks the backend from ``KINAPSE_DATABASE``: a file
path is SQLite (one process, the default), a ``postgresql://`` URL is
PostgreSQL (several processes and machines). Both run the same queries
(``sql.py``), the same use cases (``base.py``, with ``limits.py`` and
``whole_tables.py`` as its mixins) and the same numbered migrations
(``migrations/``); ``records.py`` holds what the use cases return beside the
models, ``errors.py`` what goes wrong.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from pydantic import SecretStr

from bot.config import POSTGRES_SCHEMES
from bot.storage.base import Storage, Transaction
from bot.storage.errors import (
    DatabaseInUse,
    SchemaTooNew,
    StorageError,
    StorageUnavailable,
    lock_wait_listener,
)
from bot.storage.materials import MaterialInfo, NewMaterial
from bot.storage.migrations import SCHEMA_VERSION
from bot.storage.records import (
    FORGOTTEN_SCOPE,
    SESSION_HISTORY_MAX,
    Asked,
    Change,
    Changed,
    ConceptVersion,
    Limit,
    Limits,
    MapListing,
    OverLimit,
    Pruned,
    Reservation,
    ScopeSettings,
    StoredTranslation,
    UsageTotals,
)

__all__ = [
    "FORGOTTEN_SCOPE",
    "SCHEMA_VERSION",
    "SESSION_HISTORY_MAX",
    "Asked",
    "Change",
    "Changed",
    "ConceptVersion",
    "DatabaseInUse",
    "Limit",
    "Limits",
    "MapListing",
    "MaterialInfo",
    "NewMaterial",
    "OverLimit",
    "Pruned",
    "Reservation",
    "SchemaTooNew",
    "ScopeSettings",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "StoredTranslation",
    "Transaction",
    "UsageTotals",
    "is_postgres_url",
    "lock_wait_listener",
    "open_storage",
]


DEFAULT_POOL_SIZE = 10


def is_postgres_url(database: Path | SecretStr | str) -> bool:
    if isinstance(database, SecretStr):
        database = database.get_secret_value()
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def open_storage(
    database: Path | SecretStr | str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    exclusive: bool = False,
) -> AbstractAsyncContextManager[Storage]:
    """``async with open_storage(database) as storage``: connected and migrated.

    ``database`` is a SQLite file path or a ``postgresql://`` URL (plain or secret).
    ``exclusive``: this process writes for its whole life (the bot, the preview,
    a copy), so a SQLite file is locked against a second such process, which
    raises ``DatabaseInUse``; PostgreSQL is made to be shared and ignores it.
    """
    if isinstance(database, SecretStr):
        database = database.get_secret_value()
    if is_postgres_url(database):
        assert isinstance(database, str)
        # Imported only when used: a SQLite deployment needs no asyncpg.
        from bot.storage.postgres import PostgresStorage

        return PostgresStorage.connect(database, pool_size=pool_size)
    from bot.storage.sqlite import SqliteStorage

    return SqliteStorage.connect(Path(database), exclusive=exclusive)
