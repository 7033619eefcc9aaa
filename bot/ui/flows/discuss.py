"""Discuss: a public thread on a concept's card, named after the concept and seeded with its
summary, a link back and Ask (which answers in the thread); pressed again, it reopens the
same thread. What the bot may not do there ends in a clear private message."""

from __future__ import annotations

import logging

import discord

from bot.errors import KinapseError
from bot.explore.discussions import ThreadKind
from bot.text import shorten
from bot.ui.cards import literal
from bot.ui.cards.learning import discussion_card
from bot.ui.context import Interaction, in_thread, scope_of, server_installed
from bot.ui.ids import Action
from bot.ui.items import route
from bot.ui.layout import message_kwargs
from bot.ui.limits import THREAD_NAME_MAX
from bot.ui.respond import send_text

log = logging.getLogger(__name__)

NOT_HERE = "Threads need a server channel where Kinapse is installed."
IN_A_THREAD = "This card is in a thread already: discuss it right here."
CANNOT_THREAD = (
    "I can't open a thread in this channel: a server manager can give Kinapse **Create Public "
    "Threads** and **Send Messages in Threads** here."
)
OPENED = "Discussion of **{title}**: {thread}"
REOPENED = "Reopened the discussion of **{title}**: {thread}"
THREAD_EXISTS = 160004  # Discord's error code: this message already has a thread


@route(Action.DISCUSS)
async def discuss(interaction: Interaction, concept_id: int) -> None:
    channel = interaction.channel
    if not server_installed(interaction):
        raise KinapseError(NOT_HERE)
    if in_thread(interaction):
        raise KinapseError(IN_A_THREAD)
    permissions = interaction.app_permissions
    if not (
        permissions.view_channel
        and permissions.create_public_threads
        and permissions.send_messages_in_threads
    ):
        raise KinapseError(CANNOT_THREAD)
    if not isinstance(channel, discord.TextChannel):
        channel = interaction.client.get_channel(interaction.channel_id or 0)
    if not isinstance(channel, discord.TextChannel):
        raise KinapseError(CANNOT_THREAD)
    explorer = interaction.client.explorer
    view = await explorer.concepts.concept_view(concept_id, scope_of(interaction))
    title = view.concept.title
    try:
        thread, again = await _thread(interaction, channel, concept_id, title)
        if not again:
            message = interaction.message
            link = message.jump_url if message is not None and _public(message) else None
            card = discussion_card(
                view.map.topic, view.map.key, concept_id, title, view.concept.summary, link
            )
            await thread.send(**message_kwargs(card))
            await explorer.discussions.opened(
                scope_of(interaction), ThreadKind.CONCEPT, concept_id, channel.id, thread.id
            )
    except discord.Forbidden as exc:
        log.info("No thread in channel %s: %s", channel.id, exc)
        raise KinapseError(CANNOT_THREAD) from None
    said = REOPENED if again else OPENED
    await send_text(interaction, said.format(title=literal(title), thread=thread.mention))


async def _thread(
    interaction: Interaction, channel: discord.TextChannel, concept_id: int, title: str
) -> tuple[discord.Thread, bool]:
    """The concept's thread in ``channel``: the one opened before (unarchived if need be),
    else a new one on the pressed card (a private card has no message to hang it on, nor
    has a card that carries a thread already: then in the channel)."""
    explorer = interaction.client.explorer
    known = await explorer.discussions.thread(ThreadKind.CONCEPT, concept_id, channel.id)
    if known is not None:
        try:
            thread = await interaction.client.fetch_channel(known)
        except discord.NotFound:
            thread = None
        if isinstance(thread, discord.Thread):
            if thread.archived:
                thread = await thread.edit(archived=False)
            return thread, True
    name = shorten(title, THREAD_NAME_MAX)
    message = interaction.message
    if _public(message):
        assert message is not None
        try:
            return await message.create_thread(name=name), False
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
    created = await channel.create_thread(name=name, type=discord.ChannelType.public_thread)
    return created, False


def _public(message: discord.Message | None) -> bool:
    return message is not None and not message.flags.ephemeral
