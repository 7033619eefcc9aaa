"""Storage: the only package with SQL.

``open_storage(database)`` picks the backend from ``KINAPSE_DATABASE``: a file
path is SQLite (one process, the default), a ``postgresql://`` URL is
PostgreSQL (several processes and machines). Both run the same queries and use
cases (``store.py``) and the same numbered migrations (``migrations/``).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.storage.migrations import SCHEMA_VERSION
from bot.storage.store import (
    MapListing,
    SchemaTooNew,
    ScopeSettings,
    Storage,
    StorageUnavailable,
    Transaction,
    UsageTotals,
)

__all__ = [
    "SCHEMA_VERSION",
    "MapListing",
    "SchemaTooNew",
    "ScopeSettings",
    "Storage",
    "StorageUnavailable",
    "Transaction",
    "UsageTotals",
    "open_storage",
]


def open_storage(database: Path | str) -> AbstractAsyncContextManager[Storage]:
    """``async with open_storage(database) as storage``: connected and migrated."""
    from bot.storage.sqlite import SqliteStorage

    return SqliteStorage.connect(Path(database))
