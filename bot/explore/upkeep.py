"""Upkeep: forgetting a map, and keeping the database tidy (at start and once a day)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.config import Settings
from bot.explore.material import Materials
from bot.storage import Pruned, Storage

log = logging.getLogger(__name__)

DAY = 86_400.0
USAGE_KEPT_DAYS = 396  # 13 months: /kinapse usage shows this month, a year on is compared


class Upkeep:
    """Forgetting maps and pruning what has expired."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        clock: Callable[[], float],
        materials: Materials | None = None,
    ) -> None:
        self.storage = storage
        self.materials = materials
        self.settings = settings
        self.clock = clock
        # Deleting forgotten maps' rows, after they left their scope (see ``forget``).
        self._purging: asyncio.Task[None] | None = None
        self._purge_again = False

    async def forget(self, scope: int, key: str) -> bool:
        """Forget the scope's map ``key``: gone from the scope at once, whatever its size;
        its concepts and sessions are deleted in the background. A map of a member's
        material loses it at once (and its file at the Files API)."""
        concept_map = await self.storage.find_map(scope, key)
        if concept_map is not None and concept_map.material and self.materials is not None:
            await self.materials.forget(concept_map.id)
        if not await self.storage.forget_map(scope, key):
            return False
        self._purge_again = True
        if self._purging is None or self._purging.done():
            self._purging = asyncio.create_task(self._purge())
        return True

    async def _purge(self) -> None:
        while self._purge_again:  # a map forgotten while purging is purged next
            self._purge_again = False
            try:
                purged = await self.storage.purge_forgotten()
            except Exception:
                log.exception("Deleting forgotten maps failed; the daily upkeep tries again")
                return
            log.info("Deleted %d forgotten maps", purged)

    async def prune(self) -> Pruned:
        """Forget sessions untouched for ``session_days``, expired refusals and reservations,
        old usage, and the retries of failed new topics and askings of answers once they
        are ``session_days`` old (like a session, each is what a message's button stands on)."""
        now = self.clock()
        kept_since = now - self.settings.session_days * DAY
        await self.storage.purge_forgotten()  # any a stopped process left
        pruned = await self.storage.prune(
            sessions_before=kept_since,
            now=now,
            usage_before=now - USAGE_KEPT_DAYS * DAY,
            retries_before=kept_since,
        )
        log.info(
            "Pruned %d sessions, %d refusals, %d usage rows, %d expired reservations,"
            " %d retries and %d askings of answers",
            pruned.sessions,
            pruned.refusals,
            pruned.usage,
            pruned.reservations,
            pruned.retries,
            pruned.asks,
        )
        return pruned

    async def keep_tidy(self) -> None:
        """Prune now and then once a day, for as long as the bot runs."""
        while True:
            try:
                await self.prune()
            except Exception:
                # A busy or full database today is no reason to stop pruning tomorrow.
                log.exception("Pruning the database failed")
            await asyncio.sleep(DAY)
