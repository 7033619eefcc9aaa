"""The member's own review deck: Remember on a concept card, /review (the cards due, one at
a time, privately: prompt, Show answer, then Again / Hard / Good / Easy), the deck a page
at a time with Remove, and the deck as a CSV file Anki imports."""

from __future__ import annotations

import io

import discord

from bot.i18n import N_, _, ngettext
from bot.ui.cards import literal
from bot.ui.cards.learning import GRADES, deck_card, graded_line, review_card
from bot.ui.context import Interaction, scope_of
from bot.ui.deliver import answer_in_place, answer_privately
from bot.ui.ids import Action
from bot.ui.in_time import answered_in_time
from bot.ui.items import pair_route, route
from bot.ui.respond import answering, send_text

ADDED = N_(
    "Added **{title}** to your review deck: /review shows it now, then again whenever it is due."
)
KEPT = N_("**{title}** is in your review deck already: /review shows it when it is due.")
EXPORT_NAME = "kinapse-deck.csv"


class ReviewView:
    """What /review can show: the cards due, the deck, the deck as a file."""

    DUE = "due"
    DECK = "deck"
    EXPORT = "export"


@route(Action.REMEMBER)
async def remember(interaction: Interaction, concept_id: int) -> None:
    reviews = interaction.client.explorer.reviews
    card, added = await reviews.remember(
        interaction.user.id, concept_id, scope_of(interaction), say=_
    )
    title = literal(card.title)
    await send_text(interaction, _(ADDED if added else KEPT, title=title))


async def review_command(interaction: Interaction, show: str) -> None:
    """/review: privately, the first card due (or the deck, or its export)."""
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        reviews = interaction.client.explorer.reviews
        user = interaction.user.id
        if show == ReviewView.EXPORT:
            await _send_export(interaction)
        elif show == ReviewView.DECK:
            await answer_privately(interaction, deck_card(await reviews.deck(user, 0)))
        else:
            await answer_privately(interaction, review_card(await reviews.due(user), shown=False))


@route(Action.REVIEW)
async def review_now(interaction: Interaction, _: int) -> None:
    due = await interaction.client.explorer.reviews.due(interaction.user.id)
    await answer_in_place(interaction, review_card(due, shown=False))


@route(Action.SHOW_ANSWER)
async def show_answer(interaction: Interaction, card_id: int) -> None:
    due = await interaction.client.explorer.reviews.turned(card_id, interaction.user.id)
    await answer_in_place(interaction, review_card(due, shown=True))


@pair_route(Action.GRADE)
async def grade(interaction: Interaction, card_id: int, rating: int) -> None:
    """Schedule the card by the rating, then show the next card due."""
    reviews = interaction.client.explorer.reviews
    graded = await reviews.grade(card_id, interaction.user.id, rating)
    label = dict(GRADES).get(rating)
    named = _(label) if label else ""
    note = f"-# **{named}** · " + graded_line(graded).removeprefix("-# ")
    due = await reviews.due(interaction.user.id)
    await answer_in_place(interaction, review_card(due, shown=False, note=note))


@route(Action.DECK)
async def deck(interaction: Interaction, page: int) -> None:
    shown = await interaction.client.explorer.reviews.deck(interaction.user.id, page)
    await answer_in_place(interaction, deck_card(shown))


@route(Action.UNREMEMBER)
async def unremember(interaction: Interaction, card_id: int) -> None:
    reviews = interaction.client.explorer.reviews
    removed = await reviews.remove(card_id, interaction.user.id)
    shown = await reviews.deck(interaction.user.id, 0)
    note = _("-# Removed **{title}** from your deck.", title=literal(removed.title))
    await answer_in_place(interaction, deck_card(shown, note))


@route(Action.EXPORT_DECK)
async def export_deck(interaction: Interaction, _: int) -> None:
    await _send_export(interaction)


async def _send_export(interaction: Interaction) -> None:
    reviews = interaction.client.explorer.reviews
    data = (await reviews.export_csv(interaction.user.id)).encode()
    count = (await reviews.deck(interaction.user.id, 0)).total
    text = ngettext(
        "Your deck, {count} card, for Anki: *File › Import* this file (it names its columns "
        "and makes a **Kinapse** deck of Basic notes).",
        "Your deck, {count} cards, for Anki: *File › Import* this file (it names its columns "
        "and makes a **Kinapse** deck of Basic notes).",
        count,
    )
    file = discord.File(io.BytesIO(data), filename=EXPORT_NAME)
    async with answering(interaction):
        if not interaction.response.is_done():
            await interaction.response.send_message(text, file=file, ephemeral=True)
            return
    await interaction.followup.send(text, file=file, ephemeral=True)
