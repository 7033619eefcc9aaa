"""/export: a map, with everything the scope explored of it, as a file."""

from __future__ import annotations

import io

import discord

from bot.errors import KinapseError, NotFound
from bot.i18n import N_, _
from bot.models import clean_topic
from bot.render import export as exports
from bot.render.export import ExportFormat
from bot.ui import cards
from bot.ui.context import Interaction, scope_of
from bot.ui.in_time import answered_in_time
from bot.ui.limits import ATTACHMENT_MAX
from bot.ui.respond import answering


async def export(interaction: Interaction, topic: str, fmt: ExportFormat) -> None:
    """The export privately, as an attachment."""
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        tree = await explorer.library.map_tree(scope_of(interaction), clean_topic(topic))
        if tree is None:
            raise NotFound(
                N_(
                    "There is no map called {topic} yet; /explore it first.",
                    topic=cards.literal(clean_topic(topic)),
                )
            )
        data = exports.export(tree, fmt).encode()
        if len(data) > ATTACHMENT_MAX:
            raise KinapseError(N_("This map is too large to send as a file; try another format."))
        text = f"**{cards.literal(tree.topic)}** · {_(fmt.label)}"
        file = discord.File(io.BytesIO(data), filename=exports.filename(tree, fmt))
        async with answering(interaction):
            if not interaction.response.is_done():
                await interaction.response.send_message(text, file=file, ephemeral=True)
                return
        await interaction.followup.send(text, file=file, ephemeral=True)
