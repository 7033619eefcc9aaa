"""The /kinapse commands of a server's managers: forget a map, the server's settings,
and the usage of Claude."""

from __future__ import annotations

import logging

from bot.errors import KinapseError, NotFound
from bot.i18n import N_, _, number
from bot.i18n import language as speaking
from bot.languages import canonical, name_of
from bot.models import Level, clean_topic, normalize_spaces
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
    forum: int | None = None,
    forum_posts: bool | None = None,
) -> None:
    """Change what is given, then show the server's settings. Every option is checked here,
    whatever the client enforced: a request made by hand skips Discord's checks."""
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        scope = scope_of(interaction)
        language, daily_budget, picked = _checked(language, daily_budget, level)
        if forum_posts is False:
            await in_time(interaction, explorer.discussions.set_forum(scope, None), ephemeral=True)
        elif forum is not None:
            await in_time(interaction, explorer.discussions.set_forum(scope, forum), ephemeral=True)
        elif forum_posts:
            raise KinapseError(N_("Choose the forum channel to post maps in (the forum option)."))
        if language is not None or daily_budget is not None or picked is not None:
            changing = explorer.preferences.update(
                scope, language=language, budget=daily_budget, level=picked
            )
            await in_time(interaction, changing, ephemeral=True)
        current_language = await explorer.preferences.language(scope)
        current_level = await explorer.preferences.level(scope)
        budget = await explorer.budget.daily_budget(scope)
        chosen = await explorer.discussions.forum(scope)
        # The channel id as text: a number would be written with the language's separators.
        where = _("maps posted in <#{channel}>", channel=str(chosen)) if chosen is not None else ""
        posts = f" · {where}" if where else ""
        await send_text(
            interaction,
            _(
                "Language: **{language}** · level: **{level}** · "
                "daily generation budget: **{budget}** tokens",
                language=cards.literal(name_of(current_language, speaking())),
                level=_(LEVEL_NAMES[current_level]),
                budget=budget,
            )
            + posts,
        )


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


async def usage(interaction: Interaction) -> None:
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        report = await explorer.budget.report(scope_of(interaction), TOP_USERS_SHOWN)
        today, month = report.today, report.month
        lines = [
            _(
                "Today: **{tokens}** tokens in {calls} calls (budget {budget}).",
                tokens=today.tokens,
                calls=today.calls,
                budget=report.budget,
            ),
            _(
                "This month: **{tokens}** tokens in {calls} calls.",
                tokens=month.tokens,
                calls=month.calls,
            ),
        ]
        if explorer.generator is None:
            lines.append(_("Generation is off: {why}.", why=explorer.generation_off))
        if report.top:
            # Mentions render as names and, with allowed mentions off, ping nobody.
            users = ", ".join(f"<@{u}> ({number(t)})" for u, t in report.top)
            lines.append(_("Top users this month: {users}", users=users))
        await send_text(interaction, "\n".join(lines))
