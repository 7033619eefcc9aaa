"""Answers to questions about a card: stored once per (card, question), with what they cite.

``Storage`` takes this part in as a mixin; its backend supplies the reads and the
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.models import Answer, Citation, citations_json
from bot.storage.sql import INSERT_ANSWER, SELECT_ANSWER, SELECT_ANSWER_BY_QUESTION

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class Answers:
    """Stored answers."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def find_answer(
        self, map_id: int, concept_id: int | None, question_key: str
    ) -> Answer | None:
        """The stored answer to a question about a concept (None: about the map itself)."""
        row = await self._one(SELECT_ANSWER_BY_QUESTION, (map_id, concept_id or 0, question_key))
        return Answer.model_validate(dict(row)) if row else None

    async def get_answer(self, answer_id: int) -> Answer | None:
        row = await self._one(SELECT_ANSWER, (answer_id,))
        return Answer.model_validate(dict(row)) if row else None

    async def save_answer(
        self,
        *,
        scope: int,
        map_id: int,
        concept_id: int | None,
        question_key: str,
        question: str,
        text: str,
        model: str,
        now: float,
        sources: Sequence[Citation] = (),
    ) -> Answer:
        """Store an answer; if the question was answered meanwhile, that answer is returned."""
        async with self.transaction() as db:
            await db.execute(
                INSERT_ANSWER,
                (
                    scope,
                    map_id,
                    concept_id,
                    question_key,
                    question,
                    text,
                    model,
                    now,
                    citations_json(list(sources)),
                ),
            )
        stored = await self.find_answer(map_id, concept_id, question_key)
        assert stored is not None
        return stored
