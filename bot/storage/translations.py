"""Curated maps in other languages, stored once per language for every scope: ``Storage``
takes this part in as a mixin."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.storage.records import StoredTranslation
from bot.storage.sql import SAVE_TRANSLATION, SELECT_TRANSLATION

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class Translations:
    """Translations of curated maps, a part at a time (see migration 13)."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def translation(self, key: str, language: str, part: str) -> StoredTranslation | None:
        row = await self._one(SELECT_TRANSLATION, (key, language, part))
        return StoredTranslation(*row) if row else None

    async def save_translation(
        self,
        key: str,
        language: str,
        part: str,
        *,
        source_hash: str,
        content: str,
        model: str,
        now: float,
    ) -> None:
        """Store a translation; one of an older English text is replaced."""
        async with self.transaction() as db:
            await db.execute(
                SAVE_TRANSLATION, (key, language, part, source_hash, content, model, now)
            )
