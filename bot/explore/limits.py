"""Limits and usage: who may start a generation, and what each one spent.

A member may start ``cooldown_generations`` new generations per cooldown window
and a scope may spend its daily token budget; a generation counts against both
from its start (a reservation in storage, checked and made in one step across
processes) until its real usage settles it. A refusal is remembered for an hour,
so the same request is not sent again. Usage the database cannot take (locked,
full) is kept in memory and written later, oldest first.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot.config import Settings
from bot.errors import GenerationError, LimitReached, Refused
from bot.explore.flights import QUEUE_PATIENCE, Flight, Slots
from bot.generator import Generated
from bot.i18n import N_
from bot.models import Usage
from bot.storage import Limit, Limits, OverLimit, Reservation, Storage, UsageTotals

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]

REFUSAL_MEMORY = 3600.0  # seconds a refused request is answered from memory
# Tokens a generation counts against its server's daily budget while it runs: the
# output limit of one call (generator.MAX_TOKENS, 4,096) plus about 1,000 of prompt.
# The real usage replaces it when the generation ends.
RESERVED_TOKENS = 5_000
# A reservation outlives its generation by this much at the longest (see
# ``Budget.reservation_lifetime``), so only a process killed mid-generation leaves one.
RESERVATION_SLACK = 60.0
LEASE_SLACK = 30.0  # a pending expansion's lease outlives the generation deadline by this
UNRECORDED_MAX = 1_000  # usage kept in memory while the database cannot take it


@dataclass(frozen=True)
class UsageReport:
    """What /kinapse usage shows: this UTC day's and month's usage (web searches included,
    at their price in tokens), the top users of the month with their tokens, and the daily
    budget."""

    today: UsageTotals
    month: UsageTotals
    top: list[tuple[int, int]]
    budget: int


@dataclass(frozen=True)
class Spent:
    """One generation's usage, waiting to be recorded."""

    scope: int
    user_id: int
    request: str
    kind: str
    usage: list[Usage]
    when: float
    reservation: Reservation | None = None  # deleted in the transaction that records it

    @property
    def tokens(self) -> int:
        return sum(u.total for u in self.usage)

    def unreserved(self, now: float) -> int:
        """Its tokens that storage counts nowhere yet: beyond its reservation while it lives."""
        held = self.reservation.held(now) if self.reservation else 0
        return max(self.tokens - held, 0)


