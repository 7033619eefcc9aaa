"""The app commands: thin handlers over the explore core."""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.errors import ChooseMeaning, KinapseError, LimitReached, NoGenerator, NotFound
from bot.explorer import MapView
from bot.models import TOPIC_MAX, Level, clean_topic
from bot.render import export as exports
from bot.render.export import ExportFormat
from bot.replies import answering, describe, explain, send_private
from bot.views import (
    answer_privately,
    answered_in_time,
    edit_finally,
    in_time,
    map_card,
    map_new_topic,
    maps_title,
    message_kwargs,
    quietly,
    scope_of,
)

if TYPE_CHECKING:
    from bot.client import KinapseBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["KinapseBot"]
LANGUAGE_MAX = 35  # a BCP 47 tag or a language name
BUDGET_MAX = 100_000_000
TOP_USERS_SHOWN = 5
SUGGESTIONS_SHOWN = 5  # one row of buttons
# Discord's upload limit for a bot's message without a boosted server.
ATTACHMENT_MAX = 10 * 1024 * 1024


class ExploreCog(commands.Cog):
    """/explore, /maps and /export work wherever a member can reach Kinapse: servers that
    installed it, and (installed to a member's account) DMs, group DMs and any server."""

    def __init__(self, bot: KinapseBot) -> None:
        self.bot = bot
        self.explorer = bot.explorer

    @app_commands.command(name="explore")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(topic="What to map, for example Interest Rates or AI Agents")
    async def explore(
        self, interaction: Interaction, topic: app_commands.Range[str, 1, TOPIC_MAX]
    ) -> None:
        """Explore a topic as a concept map you walk through with buttons."""
        scope = scope_of(interaction)
        topic = clean_topic(topic)
        try:
            # A bundled map's first open in this server is a write: if the database makes
            # it wait, the interaction is deferred in time and the card edited in.
            known = await in_time(interaction, self._known(scope, topic))
            if known is None:
                # What stands in the way is answered privately, before anyone waits.
                await self.explorer.check_can_generate(scope, interaction.user.id, topic)
        except ChooseMeaning as choice:
            # Its meanings are stored: the member is asked again, with no model call.
            card = cards.meanings_card(choice.topic, choice.choices)
            if interaction.response.is_done():
                await edit_finally(interaction, **message_kwargs(card, edit=True))
            else:
                await interaction.response.send_message(**message_kwargs(card))
            return
        except Exception as exc:
            if interaction.response.is_done():  # deferred: the answer edits the message in
                await edit_finally(interaction, content=explain(interaction, exc))
            elif isinstance(exc, NoGenerator | LimitReached):
                # What stands in the way is answered privately, with what can be opened instead.
                await self._suggest(interaction, topic, exc)
            else:
                raise  # answered privately by the tree's error handler
            return
        if known is None:
            await map_new_topic(interaction, topic)
            return
        # Known topic: the card is the first response, no waiting.
        card = await map_card(interaction, known)
        if interaction.response.is_done():
            message = await edit_finally(interaction, **message_kwargs(card, edit=True))
            message_id = message.id if message else None
        else:
            response = await interaction.response.send_message(**message_kwargs(card))
            message_id = response.message_id
        if message_id is not None:
            await quietly("save the session", self._start(interaction, message_id, known))

    async def _known(self, scope: int, topic: str) -> MapView | None:
        concept_map = await self.explorer.lookup(scope, topic)
        return None if concept_map is None else await self.explorer.view_of_map(concept_map)

    async def _suggest(
        self, interaction: Interaction, topic: str, refused: NoGenerator | LimitReached
    ) -> None:
        """Why ``topic`` cannot be mapped now, privately, with the closest maps to open."""
        # The buttons stand in for NoGenerator's list of available topics.
        why = refused.message if isinstance(refused, NoGenerator) else describe(refused)
        refs = await self.explorer.nearest(scope_of(interaction), topic, SUGGESTIONS_SHOWN)
        card = cards.suggestions_card(f"No map of **{cards.literal(topic)}** yet. {why}", refs)
        await interaction.response.send_message(ephemeral=True, **message_kwargs(card))

    async def _start(self, interaction: Interaction, message_id: int, view: MapView) -> None:
        await self.explorer.start_session(
            message_id=message_id,
            owner_id=interaction.user.id,
            scope=scope_of(interaction),
            map_id=view.map.id,
            concept_id=None,
        )

    @explore.autocomplete("topic")
    async def explore_topics(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            topics = await self.explorer.autocomplete(scope_of(interaction), current)
        except Exception:
            log.exception("Autocomplete failed for %r", current)
            return []
        return [app_commands.Choice(name=topic, value=topic) for topic in topics]

    @app_commands.command(name="maps")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def maps(self, interaction: Interaction) -> None:
        """List this server's maps, most explored first."""
        async with answered_in_time(interaction, thinking=True, ephemeral=True):
            first = await self.explorer.maps_page(scope_of(interaction), 0)
            card = cards.maps_card(first, title=maps_title(interaction))
            await answer_privately(interaction, card)

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
        async with answered_in_time(interaction, thinking=True, ephemeral=True):
            tree = await self.explorer.map_tree(scope_of(interaction), clean_topic(topic))
            if tree is None:
                raise NotFound(
                    f"There is no map called {cards.literal(clean_topic(topic))} yet; "
                    "/explore it first."
                )
            fmt = ExportFormat(format_)
            data = exports.export(tree, fmt).encode()
            if len(data) > ATTACHMENT_MAX:
                raise KinapseError("This map is too large to send as a file; try another format.")
            text = f"**{cards.literal(tree.topic)}** · {fmt.label}"
            file = discord.File(io.BytesIO(data), filename=exports.filename(tree, fmt))
            async with answering(interaction):
                if not interaction.response.is_done():
                    await interaction.response.send_message(text, file=file, ephemeral=True)
                    return
            await interaction.followup.send(text, file=file, ephemeral=True)

    export.autocomplete("topic")(explore_topics)

    admin = app_commands.Group(
        name="kinapse",
        description="Manage Kinapse in this server",
        guild_only=True,
        # A server's settings are its own: only where the server installed Kinapse.
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @admin.command(name="forget")
    @app_commands.describe(topic="The map to delete, with every concept opened or generated in it")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def forget(
        self, interaction: Interaction, topic: app_commands.Range[str, 1, TOPIC_MAX]
    ) -> None:
        """Forget one of this server's maps; curated maps come back fresh next time."""
        async with answered_in_time(interaction, thinking=True, ephemeral=True):
            scope = scope_of(interaction)
            concept_map = await self.explorer.find_stored(scope, topic)
            if concept_map is None:
                raise NotFound(
                    f"This server has no map called {cards.literal(clean_topic(topic))}."
                )
            await in_time(interaction, self.explorer.forget(scope, concept_map.key), ephemeral=True)
            log.info(
                "Map %r forgotten in scope %s by %s", concept_map.topic, scope, interaction.user.id
            )
            await send_private(
                interaction, f"Forgot the map of {cards.literal(concept_map.topic)}."
            )

    forget.autocomplete("topic")(explore_topics)

    @admin.command(name="settings")
    @app_commands.describe(
        language="Language new maps are written in, for example English or de",
        daily_budget="Tokens Claude may use per day in this server (0 stops new generations)",
        level="Who new maps and their sub-concepts are written for",
    )
    @app_commands.choices(
        level=[
            app_commands.Choice(name="intro: for beginners", value=Level.INTRO.value),
            app_commands.Choice(name="standard", value=Level.STANDARD.value),
            app_commands.Choice(name="expert: for specialists", value=Level.EXPERT.value),
        ]
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def settings(
        self,
        interaction: Interaction,
        language: app_commands.Range[str, 1, LANGUAGE_MAX] | None = None,
        daily_budget: app_commands.Range[int, 0, BUDGET_MAX] | None = None,
        level: app_commands.Choice[str] | None = None,
    ) -> None:
        """Show or change this server's Kinapse settings."""
        async with answered_in_time(interaction, thinking=True, ephemeral=True):
            scope = scope_of(interaction)
            if language is not None:
                language = clean_topic(language)
            chosen = Level(level.value) if level is not None else None
            if language is not None or daily_budget is not None or chosen is not None:
                changing = self.explorer.update_settings(
                    scope, language=language, budget=daily_budget, level=chosen
                )
                await in_time(interaction, changing, ephemeral=True)
            current_language = await self.explorer.language(scope)
            current_level = await self.explorer.level(scope)
            budget = await self.explorer.daily_budget(scope)
            await send_private(
                interaction,
                f"Language: **{cards.literal(current_language)}** · "
                f"level: **{current_level.value}** · "
                f"daily generation budget: **{budget:,}** tokens",
            )

    @admin.command(name="usage")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def usage(self, interaction: Interaction) -> None:
        """Tokens and calls Claude used for this server today and this month."""
        async with answered_in_time(interaction, thinking=True, ephemeral=True):
            scope = scope_of(interaction)
            storage = self.explorer.storage
            now = datetime.fromtimestamp(time.time(), UTC)
            day = now.replace(hour=0, minute=0, second=0, microsecond=0)
            month = day.replace(day=1)
            today = await storage.usage_since(scope, day.timestamp())
            this_month = await storage.usage_since(scope, month.timestamp())
            top = await storage.top_users(scope, month.timestamp(), TOP_USERS_SHOWN)
            budget = await self.explorer.daily_budget(scope)
            lines = [
                f"Today: **{today.tokens:,}** tokens in {today.calls} calls (budget {budget:,}).",
                f"This month: **{this_month.tokens:,}** tokens in {this_month.calls} calls.",
            ]
            if self.explorer.generator is None:
                lines.append(f"Generation is off: {self.explorer.generation_off}.")
            if top:
                # Mentions render as names and, with allowed mentions off, ping nobody.
                lines.append(
                    "Top users this month: " + ", ".join(f"<@{u}> ({t:,})" for u, t in top)
                )
            await send_private(interaction, "\n".join(lines))
