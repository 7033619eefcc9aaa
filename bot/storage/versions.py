"""A refreshed concept's text, written again with its earlier versions kept.

``Storage`` takes this part in as a mixin; its backend supplies the reads and the
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.models import ConceptDraft, citations_json
from bot.storage.changes import Note
from bot.storage.records import Change, Changed, ConceptVersion
from bot.storage.sql import COUNT_VERSIONS, INSERT_VERSION, REFRESH_CONCEPT, SELECT_VERSIONS

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class Versions:
    """Refreshing a concept, and its earlier versions."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

        def _changing(self) -> AbstractAsyncContextManager[Note]: ...

    async def refresh_concept(
        self, concept_id: int, draft: ConceptDraft, *, model: str, now: float
    ) -> None:
        """Write a concept's text again (its title and place stay), keeping the text it had
        as an earlier version, in one transaction; readers holding it drop it."""
        async with self._changing() as note, self.transaction() as db:
            await db.execute(INSERT_VERSION, (now, concept_id))
            refreshed = await db.fetchone(
                REFRESH_CONCEPT,
                (
                    draft.summary,
                    draft.detail,
                    model,
                    now,
                    citations_json(draft.sources),
                    concept_id,
                ),
            )
            if refreshed is not None:
                await note(db, Change(Changed.CONCEPT, refreshed[0], concept_id))

    async def versions(self, concept_id: int) -> list[ConceptVersion]:
        """A refreshed concept's earlier texts, the latest first."""
        rows = await self._all(SELECT_VERSIONS, (concept_id,))
        return [ConceptVersion.of_row(row) for row in rows]

    async def count_versions(self, concept_id: int) -> int:
        row = await self._one(COUNT_VERSIONS, (concept_id,))
        return row[0] if row else 0
