"""The /kinapse commands of a server's managers: forget a map, the server's settings,
and the usage of Claude."""

from __future__ import annotations

import logging

from bot.errors import KinapseError, NotFound
from bot.explore.scopes import parse_domains
from bot.i18n import N_, _, ngettext, number
from bot.i18n import language as speaking
from bot.languages import canonical, name_of
from bot.models import SEARCH_TOKENS, Level, clean_topic, normalize_spaces
from bot.ui import cards
from bot.ui.context import Interaction, scope_of
from bot.ui.in_time import answered_in_time, in_time
from bot.ui.respond import send_text

log = logging.getLogger(__name__)

TOP_USERS_SHOWN = 5
LEVEL_NAMES = {Level.INTRO: N_("intro"), Level.STANDARD: N_("standard"), Level.EXPERT: N_("expert")}
LANGUAGE_MAX = 35  # a BCP 47 tag or a language name
BUDGET_MAX = 100_000_000
LEVELS = {level.value: level for level in Level}
BAD_LANGUAGE = N_(
    "A language is 1 to {count} characters, for example English or de.", count=LANGUAGE_MAX
)
BAD_BUDGET = N_("The daily budget is a number of tokens from 0 to {count}.", count=BUDGET_MAX)
BAD_LEVEL = N_("Choose a level from the list: {levels}.", levels=", ".join(LEVELS))
SITES_MAX = 300  # a list of sites, comma-separated
SOURCES = {"web": True, "off": False}
BAD_SOURCES = N_("Sources are web or off.")
BAD_SITES = N_(
    "A list of sites is at most {count} characters, for example iea.org, eia.gov.",
    count=SITES_MAX,
)


async def forget(interaction: Interaction, topic: str) -> None:
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        scope = scope_of(interaction)
        concept_map = await explorer.topics.find_stored(scope, topic)
        if concept_map is None:
            raise NotFound(
                N_(
                    "This server has no map called {topic}.",
                    topic=cards.literal(clean_topic(topic)),
                )
            )
        await in_time(interaction, explorer.upkeep.forget(scope, concept_map.key), ephemeral=True)
        log.info(
            "Map %r forgotten in scope %s by %s", concept_map.topic, scope, interaction.user.id
        )
        forgot = _("Forgot the map of {topic}.", topic=cards.literal(concept_map.topic))
        await send_text(interaction, forgot)


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
            raise KinapseError(N_("Choose the forum channel to post maps in (the forum option)."))
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
        # The channel id as text: a number would be written with the language's separators.
        where = _("maps posted in <#{channel}>", channel=str(chosen)) if chosen is not None else ""
        posts = f" · {where}" if where else ""
        line = _(
            "Language: **{language}** · level: **{level}** · "
            "daily generation budget: **{budget}** tokens",
            language=cards.literal(name_of(current_language, speaking())),
            level=_(LEVEL_NAMES[current_level]),
            budget=budget,
        )
        await send_text(interaction, f"{line}{posts}\n" + await _sources_setting(interaction))


def _checked(
    language: str | None, budget: int | None, level: str | None
) -> tuple[str | None, int | None, Level | None]:
    """The settings' options as given, or a ``KinapseError`` saying which is wrong."""
    if language is not None:
        language = normalize_spaces(language)
        if not 1 <= len(language) <= LANGUAGE_MAX:
            raise KinapseError(BAD_LANGUAGE)
        language = canonical(clean_topic(language))
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
        return _("Sources: **off** for every server (the bot's KINAPSE_WEB_SEARCH setting)")
    if not await explorer.preferences.web_search(scope):
        return _(
            "Sources: **off**: new maps, sub-concepts and answers come from Claude's training "
            "data, and their cards say they are not checked against sources"
        )
    current = await explorer.preferences.current(scope)
    line = _(
        "Sources: **web**: new maps, sub-concepts and answers are checked with web searches "
        "(each counts as {count} tokens of the budget)",
        count=SEARCH_TOKENS,
    )
    if current.prefer_domains:
        sites = cards.literal(", ".join(current.prefer_domains))
        line += " · " + _("preferred sites: {sites}", sites=sites)
    if current.block_domains:
        sites = cards.literal(", ".join(current.block_domains))
        line += " · " + _("blocked sites: {sites}", sites=sites)
    return line


async def usage(interaction: Interaction) -> None:
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        report = await explorer.budget.report(scope_of(interaction), TOP_USERS_SHOWN)
        today, month = report.today, report.month
        lines = [
            _(
                "Today: **{tokens}** tokens in {calls} calls{searches} (budget {budget}).",
                tokens=today.tokens,
                calls=today.calls,
                searches=_searches(today.searches),
                budget=report.budget,
            ),
            _(
                "This month: **{tokens}** tokens in {calls} calls{searches}.",
                tokens=month.tokens,
                calls=month.calls,
                searches=_searches(month.searches),
            ),
        ]
        if explorer.generator is None:
            lines.append(_("Generation is off: {why}.", why=explorer.generation_off))
        if report.top:
            # Mentions render as names and, with allowed mentions off, ping nobody.
            users = ", ".join(f"<@{u}> ({number(t)})" for u, t in report.top)
            lines.append(_("Top users this month: {users}", users=users))
        await send_text(interaction, "\n".join(lines))


def _searches(count: int) -> str:
    """The web searches within a usage total, at their price in tokens."""
    if not count:
        return ""
    return ngettext(
        ", {count} web search among them (counted as {each} each)",
        ", {count} web searches among them (counted as {each} each)",
        count,
        each=SEARCH_TOKENS,
    )
