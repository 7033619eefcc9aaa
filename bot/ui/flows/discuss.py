"""Threads. Discuss: a public thread on a concept's card, named after the concept and seeded
with its summary, a link back and Ask (which answers in the thread); pressed again, it
reopens the same thread. And a server's maps forum: /explore posts a map as a forum post
of its own. What the bot may not do there ends in a clear private message."""

from __future__ import annotations

import logging
from functools import partial

import discord

from bot.errors import KinapseError
from bot.explore import MapView
from bot.explore.discussions import ThreadKind
from bot.i18n import N_, _
from bot.text import shorten
from bot.ui.cards import Card, literal
from bot.ui.cards.learning import discussion_card
from bot.ui.context import Interaction, in_thread, scope_of, server_installed
from bot.ui.flows.map_cards import Drawn, picture_later
from bot.ui.ids import Action
from bot.ui.items import route
from bot.ui.layout import message_kwargs
from bot.ui.limits import THREAD_NAME_MAX
from bot.ui.respond import answering, edit_finally, send_text

log = logging.getLogger(__name__)

NOT_HERE = N_("Threads need a server channel where Kinapse is installed.")
IN_A_THREAD = N_("This card is in a thread already: discuss it right here.")
CANNOT_THREAD = N_(
    "I can't open a thread in this channel: a server manager can give Kinapse **Create Public "
    "Threads** and **Send Messages in Threads** here."
)
OPENED = N_("Discussion of **{title}**: {thread}")
REOPENED = N_("Reopened the discussion of **{title}**: {thread}")
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
    await send_text(interaction, _(said, title=literal(title), thread=thread.mention))


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


NO_FORUM = N_(
    "This server's maps forum is gone; a server manager can choose another with /kinapse settings."
)
CANNOT_POST = N_(
    "I can't post in {forum}: a server manager can give Kinapse **Send Messages** and "
    "**Send Messages in Threads** there, or turn forum posts off with /kinapse settings."
)
POSTED = N_("Posted the map of **{topic}** in {forum}: {post}")
IN_FORUM = N_("The map of **{topic}** is in {forum}: {post}")


async def post_in_forum(
    interaction: Interaction, view: MapView, drawn: Drawn, forum_id: int
) -> None:
    """/explore in a server that posts its maps in a forum: the map's own forum post (made
    now, or the one made before), its link told privately."""
    forum = interaction.client.get_channel(forum_id)
    if not isinstance(forum, discord.ForumChannel):
        raise KinapseError(NO_FORUM)
    explorer = interaction.client.explorer
    topic = literal(view.map.topic)
    known = await explorer.discussions.thread(ThreadKind.MAP, view.map.id, forum_id)
    post: discord.Thread | None = None
    created: discord.channel.ThreadWithMessage | None = None
    if known is not None:
        try:
            found = await interaction.client.fetch_channel(known)
        except discord.NotFound:
            found = None
        if isinstance(found, discord.Thread):
            post = await found.edit(archived=False) if found.archived else found
    said = IN_FORUM
    if post is None:
        said = POSTED
        try:
            created = await forum.create_thread(
                name=shorten(view.map.topic, THREAD_NAME_MAX), **message_kwargs(drawn.card)
            )
        except discord.Forbidden:
            raise KinapseError(N_(CANNOT_POST, forum=forum.mention)) from None
        post = created.thread
        scope = scope_of(interaction)
        await explorer.discussions.opened(scope, ThreadKind.MAP, view.map.id, forum_id, post.id)
        explorer.sessions.start(  # recorded at once, written behind
            message_id=created.message.id,
            owner_id=interaction.user.id,
            scope=scope,
            map_id=view.map.id,
            concept_id=None,
        )
    text = _(said, topic=topic, forum=forum.mention, post=post.mention)
    async with answering(interaction):
        first = not interaction.response.is_done()
        if first:
            await interaction.response.send_message(text, ephemeral=True)
    if not first:
        await edit_finally(interaction, content=text)
    if created is not None:  # a picture that was not drawn in time goes in once it is
        starter = created.message
        await picture_later(interaction, drawn, starter.id, partial(_edit_post, starter))


async def _edit_post(message: discord.Message, card: Card) -> None:
    try:
        await message.edit(**message_kwargs(card, edit=True))
    except discord.HTTPException as exc:
        log.info("Could not edit forum post %s: %s", message.id, exc)
