"""Who asked for an answer, and the one time they share it: ``Storage`` takes this part
in as a mixin."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.storage.records import Asked
from bot.storage.sql import CLAIM_SHARE, INSERT_ASK, RELEASE_SHARE, SELECT_ASK

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class Shares:
    """The askings of answers: one row each time a member is answered, which their Share
    button names."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def record_ask(self, answer_id: int, user_id: int, *, now: float) -> int:
        """``user_id`` was answered with the answer ``answer_id``; the asking's id."""
        async with self.transaction() as db:
            row = await db.fetchone(INSERT_ASK, (answer_id, user_id, now))
        assert row is not None
        return row[0]

    async def get_ask(self, ask_id: int) -> Asked | None:
        row = await self._one(SELECT_ASK, (ask_id,))
        return Asked(row[0], row[1], row[2], row[3]) if row else None

    async def claim_share(self, ask_id: int, user_id: int, *, now: float) -> bool:
        """Mark the asking shared, if it is ``user_id``'s and not shared yet: True for the
        one caller that may post it, however many ask at once."""
        async with self.transaction() as db:
            return await db.execute(CLAIM_SHARE, (now, ask_id, user_id)) == 1

    async def release_share(self, ask_id: int) -> None:
        """The post failed: the asking may be shared again."""
        async with self.transaction() as db:
            await db.execute(RELEASE_SHARE, (ask_id,))
