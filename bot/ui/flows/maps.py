"""/maps: the scope's maps a page at a time, each opened privately by its button (a
curated map the scope has not opened is copied into it first)."""

from __future__ import annotations

from bot.ui import cards
from bot.ui.context import Interaction, maps_title, scope_of
from bot.ui.deliver import answer_in_place, answer_privately
from bot.ui.flows.navigation import after_answer, show
from bot.ui.ids import Action
from bot.ui.in_time import answered_in_time, in_time
from bot.ui.items import route


async def list_maps(interaction: Interaction) -> None:
    """/maps: the first page, privately."""
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        first = await interaction.client.explorer.library.maps_page(scope_of(interaction), 0)
        card = cards.maps_card(first, title=maps_title(interaction))
        await answer_privately(interaction, card)


@route(Action.PAGE)
async def maps_page(interaction: Interaction, page: int) -> None:
    shown = await interaction.client.explorer.library.maps_page(scope_of(interaction), page)
    card = cards.maps_card(shown, title=maps_title(interaction))
    await answer_in_place(interaction, card)


@route(Action.MAP)
async def open_map(interaction: Interaction, map_id: int) -> None:
    """A /maps entry or a suggestion: the map's card in a private message of its own."""
    view = await interaction.client.explorer.concepts.map_view(map_id, scope_of(interaction))
    await after_answer(interaction, await show(interaction, None, None, view))


@route(Action.CURATED)
async def open_curated(interaction: Interaction, number: int) -> None:
    """The same for a bundled map the scope has not opened: copied into the scope first."""
    explorer = interaction.client.explorer
    # The first open in a server is a write: answered in time whatever the database does.
    opening = explorer.library.open_bundled(scope_of(interaction), number, interaction.user.id)
    concept_map = await in_time(interaction, opening, ephemeral=True)
    view = await explorer.concepts.map_view(concept_map.id)
    await after_answer(interaction, await show(interaction, None, None, view))
