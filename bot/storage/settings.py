"""A scope's settings (language, level, budget, sources and sites) and the bot's own values.

``Storage`` takes this part in as a mixin; its backend supplies the reads and the
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.models import Level
from bot.storage.records import ScopeSettings
from bot.storage.sql import SELECT_META, SELECT_SCOPE_SETTINGS, UPSERT_META, UPSERT_SCOPE_SETTINGS

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class StoredSettings:
    """Scope settings and meta values."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def scope_settings(self, scope: int) -> ScopeSettings:
        row = await self._one(SELECT_SCOPE_SETTINGS, (scope,))
        if row is None:
            return ScopeSettings()
        language, budget, level, sources, prefer, block = row
        return ScopeSettings(
            language,
            budget,
            Level(level) if level else None,
            web_search=None if sources is None else sources != SOURCES_OFF,
            prefer_domains=_domains(prefer),
            block_domains=_domains(block),
        )

    async def save_scope_settings(self, scope: int, settings: ScopeSettings) -> None:
        search = settings.web_search
        async with self.transaction() as db:
            await db.execute(
                UPSERT_SCOPE_SETTINGS,
                (
                    scope,
                    settings.language,
                    settings.daily_token_budget,
                    settings.level.value if settings.level else None,
                    None if search is None else SOURCES_WEB if search else SOURCES_OFF,
                    ",".join(settings.prefer_domains) or None,
                    ",".join(settings.block_domains) or None,
                ),
            )

    async def get_meta(self, key: str) -> str | None:
        row = await self._one(SELECT_META, (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_META, (key, value))


# How ``scope_settings.sources`` stores a server's choice (NULL: the default, web).
SOURCES_WEB = "web"
SOURCES_OFF = "off"


def _domains(stored: str | None) -> tuple[str, ...]:
    return tuple(d for d in (stored or "").split(",") if d)