class Budget:
    """The limits on generations, the model call slots, and the usage they record."""

    def __init__(self, storage: Storage, settings: Settings, clock: Clock) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.slots = Slots(settings.max_concurrent_generations)
        # Usage the database could not take yet (locked, full), oldest first.
        self._unrecorded: deque[Spent] = deque(maxlen=UNRECORDED_MAX)

    async def daily_budget(self, scope: int) -> int:
        stored = await self.storage.scope_settings(scope)
        if stored.daily_token_budget is not None:
            return stored.daily_token_budget
        return self.settings.daily_token_budget

    async def report(self, scope: int, top: int) -> UsageReport:
        """The scope's usage today and this month (UTC), with its ``top`` users."""
        day = _day_start(self.clock())
        month = day.replace(day=1).timestamp()
        return UsageReport(
            today=await self.storage.usage_since(scope, day.timestamp()),
            month=await self.storage.usage_since(scope, month),
            top=await self.storage.top_users(scope, month, top),
            budget=await self.daily_budget(scope),
        )

    # -- before a generation ---------------------------------------------------

    async def check(self, scope: int, user_id: int) -> None:
        """Raise ``LimitReached`` if a new generation would exceed a limit (reads only)."""
        over = await self.storage.over_limit(scope, user_id, await self._limits(scope))
        if over is not None:
            raise self._limit_reached(over)

    async def start(self, scope: int, user_id: int, subject: str) -> Reservation:
        """Admit a new generation of ``subject``: not refused lately, and within the limits,
        which it counts against from now on; or raise ``LimitReached``."""
        await self.check_refusal(scope, subject)
        return await self.reserve(scope, user_id)

    async def reserve(self, scope: int, user_id: int, tokens: int = RESERVED_TOKENS) -> Reservation:
        """Count a new generation of about ``tokens`` against the limits, or raise
        ``LimitReached``."""
        limits = await self._limits(scope)
        reserved = await self.storage.reserve(
            scope,
            user_id,
            limits,
            tokens=tokens,
            expires_at=limits.now + self.reservation_lifetime(),
        )
        if isinstance(reserved, OverLimit):
            raise self._limit_reached(reserved)
        return reserved

    async def release(self, reservation: Reservation) -> None:
        try:
            await self.storage.release(reservation.id)
        except Exception:
            # It stops counting when it expires; the generation's own outcome matters more.
            log.warning("Could not release a reservation; it expires on its own", exc_info=True)

    def reservation_lifetime(self) -> float:
        """The longest a generation can run: a wait for another process's lease on the
        concept, then for a slot, then the call, each bounded (see ``Concepts``)."""
        deadline = self.settings.generation_deadline
        return (deadline + LEASE_SLACK) + QUEUE_PATIENCE + deadline + RESERVATION_SLACK

    async def left_today(self, scope: int) -> tuple[int, int]:
        """The tokens the scope may still spend this UTC day, and its daily budget."""
        budget = await self.daily_budget(scope)
        spent = await self.storage.usage_since(scope, _day_start(self.clock()).timestamp())
        return max(budget - spent.tokens, 0), budget

    async def check_refusal(self, scope: int, subject: str) -> None:
        until = await self.storage.refused_until(scope, subject, self.clock())
        if until is not None:
            raise LimitReached(
                N_("Claude declined this request recently, so it won't be asked again yet."),
                datetime.fromtimestamp(until, UTC),
            )

    async def _limits(self, scope: int) -> Limits:
        now = self.clock()
        day_start = _day_start(now)
        return Limits(
            now=now,
            window=self.settings.cooldown_seconds,
            allowed=self.settings.cooldown_generations,
            budget=await self.daily_budget(scope),
            day_start=day_start.timestamp(),
            day_end=(day_start + timedelta(days=1)).timestamp(),
            unrecorded=self._unrecorded_tokens(scope, now),
        )

    def _limit_reached(self, over: OverLimit) -> LimitReached:
        retry_at = datetime.fromtimestamp(over.retry_at, UTC)
        if over.limit is Limit.COOLDOWN:
            allowed, window = self.settings.cooldown_generations, self.settings.cooldown_seconds
            limit = N_(
                "You have started {count} new generations in the last {duration}; "
                "please wait a little.",
                count=allowed,
                duration=timedelta(seconds=window),
            )
            return LimitReached(limit, retry_at)
        return LimitReached(
            N_("This server has used today's generation budget; stored maps still work."),
            retry_at,
        )

    # -- the call itself ---------------------------------------------------------

    async def call(
        self,
        scope: int,
        user_id: int,
        kind: str,
        subject: str,
        call: Callable[[], Awaitable[Generated[T]]],
        flight: Flight | None = None,
    ) -> Generated[T]:
        """Run one generation in a free slot, recording its usage whatever the outcome.

        ``subject`` names what is generated ("map:<key>", "concept:<id>"); a
        refusal is remembered under it.
        """
        request = uuid.uuid4().hex
        try:
            async with self.slots.held(flight):
                started = time.monotonic()
                result = await call()
        except GenerationError as exc:
            log.info("Generation of %s failed in scope %s: %s", subject, scope, exc)
            await self._record(scope, user_id, request, kind, exc.usage, flight)
            if isinstance(exc, Refused):
                until = self.clock() + REFUSAL_MEMORY
                await self.storage.remember_refusal(scope, subject, until)
            raise
        log.info(
            "Generated %s in scope %s: %.1f s, %d tokens in %d calls",
            subject,
            scope,
            time.monotonic() - started,
            sum(u.total for u in result.usage),
            len(result.usage),
        )
        await self._record(scope, user_id, request, kind, result.usage, flight)
        return result

    async def _record(
        self,
        scope: int,
        user_id: int,
        request: str,
        kind: str,
        usage: list[Usage],
        flight: Flight | None,
    ) -> None:
        """Record the tokens a generation spent, settling its reservation in the same
        transaction; both are kept (in memory, in storage) while the database can't."""
        if usage:
            reservation = flight.settle() if flight else None
            spent = Spent(scope, user_id, request, kind, usage, self.clock(), reservation)
            self._unrecorded.append(spent)
        await self.flush_usage()

    async def flush_usage(self) -> None:
        """Write the usage the database could not take before, oldest first."""
        while self._unrecorded:
            spent = self._unrecorded.popleft()
            try:
                # Shielded: once taken off the list, a cancelled caller still records it.
                await asyncio.shield(
                    self.storage.record_usage(
                        scope=spent.scope,
                        user_id=spent.user_id,
                        request=spent.request,
                        kind=spent.kind,
                        usage=spent.usage,
                        now=spent.when,
                        settles=spent.reservation.id if spent.reservation else None,
                    )
                )
            except Exception:
                self._unrecorded.appendleft(spent)
                log.warning(
                    "Usage of %d tokens in scope %s kept in memory: the database refused it",
                    spent.tokens,
                    spent.scope,
                    exc_info=True,
                )
                return

    def _unrecorded_tokens(self, scope: int, now: float) -> int:
        return sum(spent.unreserved(now) for spent in self._unrecorded if spent.scope == scope)


def _day_start(now: float) -> datetime:
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
