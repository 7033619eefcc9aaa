"""A scope's settings: the language and level new maps are written in, its daily token
budget (read by ``Budget``), and whether generations search the web for sources (and which
sites to prefer or block), as the server's managers set them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.config import Settings
from bot.errors import KinapseError
from bot.generator import Search
from bot.i18n import N_
from bot.languages import place_locale
from bot.models import Level
from bot.storage import ScopeSettings, Storage

DOMAINS_MAX = 10  # sites a server may prefer, and as many it may block
# A site as the search tool takes it: a host, optionally with a path (no scheme).
_DOMAIN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+(?:/[\w./-]*)?"
)


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

    async def web_search(self, scope: int) -> bool:
        """Whether the scope's generations search the web (the bot's setting, then its own)."""
        if not self.settings.web_search:
            return False
        stored = await self.storage.scope_settings(scope)
        return stored.web_search is not False

    async def search(self, scope: int) -> Search | None:
        """How the scope's generations search the web, or None when they do not."""
        if not self.settings.web_search:
            return None
        stored = await self.storage.scope_settings(scope)
        if stored.web_search is False:
            return None
        return Search(prefer=stored.prefer_domains, block=stored.block_domains)

    async def current(self, scope: int) -> ScopeSettings:
        return await self.storage.scope_settings(scope)

    async def update(
        self,
        scope: int,
        *,
        language: str | None = None,
        budget: int | None = None,
        level: Level | None = None,
        web_search: bool | None = None,
        prefer: Sequence[str] | None = None,
        block: Sequence[str] | None = None,
    ) -> ScopeSettings:
        """Change what is given, keep the rest (an empty list of sites clears it)."""
        current = await self.storage.scope_settings(scope)
        updated = ScopeSettings(
            language=language if language is not None else current.language,
            daily_token_budget=budget if budget is not None else current.daily_token_budget,
            level=level if level is not None else current.level,
            web_search=web_search if web_search is not None else current.web_search,
            prefer_domains=tuple(prefer) if prefer is not None else current.prefer_domains,
            block_domains=tuple(block) if block is not None else current.block_domains,
        )
        await self.storage.save_scope_settings(scope, updated)
        return updated


def parse_domains(text: str) -> list[str]:
    """Sites as a manager types them ("iea.org, https://www.eia.gov/"), as the search tool
    takes them ("iea.org", "eia.gov"); "none" or "-" for none. A site that is not one is
    refused with a message naming it."""
    text = text.strip()
    if text.casefold() in ("", "none", "-"):
        return []
    found: list[str] = []
    for part in re.split(r"[,;\n]+", text):
        if not (part := part.strip()):
            continue
        site = re.sub(r"^[a-z]+://", "", part.casefold()).removeprefix("www.").rstrip("/")
        if _DOMAIN.fullmatch(site) is None:
            shown = part[:60].replace("`", "'")
            raise KinapseError(
                N_("`{site}` is not a site; write sites like iea.org, eia.gov.", site=shown)
            )
        if site not in found:
            found.append(site)
    if len(found) > DOMAINS_MAX:
        raise KinapseError(N_("Name at most {count} sites.", count=DOMAINS_MAX))
    return found
