"""The /kinapse commands of a server's managers: forget a map, the server's settings,
and the usage of Claude."""

from __future__ import annotations

import logging

from bot.errors import KinapseError, NotFound
from bot.explore.scopes import parse_domains
from bot.models import SEARCH_TOKENS, Level, clean_topic, normalize_spaces
from bot.ui import cards
from bot.ui.context import Interaction, scope_of
from bot.ui.in_time import answered_in_time, in_time
from bot.ui.respond import send_text

log = logging.getLogger(__name__)

TOP_USERS_SHOWN = 5
LANGUAGE_MAX = 35  # a BCP 47 tag or a language name
BUDGET_MAX = 100_000_000
LEVELS = {level.value: level for level in Level}
BAD_LANGUAGE = f"A language is 1 to {LANGUAGE_MAX} characters, for example English or de."
BAD_BUDGET = f"The daily budget is a number of tokens from 0 to {BUDGET_MAX:,}."
BAD_LEVEL = "Choose a level from the list: " + ", ".join(LEVELS) + "."
SITES_MAX = 300  # a list of sites, comma-separated
SOURCES = {"web": True, "off": False}
BAD_SOURCES = "Sources are web or off."
BAD_SITES = f"A list of sites is at most {SITES_MAX} characters, for example iea.org, eia.gov."


async def forget(interaction: Interaction, topic: str) -> None:
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        scope = scope_of(interaction)
        concept_map = await explorer.topics.find_stored(scope, topic)
        if concept_map is None:
            raise NotFound(f"This server has no map called {cards.literal(clean_topic(topic))}.")
        await in_time(interaction, explorer.upkeep.forget(scope, concept_map.key), ephemeral=True)
        log.info(
            "Map %r forgotten in scope %s by %s", concept_map.topic, scope, interaction.user.id
        )
        await send_text(interaction, f"Forgot the map of {cards.literal(concept_map.topic)}.")


async def settings(
    interaction: Interaction,
    *,
    language: str | None,
    daily_budget: int | None,
    level: str | None,
    sources: str | None = None,
    prefer_sites: str | None = None,
    block_sites: str | None = None,
    forum: int | None = None,
    forum_posts: bool | None = None,
) -> None:
    """Change what is given, then show the server's settings. Every option is checked here,
    whatever the client enforced: a request made by hand skips Discord's checks."""
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        scope = scope_of(interaction)
        language, daily_budget, picked = _checked(language, daily_budget, level)
        web_search = _checked_sources(sources)
        prefer = _checked_sites(prefer_sites)
        block = _checked_sites(block_sites)
        if forum_posts is False:
            await in_time(interaction, explorer.discussions.set_forum(scope, None), ephemeral=True)
        elif forum is not None:
            await in_time(interaction, explorer.discussions.set_forum(scope, forum), ephemeral=True)
        elif forum_posts:
            raise KinapseError("Choose the forum channel to post maps in (the forum option).")
        given = (language, daily_budget, picked, web_search, prefer, block)
        if any(value is not None for value in given):
            changing = explorer.preferences.update(
                scope,
                language=language,
                budget=daily_budget,
                level=picked,
                web_search=web_search,
                prefer=prefer,
                block=block,
            )
            await in_time(interaction, changing, ephemeral=True)
        current_language = await explorer.preferences.language(scope)
        current_level = await explorer.preferences.level(scope)
        budget = await explorer.budget.daily_budget(scope)
        chosen = await explorer.discussions.forum(scope)
        posts = f" · maps posted in <#{chosen}>" if chosen is not None else ""
        await send_text(
            interaction,
            f"Language: **{cards.literal(current_language)}** · "
            f"level: **{current_level.value}** · "
            f"daily generation budget: **{budget:,}** tokens{posts}\n"
            + await _sources_setting(interaction),
        )


def _checked(
    language: str | None, budget: int | None, level: str | None
) -> tuple[str | None, int | None, Level | None]:
    """The settings' options as given, or a ``KinapseError`` saying which is wrong."""
    if language is not None:
        language = normalize_spaces(language)
        if not 1 <= len(language) <= LANGUAGE_MAX:
            raise KinapseError(BAD_LANGUAGE)
        language = clean_topic(language)
    if budget is not None and (
        not isinstance(budget, int) or isinstance(budget, bool) or not 0 <= budget <= BUDGET_MAX
    ):
        raise KinapseError(BAD_BUDGET)
    if level is not None and level not in LEVELS:
        raise KinapseError(BAD_LEVEL)
    return language, budget, LEVELS[level] if level is not None else None


def _checked_sources(sources: str | None) -> bool | None:
    """The sources option as given (web: True), or a ``KinapseError``."""
    if sources is not None and sources not in SOURCES:
        raise KinapseError(BAD_SOURCES)
    return SOURCES[sources] if sources is not None else None


def _checked_sites(sites: str | None) -> list[str] | None:
    """A list of sites as given, parsed, or a ``KinapseError`` saying what is wrong."""
    if sites is None:
        return None
    if not isinstance(sites, str) or len(sites) > SITES_MAX:
        raise KinapseError(BAD_SITES)
    return parse_domains(sites)


async def _sources_setting(interaction: Interaction) -> str:
    """The server's sources setting, in a line."""
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    if not explorer.settings.web_search:
        return "Sources: **off** for every server (the bot's KINAPSE_WEB_SEARCH setting)"
    if not await explorer.preferences.web_search(scope):
        return (
            "Sources: **off**: new maps, sub-concepts and answers come from Claude's training "
            "data, and their cards say they are not checked against sources"
        )
    current = await explorer.preferences.current(scope)
    line = (
        "Sources: **web**: new maps, sub-concepts and answers are checked with web searches "
        f"(each counts as {SEARCH_TOKENS:,} tokens of the budget)"
    )
    if current.prefer_domains:
        line += f" · preferred sites: {cards.literal(', '.join(current.prefer_domains))}"
    if current.block_domains:
        line += f" · blocked sites: {cards.literal(', '.join(current.block_domains))}"
    return line


async def usage(interaction: Interaction) -> None:
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        report = await explorer.budget.report(scope_of(interaction), TOP_USERS_SHOWN)
        today, month = report.today, report.month
        lines = [
            f"Today: **{today.tokens:,}** tokens in {today.calls} calls{_searches(today.searches)} "
            f"(budget {report.budget:,}).",
            f"This month: **{month.tokens:,}** tokens in {month.calls} calls"
            f"{_searches(month.searches)}.",
        ]
        if explorer.generator is None:
            lines.append(f"Generation is off: {explorer.generation_off}.")
        if report.top:
            # Mentions render as names and, with allowed mentions off, ping nobody.
            lines.append(
                "Top users this month: " + ", ".join(f"<@{u}> ({t:,})" for u, t in report.top)
            )
        await send_text(interaction, "\n".join(lines))


def _searches(count: int) -> str:
    """The web searches within a usage total, at their price in tokens."""
    if not count:
        return ""
    each = f"{SEARCH_TOKENS:,}"
    return f", {count} web search{'es' if count > 1 else ''} among them (counted as {each} each)"
