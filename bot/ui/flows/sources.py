"""Where a card's facts come from: the Sources button (every source of the card, as links,
privately), a refreshed concept's earlier texts, and Refresh, which writes a generated
concept of a volatile topic again with today's facts (the server's managers only)."""

from __future__ import annotations

import logging

from bot.errors import KinapseError
from bot.i18n import N_
from bot.ui import cards
from bot.ui.cards.sources import earlier_card, sources_card
from bot.ui.context import Interaction, scope_of
from bot.ui.deliver import answer_privately
from bot.ui.ids import Action
from bot.ui.items import route
from bot.ui.layout import message_kwargs
from bot.ui.respond import acknowledge

log = logging.getLogger(__name__)

MANAGERS_ONLY = N_("Only members with Manage Server can refresh a concept.")
NO_EARLIER = N_("This concept has not been refreshed: there is no earlier version.")


@route(Action.SOURCES)
async def concept_sources(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    view = await explorer.concepts.sources(
        concept_id=concept_id, map_id=None, scope=scope_of(interaction)
    )
    await answer_privately(interaction, sources_card(view))


@route(Action.MAP_SOURCES)
async def map_sources(interaction: Interaction, map_id: int) -> None:
    explorer = interaction.client.explorer
    view = await explorer.concepts.sources(
        concept_id=None, map_id=map_id, scope=scope_of(interaction)
    )
    await answer_privately(interaction, sources_card(view))


@route(Action.EARLIER)
async def earlier(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    view = await explorer.concepts.sources(
        concept_id=concept_id, map_id=None, scope=scope_of(interaction)
    )
    if not view.earlier:
        raise KinapseError(NO_EARLIER)
    await answer_privately(interaction, earlier_card(view.subject, view.map.key, view.earlier))


def may_refresh(interaction: Interaction) -> bool:
    """A server's managers may; in a member's own scope (DMs, their own install) they may."""
    if scope_of(interaction) == interaction.user.id:
        return True
    return interaction.permissions.manage_guild


@route(Action.REFRESH)
async def refresh(interaction: Interaction, concept_id: int) -> None:
    """Write the concept again: in place for the card's owner, privately for anyone else
    (a refresh takes as long as a generation, so the press is acknowledged first)."""
    if not may_refresh(interaction):
        raise KinapseError(MANAGERS_ONLY)
    explorer = interaction.client.explorer
    session = await explorer.sessions.get(interaction.message.id) if interaction.message else None
    owner = session is not None and session.owner_id == interaction.user.id
    await acknowledge(interaction, thinking=not owner, ephemeral=not owner)
    view = await explorer.concepts.refresh(scope_of(interaction), interaction.user.id, concept_id)
    log.info("Concept %s refreshed by %s", concept_id, interaction.user.id)
    card = cards.concept_card(view)
    if owner and session is not None and session.concept_id == concept_id:
        await interaction.edit_original_response(**message_kwargs(card, edit=True))
        return
    await answer_privately(interaction, card)
