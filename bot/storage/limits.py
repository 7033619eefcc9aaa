"""What generations spend and what bounds them.

The usage each generation records, the reservations that count a generation while it is
under way, the per-user cooldown and per-scope daily budget read over both, the topics
the model refused, and who spent most. ``Storage`` takes this part in as a mixin; each
backend supplies ``_lock_limits``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.models import Usage
from bot.storage.records import Limit, Limits, OverLimit, Reservation, UsageTotals
from bot.storage.sql import (
    DELETE_RESERVATION,
    INSERT_RESERVATION,
    INSERT_USAGE,
    SELECT_REFUSAL,
    SELECT_USER_STARTS,
    SUM_SCOPE_SPENT,
    SUM_SCOPE_USAGE,
    TOP_USERS,
    UPSERT_REFUSAL,
)

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class UsageAndLimits(ABC):
    """Usage, reservations and refusals: whether a new generation may start, and what it cost."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def record_usage(
        self,
        *,
        scope: int,
        user_id: int | None,
        request: str,
        kind: str,
        usage: Sequence[Usage],
        now: float,
        settles: int | None = None,
    ) -> None:
        """Record a generation's usage; ``settles``: the id of its reservation, deleted in the
        same transaction, so the generation counts at every moment exactly once."""
        if not usage:
            if settles is not None:
                await self.release(settles)
            return
        async with self.transaction() as db:
            if settles is not None:
                await db.execute(DELETE_RESERVATION, (settles,))
            await db.executemany(
                INSERT_USAGE,
                [
                    (
                        scope,
                        user_id,
                        request,
                        kind,
                        u.model,
                        u.input_tokens,
                        u.output_tokens,
                        u.cache_read_tokens,
                        u.cache_write_tokens,
                        u.web_searches,
                        now,
                    )
                    for u in usage
                ],
            )

    async def usage_since(self, scope: int, since: float) -> UsageTotals:
        row = await self._one(SUM_SCOPE_USAGE, (scope, since))
        assert row is not None
        return UsageTotals(calls=row[0], tokens=row[1], searches=row[2])

    async def over_limit(self, scope: int, user_id: int, limits: Limits) -> OverLimit | None:
        """The limit a new generation by ``user_id`` in ``scope`` would exceed, if any.

        A read that reserves nothing: the answer before anyone waits. ``reserve`` decides.
        """
        return await self._over_limit(None, scope, user_id, limits)

    async def reserve(
        self, scope: int, user_id: int, limits: Limits, *, tokens: int, expires_at: float
    ) -> Reservation | OverLimit:
        """Check the limits and, within them, reserve ``tokens`` of the scope's budget and one
        of the user's starts for a new generation: one step in one write transaction, so that
        generations started at once, in any number of processes, stay within the limits.

        The reservation counts until ``record_usage`` settles it or ``release`` drops it,
        or until ``expires_at`` if neither happens (the process was killed).
        """
        async with self.transaction() as db:
            await self._lock_limits(db, user_id, scope)
            over = await self._over_limit(db, scope, user_id, limits)
            if over is not None:
                return over
            row = await db.fetchone(
                INSERT_RESERVATION, (scope, user_id, tokens, limits.now, expires_at)
            )
        assert row is not None
        return Reservation(row[0], tokens, expires_at)

    async def release(self, reservation_id: int) -> None:
        """A generation ended with no usage to record: it stops counting."""
        async with self.transaction() as db:
            await db.execute(DELETE_RESERVATION, (reservation_id,))

    async def _over_limit(
        self, db: Transaction | None, scope: int, user_id: int, limits: Limits
    ) -> OverLimit | None:
        now = limits.now
        fetchall = db.fetchall if db is not None else self._all
        fetchone = db.fetchone if db is not None else self._one
        rows = await fetchall(SELECT_USER_STARTS, (user_id, now - limits.window, now, user_id, now))
        starts = sorted(row[0] for row in rows)
        if len(starts) >= limits.allowed:
            return OverLimit(Limit.COOLDOWN, starts[-limits.allowed] + limits.window)
        spent = await fetchone(SUM_SCOPE_SPENT, (scope, limits.day_start, scope, now))
        assert spent is not None
        if spent[0] + limits.unrecorded >= limits.budget:
            return OverLimit(Limit.BUDGET, limits.day_end)
        return None

    @abstractmethod
    async def _lock_limits(self, db: Transaction, user_id: int, scope: int) -> None:
        """Make the limit checks of this user and of this scope wait for ``db`` to end, in
        every process, so that each one reads the reservations made before it."""

    async def top_users(self, scope: int, since: float, limit: int = 5) -> list[tuple[int, int]]:
        return [(r[0], r[1]) for r in await self._all(TOP_USERS, (scope, since, limit))]

    async def remember_refusal(self, scope: int, key: str, until: float) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_REFUSAL, (scope, key, until))

    async def refused_until(self, scope: int, key: str, now: float) -> float | None:
        row = await self._one(SELECT_REFUSAL, (scope, key, now))
        return row[0] if row else None
