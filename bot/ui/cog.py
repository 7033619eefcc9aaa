"""The app commands: thin handlers that hand each command to its flow, and the buttons,
menus and forms of every card, registered with the bot when the cog loads."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.explore.quizzes import (
    QUESTIONS_MAX,
    QUESTIONS_MIN,
    SECONDS_MAX,
    SECONDS_MIN,
)
from bot.i18n import N_, _
from bot.models import TOPIC_MAX, Level
from bot.render.export import ExportFormat
from bot.ui.context import Interaction, scope_of

# Importing the flows registers the handler of every button and menu (bot.ui.items.route).
from bot.ui.flows import admin as managing
from bot.ui.flows import ask, material, new_topic
from bot.ui.flows import discuss as _discuss  # noqa: F401 - registers Discuss
from bot.ui.flows import export as exporting
from bot.ui.flows import maps as listing
from bot.ui.flows import progress as progressing
from bot.ui.flows import quiz as quizzing
from bot.ui.flows import review as reviewing
from bot.ui.items import CardButton, CardSelect, PairButton
from bot.ui.respond import send_text

if TYPE_CHECKING:
    from bot.ui.client import KinapseBot

log = logging.getLogger(__name__)

URL_OPTION_MAX = 500  # longer than any page the fetch tool takes (250), to say so clearly
NOTHING_TO_MAP = N_("Give a topic to explore, or attach a file or a link to map.")


class ExploreCog(commands.Cog):
    """/explore, /maps and /export work wherever a member can reach Kinapse: servers that
    installed it, and (installed to a member's account) DMs, group DMs and any server."""

    def __init__(self, bot: KinapseBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Buttons from before a restart: matched by custom_id pattern, state from storage.
        self.bot.add_dynamic_items(CardButton, CardSelect, PairButton, new_topic.TopicRetry)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(CardButton, CardSelect, PairButton, new_topic.TopicRetry)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: Interaction) -> None:
        # Ask forms are answered from their custom_id, not from discord.py's memory of
        # the forms it sent, so a form outlives a restart (see ask.AskForm).
        if interaction.type is discord.InteractionType.modal_submit:
            await ask.submit_form(interaction)

    @app_commands.command(name="explore")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(
        topic="What to map, for example Interest Rates or AI Agents",
        file="Your own material to map: a PDF, a text or a Markdown file",
        url="A web page to map (fetched by Claude's web fetch tool)",
    )
    async def explore(
        self,
        interaction: Interaction,
        topic: app_commands.Range[str, 1, TOPIC_MAX] | None = None,
        file: discord.Attachment | None = None,
        url: app_commands.Range[str, 1, URL_OPTION_MAX] | None = None,
    ) -> None:
        """Explore a topic, or your own file or page, as a concept map you walk through."""
        if file is not None or url is not None:
            await material.explore_material(interaction, topic, file, url)
        elif topic is None:
            await send_text(interaction, _(NOTHING_TO_MAP))
        else:
            await new_topic.explore(interaction, topic)

    @explore.autocomplete("topic")
    async def explore_topics(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            library = interaction.client.explorer.library
            topics = await library.autocomplete(scope_of(interaction), current)
        except Exception:
            log.exception("Autocomplete failed for %r", current)
            return []
        return [app_commands.Choice(name=topic, value=topic) for topic in topics]

    @app_commands.command(name="maps")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def maps(self, interaction: Interaction) -> None:
        """List this server's maps, most explored first."""
        await listing.list_maps(interaction)

    @app_commands.command(name="export")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.rename(format_="format")
    @app_commands.describe(
        topic="The map to export, with everything explored of it so far",
        format_="The file to get",
    )
    @app_commands.choices(
        format_=[app_commands.Choice(name=f.label, value=f.value) for f in ExportFormat]
    )
    async def export(
        self,
        interaction: Interaction,
        topic: app_commands.Range[str, 1, TOPIC_MAX],
        format_: str,
    ) -> None:
        """Download a map as a file: outline, mindmap, OPML, JSON or an interactive page."""
        await exporting.export(interaction, topic, ExportFormat(format_))

    export.autocomplete("topic")(explore_topics)

    @app_commands.command(name="quiz")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.describe(
        topic="The map to quiz on, for example AI Agents",
        concept="Only this concept and what is under it (its title)",
        questions="How many questions (1 to 10; 5 if left out)",
        seconds="Seconds to answer each question (10 to 600; 30 if left out)",
    )
    async def quiz(
        self,
        interaction: Interaction,
        topic: app_commands.Range[str, 1, TOPIC_MAX],
        concept: app_commands.Range[str, 1, TOPIC_MAX] | None = None,
        questions: app_commands.Range[int, QUESTIONS_MIN, QUESTIONS_MAX] | None = None,
        seconds: app_commands.Range[int, SECONDS_MIN, SECONDS_MAX] | None = None,
    ) -> None:
        """Start a quiz on a map in this channel: everyone may answer, once each."""
        await quizzing.quiz_command(interaction, topic, concept, questions, seconds)

    quiz.autocomplete("topic")(explore_topics)

    @app_commands.command(name="review")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(show="The cards due (the default), your whole deck, or a file for Anki")
    @app_commands.choices(
        show=[
            app_commands.Choice(name="cards due now", value=reviewing.ReviewView.DUE),
            app_commands.Choice(name="my deck", value=reviewing.ReviewView.DECK),
            app_commands.Choice(name="export for Anki (CSV)", value=reviewing.ReviewView.EXPORT),
        ]
    )
    async def review(
        self, interaction: Interaction, show: app_commands.Choice[str] | None = None
    ) -> None:
        """Review the concepts you chose to remember, when they are due (only you see it)."""
        await reviewing.review_command(
            interaction, show.value if show else reviewing.ReviewView.DUE
        )

    @app_commands.command(name="progress")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def progress(self, interaction: Interaction) -> None:
        """What you explored, your quiz score and your review streak (only you see it)."""
        await progressing.progress_command(interaction)

    # A server's own: only where the server installed Kinapse. Its managing commands
    # check Manage Server each; the leaderboard is for every member.
    admin = app_commands.Group(
        name="kinapse",
        description="Kinapse in this server: the leaderboard, and its managers' commands",
        guild_only=True,
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )

    @admin.command(name="leaderboard")
    @app_commands.describe(period="This week's board (the default) or all time")
    @app_commands.choices(
        period=[
            app_commands.Choice(name="this week", value="week"),
            app_commands.Choice(name="all time", value="all"),
        ]
    )
    async def leaderboard(
        self, interaction: Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        """Top explorers and quiz scores of this server, by display name (nobody is pinged)."""
        weekly = period is None or period.value == "week"
        await progressing.leaderboard_command(interaction, weekly=weekly)

    @admin.command(name="forget")
    @app_commands.describe(topic="The map to delete, with every concept opened or generated in it")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def forget(
        self, interaction: Interaction, topic: app_commands.Range[str, 1, TOPIC_MAX]
    ) -> None:
        """Forget one of this server's maps; curated maps come back fresh next time."""
        await managing.forget(interaction, topic)

    forget.autocomplete("topic")(explore_topics)

    @admin.command(name="settings")
    @app_commands.describe(
        language="Language new maps are written in, for example English or de",
        daily_budget="Tokens Claude may use per day in this server (0 stops new generations)",
        level="Who new maps and their sub-concepts are written for",
        sources="web: check new maps and answers with web searches (billed per search); off",
        prefer_sites="Sites to prefer as sources, e.g. iea.org, eia.gov (none to clear)",
        block_sites="Sites never to use as sources, e.g. example.com (none to clear)",
        forum="A forum channel where /explore posts each map as a post of its own",
        forum_posts="False stops posting maps in the forum",
    )
    @app_commands.choices(
        level=[
            app_commands.Choice(name="intro: for beginners", value=Level.INTRO.value),
            app_commands.Choice(name="standard", value=Level.STANDARD.value),
            app_commands.Choice(name="expert: for specialists", value=Level.EXPERT.value),
        ],
        sources=[
            app_commands.Choice(name="web: check with web searches", value="web"),
            app_commands.Choice(name="off: Claude's own knowledge only", value="off"),
        ],
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def settings(
        self,
        interaction: Interaction,
        language: app_commands.Range[str, 1, managing.LANGUAGE_MAX] | None = None,
        daily_budget: app_commands.Range[int, 0, managing.BUDGET_MAX] | None = None,
        level: str | None = None,
        sources: str | None = None,
        prefer_sites: app_commands.Range[str, 1, managing.SITES_MAX] | None = None,
        block_sites: app_commands.Range[str, 1, managing.SITES_MAX] | None = None,
        forum: discord.ForumChannel | None = None,
        forum_posts: bool | None = None,
    ) -> None:
        """Show or change this server's Kinapse settings."""
        # Plain values: the flow checks each one, whatever the client enforced.
        await managing.settings(
            interaction,
            language=language,
            daily_budget=daily_budget,
            level=level,
            sources=sources,
            prefer_sites=prefer_sites,
            block_sites=block_sites,
            forum=forum.id if forum is not None else None,
            forum_posts=forum_posts,
        )

    @admin.command(name="usage")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def usage(self, interaction: Interaction) -> None:
        """Tokens and calls Claude used for this server today and this month."""
        await managing.usage(interaction)
