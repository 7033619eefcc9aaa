"""A topic the server has no map of yet: /explore, the "Mapping…" message that grows into
the card as the model writes it, the meanings of an ambiguous topic, and the Retry of
a topic whose map failed."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

import discord

from bot.errors import ChooseMeaning, LimitReached, NoGenerator
from bot.explore import MapView
from bot.generator import Sketch
from bot.i18n import N_, _
from bot.models import clean_topic
from bot.ui import cards
from bot.ui.cards import Control
from bot.ui.context import Interaction, scope_of, server_installed
from bot.ui.flows.discuss import post_in_forum
from bot.ui.flows.map_cards import map_card, picture_later
from bot.ui.ids import TOPIC_RETRY_TEMPLATE, Action, topic_retry_id
from bot.ui.in_time import in_time
from bot.ui.items import CardButton, route
from bot.ui.layout import line, message_kwargs
from bot.ui.limits import CUSTOM_ID_MAX
from bot.ui.live import LiveEdits
from bot.ui.replies import describe, explain, managers_note, reply_error
from bot.ui.respond import acknowledge, edit_finally, edit_once
from bot.ui.speech import speak_to

log = logging.getLogger(__name__)

RETRY_LABEL = N_("Retry")
MAPPING = N_("Mapping *{topic}*…")
SEARCHING = N_("Mapping *{topic}*… searching the web for sources")
QUEUED = N_("Queued: other maps are being generated right now; *{topic}* is next in line…")
SUGGESTIONS_SHOWN = 5  # one row of buttons


async def retry_button(
    interaction: Interaction, scope: int, topic: str, meaning: int | None
) -> discord.ui.Item[Any] | None:
    """The Retry of a new topic whose map failed: what it needs is stored, and the button
    carries the stored retry's id, so it works after a restart, for a topic of any length.

    When storage cannot take even that (a full disk), the button makes do without it: a
    chosen meaning's own button (ids only), or a topic short enough to ride in the
    custom_id as before retries were stored; a longer one gets no button (None).
    """
    explorer = interaction.client.explorer
    try:
        stored = await explorer.topics.remember_retry(scope, topic, meaning_id=meaning)
        action, target = Action.RETRY_TOPIC, stored.id
    except Exception:
        log.warning("Could not store the retry of a failed map in %s", scope, exc_info=True)
        if meaning is None:
            fits = len(topic_retry_id(topic)) <= CUSTOM_ID_MAX
            return TopicRetry(topic) if fits else None
        action, target = Action.MEANING, meaning
    return CardButton(Control(action, target, _(RETRY_LABEL), discord.ButtonStyle.primary))


async def map_new_topic(
    interaction: Interaction, topic: str, *, meaning: int | None = None
) -> None:
    """Generate the map of a new topic on a "Mapping…" message that ends as the card, or as
    the error with a Retry button. Generation never depends on Discord: when the
    acknowledgement or an edit fails, the map is still generated and stored, so the next
    /explore of the topic is instant. With ``meaning`` (a stored meaning's id), ``topic`` is
    that meaning's qualified topic, and the typed one becomes its alias. A topic with
    several meanings ends as the card that asks which one is meant."""
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    shown = cards.literal(topic)
    # A message that is already a V2 card (a Retry of a streamed map) can only stay one.
    v2 = interaction.message is not None and interaction.message.flags.components_v2
    # The model starts at once, while Discord acknowledges (a slash command gets a new
    # "thinking" message; a Retry click edits its own) and then shows "Mapping…": every
    # state until the final one goes through the throttle, in order, after that.
    acknowledged = asyncio.create_task(
        acknowledge(interaction, thinking=interaction.message is None)
    )
    live = LiveEdits(partial(edit_once, interaction), after=acknowledged)
    live.offer(**line(_(MAPPING, topic=shown), v2=v2))
    grown = False  # a sketch was offered: the message may be a V2 card from then on

    def grow(sketch: Sketch) -> None:
        # The card grows concept by concept; a sketch with nothing new to show is skipped.
        nonlocal grown
        if sketch.overview or sketch.concepts:
            grown = True
            live.offer(**message_kwargs(cards.sketch_card(topic, sketch), edit=True))
        elif sketch.searching and not grown:
            # No text of the answer yet: the API is running a web search for its sources.
            live.offer(**line(_(SEARCHING, topic=shown), v2=v2))

    async def say_queued() -> None:
        live.offer(**line(_(QUEUED, topic=shown), v2=v2 or grown))

    try:
        if meaning is None:
            concept_map = await explorer.topics.generate_map(
                scope, interaction.user.id, topic, on_queued=say_queued, on_progress=grow
            )
        else:
            concept_map = await explorer.topics.choose_meaning(
                scope, interaction.user.id, meaning, on_queued=say_queued, on_progress=grow
            )
        drawn = await map_card(interaction, await explorer.concepts.map_view(concept_map.id))
    except ChooseMeaning as choice:
        await live.settle()
        card = cards.meanings_card(choice.topic, choice.choices)
        await edit_finally(interaction, **message_kwargs(card, edit=True))
        return
    except Exception as exc:
        await live.settle()
        text = _("Couldn't map *{topic}*: {why}", topic=shown, why=explain(interaction, exc))
        button = await retry_button(interaction, scope, topic, meaning)
        if button is None:
            text += " " + _("Run /explore again to retry.")
        await edit_finally(interaction, **line(text, retry=button, v2=v2 or grown))
        return
    await live.settle()
    message = await edit_finally(interaction, **message_kwargs(drawn.card, edit=True))
    if message is not None:
        explorer.sessions.start(
            message_id=message.id,
            owner_id=interaction.user.id,
            scope=scope,
            map_id=concept_map.id,
            concept_id=None,
        )
        await picture_later(interaction, drawn, message.id)


@route(Action.RETRY_TOPIC)
async def retry_topic(interaction: Interaction, retry_id: int) -> None:
    """Retry a new topic whose map failed, from the request stored for its button: a
    chosen meaning as if chosen again (so its alias is recorded), else the topic."""
    retry = await interaction.client.explorer.topics.retry(scope_of(interaction), retry_id)
    if retry.meaning_id is not None:
        await choose_meaning(interaction, retry.meaning_id)
    else:
        await retry_typed_topic(interaction, retry.topic)


async def retry_typed_topic(interaction: Interaction, topic: str) -> None:
    # What stands in the way is answered privately; the error and its Retry stay.
    explorer = interaction.client.explorer
    await explorer.topics.check_can_generate(scope_of(interaction), interaction.user.id, topic)
    await map_new_topic(interaction, topic)


@route(Action.MEANING)
async def choose_meaning(interaction: Interaction, meaning_id: int) -> None:
    """A meaning of an ambiguous topic, chosen by anyone: its map in place of the question,
    opened at once when it exists, else generated like any new topic."""
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    meaning = await explorer.topics.meaning(scope, meaning_id)
    if await explorer.topics.lookup(scope, meaning.qualified, interaction.user.id) is None:
        # What stands in the way is answered privately; the question stays for others.
        await explorer.topics.check_can_generate(scope, interaction.user.id, meaning.qualified)
    await map_new_topic(interaction, meaning.qualified, meaning=meaning_id)


class TopicRetry(discord.ui.DynamicItem[discord.ui.Button], template=TOPIC_RETRY_TEMPLATE):
    """The Retry of a new topic as it was before retries were stored: the custom_id carries
    the topic itself. Such buttons stay on Discord for good, so they keep working; new ones
    carry a stored retry's id (``Action.RETRY_TOPIC``), but for the rare failure that
    storage cannot record either (see ``retry_button``)."""

    def __init__(self, topic: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=_(RETRY_LABEL),
                style=discord.ButtonStyle.primary,
                custom_id=topic_retry_id(topic),
            )
        )
        self.topic = topic

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> TopicRetry:
        return cls(match["topic"])

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        speak_to(interaction)
        try:
            await retry_typed_topic(interaction, self.topic)
        except Exception as exc:
            await reply_error(interaction, exc)


async def explore(interaction: Interaction, topic: str) -> None:
    """/explore: a known topic's card as the first response; a new topic mapped on a
    "Mapping…" message; what stands in the way answered privately, before anyone waits."""
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    topic = clean_topic(topic)
    try:
        # A bundled map's first open in this server is a write: if the database makes
        # it wait, the interaction is deferred in time and the card edited in.
        known = await in_time(interaction, _known(interaction, scope, topic))
        if known is None:
            await explorer.topics.check_can_generate(scope, interaction.user.id, topic)
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
            await _suggest(interaction, topic, exc)
        else:
            raise  # answered privately by the tree's error handler
        return
    if known is None:
        await map_new_topic(interaction, topic)
        return
    # Known topic: the card is the first response, no waiting.
    drawn = await map_card(interaction, known)
    forum = await explorer.discussions.forum(scope) if server_installed(interaction) else None
    if forum is not None:  # the server posts its maps in a forum: there, as a post of its own
        await post_in_forum(interaction, known, drawn, forum)
        return
    if interaction.response.is_done():
        message = await edit_finally(interaction, **message_kwargs(drawn.card, edit=True))
        message_id = message.id if message else None
    else:
        response = await interaction.response.send_message(**message_kwargs(drawn.card))
        message_id = response.message_id
    if message_id is not None:
        explorer.sessions.start(
            message_id=message_id,
            owner_id=interaction.user.id,
            scope=scope,
            map_id=known.map.id,
            concept_id=None,
        )
        await picture_later(interaction, drawn, message_id)


async def _known(interaction: Interaction, scope: int, topic: str) -> MapView | None:
    explorer = interaction.client.explorer
    concept_map = await explorer.topics.lookup(scope, topic, interaction.user.id)
    return None if concept_map is None else await explorer.concepts.view_of_map(concept_map)


async def _suggest(
    interaction: Interaction, topic: str, refused: NoGenerator | LimitReached
) -> None:
    """Why ``topic`` cannot be mapped now, privately, with the closest maps to open."""
    # The buttons stand in for NoGenerator's list of available topics.
    if isinstance(refused, NoGenerator):
        why = _(refused.message) + managers_note(interaction, refused)
    else:
        why = describe(refused)
    library = interaction.client.explorer.library
    refs = await library.nearest(scope_of(interaction), topic, SUGGESTIONS_SHOWN)
    said = _("No map of **{topic}** yet. {why}", topic=cards.literal(topic), why=why)
    card = cards.suggestions_card(said, refs)
    await interaction.response.send_message(ephemeral=True, **message_kwargs(card))
