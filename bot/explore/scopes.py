"""A scope's settings: the language and level new maps are written in, and its daily
token budget (read by ``Budget``), as the server's managers set them."""

from __future__ import annotations

from bot.config import Settings
from bot.languages import place_locale
from bot.models import Level
from bot.storage import ScopeSettings, Storage


class Preferences:
    """What a scope chose, with the bot's defaults where it chose nothing."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings

    async def language(self, scope: int) -> str:
        """What the scope chose; never chosen, the language of the place the request
        comes from (a server's preferred locale, as Discord tells it); else the bot's."""
        stored = await self.storage.scope_settings(scope)
        return stored.language or place_locale.get() or self.settings.default_language

    async def level(self, scope: int) -> Level:
        """Who the scope's new maps are written for."""
        stored = await self.storage.scope_settings(scope)
        return stored.level or Level.STANDARD

    async def update(
        self,
        scope: int,
        *,
        language: str | None = None,
        budget: int | None = None,
        level: Level | None = None,
    ) -> ScopeSettings:
        """Change what is given, keep the rest."""
        current = await self.storage.scope_settings(scope)
        updated = ScopeSettings(
            language=language if language is not None else current.language,
            daily_token_budget=budget if budget is not None else current.daily_token_budget,
            level=level if level is not None else current.level,
        )
        await self.storage.save_scope_settings(scope, updated)
        return updated
