"""Post in channel: a private card (a map or concept opened from /maps, from a suggestion,
or from someone else's card) posted in its channel as the presser's own card, once. The
posted card has a session of its own, starting on what it shows; the private card stays,
its button greyed out as "Posted in channel"."""

from __future__ import annotations

import logging

import discord

from bot.errors import KinapseError
from bot.explore import ConceptView, MapView
from bot.i18n import N_
from bot.ui import cards
from bot.ui.cards import Post
from bot.ui.context import Interaction, scope_of
from bot.ui.deliver import answer_in_place, edit_card
from bot.ui.flows.map_cards import Drawn, map_card, picture_later
from bot.ui.flows.navigation import initial_status
from bot.ui.ids import Action
from bot.ui.items import route
from bot.ui.layout import message_kwargs

log = logging.getLogger(__name__)

POST_FAILED = N_("The card could not be posted in this channel; please try again.")
STILL_MAPPING = N_("Its sub-concepts are still being mapped: post the card once they are in.")
ALREADY_POSTED = N_("This card is already posted in the channel.")


@route(Action.POST_MAP)
async def post_map(interaction: Interaction, map_id: int) -> None:
    view = await interaction.client.explorer.concepts.map_view(map_id, scope_of(interaction))
    await _post(interaction, view)


@route(Action.POST)
async def post_concept(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    view = await explorer.concepts.concept_view(concept_id, scope_of(interaction))
    await _post(interaction, view)


async def _post(interaction: Interaction, view: MapView | ConceptView) -> None:
    """The private card marked posted (the answer to the press), then the card in the
    channel as a followup: the presser's own, with a session of its own."""
    explorer = interaction.client.explorer
    private = interaction.message
    assert private is not None
    concept_id = view.concept.id if isinstance(view, ConceptView) else None
    claim = (private.id, view.map.id, concept_id)
    if not explorer.posts.claim(claim):
        raise KinapseError(ALREADY_POSTED)
    try:
        session = await explorer.sessions.get(private.id)
        can_go_back = bool(session and session.history)
        public, posted = await _cards(interaction, view, can_go_back)
        await answer_in_place(interaction, posted.card)
        try:
            sent = await interaction.followup.send(wait=True, **message_kwargs(public.card))
        except discord.HTTPException as exc:
            log.warning("Could not post card of map %s: %s", view.map.id, exc)
            offered, _ = await _cards(interaction, view, can_go_back, post=Post.OFFERED)
            await edit_card(interaction, private.id, offered.card)
            raise KinapseError(POST_FAILED) from None
    except BaseException:
        explorer.posts.release(claim)
        raise
    explorer.sessions.start(
        message_id=sent.id,
        owner_id=interaction.user.id,
        scope=scope_of(interaction),
        map_id=view.map.id,
        concept_id=concept_id,
    )
    # A map picture not drawn in time goes in on both cards once it is.
    await picture_later(interaction, posted, private.id)
    await picture_later(interaction, public, sent.id)


async def _cards(
    interaction: Interaction,
    view: MapView | ConceptView,
    can_go_back: bool,
    post: Post = Post.DONE,
) -> tuple[Drawn, Drawn]:
    """The card to post, and the private card with its button as ``post``."""
    if isinstance(view, MapView):
        public = await map_card(interaction, view)
        private = await map_card(interaction, view, can_go_back=can_go_back, post=post)
        return public, private
    status = initial_status(interaction, view)
    if status.mapping:
        raise KinapseError(STILL_MAPPING)
    return Drawn(cards.concept_card(view, status)), Drawn(
        cards.concept_card(view, status, post=post)
    )
