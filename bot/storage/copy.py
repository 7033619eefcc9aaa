"""``python -m bot db copy SOURCE TARGET``: every row from one database to another.

Between a SQLite file and PostgreSQL, either way. Ids are kept (custom_ids on
Discord carry them), and the target never hands out an id the source already
used. The target must be empty; the rows of each table are counted on both
sides afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.storage import StorageError, is_postgres_url, open_storage

log = logging.getLogger(__name__)

# Parents before children, so every foreign key finds its row. A table a
# migration adds goes here too (a test checks that none is missing).
COPY_ORDER = [
    "maps",
    "concepts",
    "concept_versions",
    "materials",
    "sessions",
    "answers",
    "meanings",
    "aliases",
    "retries",
    "usage",
    "reservations",
    "scope_settings",
    "refusals",
    "meta",
]


class CopyError(StorageError):
    """The copy cannot start or did not copy everything; the message says which."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


async def copy_database(
    source: Path | SecretStr | str, target: Path | SecretStr | str
) -> list[Copied]:
    """Copy every table; raises ``CopyError`` (nothing written) if the target has rows."""
    # Opening a missing SQLite file would create an empty one.
    if not is_postgres_url(source) and not await asyncio.to_thread(Path(str(source)).is_file):
        raise CopyError(f"no database at {source}")
    async with (
        open_storage(source, exclusive=True) as origin,
        open_storage(target, exclusive=True) as destination,
    ):
        tables = await origin.tables()
        unknown = (tables | await destination.tables()) - set(COPY_ORDER)
        if unknown:
            raise CopyError(f"this Kinapse does not know how to copy {', '.join(sorted(unknown))}")
        for table in COPY_ORDER:
            if await destination.count_rows(table):
                raise CopyError(
                    f"{destination.where} is not empty ({table} has rows); copy into a new database"
                )
        copied = []
        # One transaction: a copy that fails leaves the target as empty as it found it.
        async with destination.transaction() as db:
            for table in COPY_ORDER:
                columns, batches = await origin.read_rows(table)
                async for rows in batches:
                    await destination.write_rows(db, table, columns, rows)
                if "id" in columns:
                    floor = await origin.id_floor(table)
                    await destination.raise_id_floor(db, table, floor)
                expected = await origin.count_rows(table)
                found = await destination.count_rows(table, db)
                if found != expected:
                    raise CopyError(
                        f"{table}: {expected} rows in the source, {found} in the target"
                    )
                log.info("Copied %d rows of %s", found, table)
                copied.append(Copied(table, found))
        return copied
