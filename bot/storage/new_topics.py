"""What a new topic needs beside its map: the meanings of an ambiguous topic, the aliases
that find a map under what was typed, and the retries of failed ones. ``Storage`` takes
this part in as a mixin."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.models import Meaning, StoredMeaning, StoredRetry
from bot.storage.sql import (
    INSERT_MEANING,
    INSERT_RETRY,
    SELECT_ALIAS,
    SELECT_MEANING,
    SELECT_MEANINGS,
    SELECT_RETRY,
    UPSERT_ALIAS,
)

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class NewTopics:
    """Meanings, aliases and retries, by scope and typed topic."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

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
