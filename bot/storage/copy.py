"""``python -m bot db copy SOURCE TARGET``: every row from one database to another.

Between a SQLite file and PostgreSQL, either way. Ids are kept (custom_ids on
Discord carry them), and the target never hands out an id the source already
used. Both ends are checked first without being changed (``probe``): the source
must be a Kinapse database, the target empty or a current Kinapse schema with no
rows, so a refused copy leaves another application's database as it was. The
rows of each table are counted on both sides afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.storage import SCHEMA_VERSION, StorageError, open_storage
from bot.storage.probe import Found, probe

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
    "asks",
    "meanings",
    "aliases",
    "retries",
    "usage",
    "reservations",
    "scope_settings",
    "refusals",
    "meta",
    "explored",
    "quizzes",
    "quiz_questions",
    "quiz_answers",
    "concept_questions",
    "review_cards",
    "review_log",
    "member_names",
    "threads",
    "learning_settings",
    "translations",
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
    """Copy every table; raises ``CopyError``, with both ends unchanged, if the source is
    not a Kinapse database or the target is not an empty one."""
    _check_source(await probe(source))
    _check_target(await probe(target, tuple(COPY_ORDER)))
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


def _check_source(found: Found) -> None:
    if not found.exists:
        raise CopyError(f"no database at {found.where}")
    if found.version == 0:
        held = _names(found.tables) if found.tables else "nothing"
        raise CopyError(f"{found.where} is not a Kinapse database (it holds {held})")
    if found.version > SCHEMA_VERSION:
        raise CopyError(
            f"{found.where} has schema version {found.version}, newer than this Kinapse "
            f"understands ({SCHEMA_VERSION}); copy it with a newer Kinapse"
        )


def _check_target(found: Found) -> None:
    if found.empty:
        return
    if found.version == 0:
        raise CopyError(
            f"{found.where} holds another application's tables ({_names(found.tables)}); "
            "copy into a new database"
        )
    if found.version != SCHEMA_VERSION or found.tables != set(COPY_ORDER):
        raise CopyError(
            f"{found.where} has Kinapse schema version {found.version}, not the current "
            f"{SCHEMA_VERSION}; copy into a new database"
        )
    if found.filled:
        raise CopyError(
            f"{found.where} is not empty ({found.filled[0]} has rows); copy into a new database"
        )


def _names(tables: frozenset[str], shown: int = 5) -> str:
    names = sorted(tables)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
