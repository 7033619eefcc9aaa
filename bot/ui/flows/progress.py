"""/progress (a member's own, privately) and /kinapse leaderboard (the server's, publicly):
members by display name, never pinged; only members who used the bot are counted."""

from __future__ import annotations

import logging

import discord

from bot.errors import KinapseError
from bot.i18n import N_, _
from bot.ui.cards import Card
from bot.ui.cards.learning import board_card, progress_card
from bot.ui.context import Interaction, scope_of
from bot.ui.deliver import answer_in_place, answer_privately
from bot.ui.ids import Action
from bot.ui.in_time import answered_in_time
from bot.ui.items import route
from bot.ui.layout import message_kwargs
from bot.ui.respond import answering, edit_finally

log = logging.getLogger(__name__)

NAMES_FETCHED_MAX = 20  # names asked of Discord for one board, at most


async def progress_command(interaction: Interaction) -> None:
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        explorer = interaction.client.explorer
        scope = scope_of(interaction)
        if interaction.guild_id is not None and scope == interaction.guild_id:
            await explorer.progress.seen(scope, interaction.user.id, interaction.user.display_name)
        mine = await explorer.progress.of_member(scope, interaction.user.id)
        where = interaction.guild.name if interaction.guild and scope != interaction.user.id else ""
        await answer_privately(interaction, progress_card(mine, where=where or _("your maps")))


async def leaderboard_command(interaction: Interaction, *, weekly: bool) -> None:
    """The board as a public message of the channel."""
    async with answered_in_time(interaction, thinking=True, ephemeral=False):
        card = await _board(interaction, weekly=weekly)
        async with answering(interaction):
            if not interaction.response.is_done():
                await interaction.response.send_message(**message_kwargs(card))
                return
        await edit_finally(interaction, **message_kwargs(card, edit=True))


@route(Action.BOARD)
async def board(interaction: Interaction, weekly: int) -> None:
    """This week or all time, on the board's own message (anyone may switch it)."""
    await answer_in_place(interaction, await _board(interaction, weekly=bool(weekly)))


async def _board(interaction: Interaction, *, weekly: bool) -> Card:
    guild = interaction.guild
    if guild is None:
        raise KinapseError(N_("The leaderboard is a server's."))
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    await explorer.progress.seen(scope, interaction.user.id, interaction.user.display_name)
    shown = await explorer.progress.board(scope, weekly=weekly)
    members = {u for u, _ in shown.explorers} | {u for u, _ in shown.scorers}
    names = await explorer.progress.names(scope, members)
    for user_id in list(members - names.keys())[:NAMES_FETCHED_MAX]:
        name = await _fetch_name(guild, user_id)
        if name is not None:
            names[user_id] = name
            await explorer.progress.seen(scope, user_id, name)
    return board_card(shown, names, server=guild.name)


async def _fetch_name(guild: discord.Guild, user_id: int) -> str | None:
    """A member's display name from Discord (no member-list intent needed for one member);
    None for someone who left."""
    try:
        member = await guild.fetch_member(user_id)
    except discord.HTTPException:
        log.info("No name for member %s of guild %s", user_id, guild.id)
        return None
    return member.display_name
