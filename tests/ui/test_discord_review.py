"""The review deck through Discord: Remember on a concept card, /review privately (prompt,
Show answer, Again / Hard / Good / Easy, scheduled by FSRS), the deck with Remove, and
the deck exported as a CSV file that reads back as Anki's columns."""

from __future__ import annotations

import csv
import io

import pytest

from bot.explore.reviews import ANKI_HEADERS
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    heading,
    labels,
    sections,
)

DAY = 86_400


@pytest.fixture(autouse=True)
def virtual_clock(kinapse: Kinapse, world: World, simcord_bot) -> None:
    assert kinapse.explorer is not None
    kinapse.explorer.clock = lambda: world.env.now().timestamp()


async def remembered(world: World, kinapse: Kinapse, member, index: int = 0):
    """``member`` opens a concept of AI Agents and presses Remember; the concept."""
    concept = kinapse.bundled.find("ai agents").concepts[index]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(member, message, concept.title)).response
    pressed = await member.click(card, label="Remember")
    assert pressed.response.ephemeral
    assert f"Added {concept.title} to your review deck" in pressed.response.content.replace(
        "**", ""
    )
    return concept


async def test_remember_then_review_shows_the_concept(world: World, kinapse: Kinapse):
    """The black-box check's second half: a Remember then /review shows the concept."""
    concept = await remembered(world, kinapse, world.bob)
    review = await world.bob.slash(world.channel, "review")
    card = review.response
    assert card.ephemeral
    assert heading(card) == concept.title
    assert "1 due · 1 in your deck" in card_text(card)
    assert concept.summary not in card_text(card)  # the prompt side only
    assert labels(card) == ["Show answer", "My deck"]

    turned = (await world.bob.click(card, label="Show answer")).response
    assert turned.id == card.id and concept.summary in card_text(turned)
    assert labels(turned) == ["Again", "Hard", "Good", "Easy"]

    # Someone else's deck stays theirs.
    mine = (await world.alice.slash(world.channel, "review")).response
    assert "Your review deck is empty" in card_text(mine)


async def test_fsrs_due_dates_advance_after_good(world: World, kinapse: Kinapse):
    await remembered(world, kinapse, world.bob)
    [stored] = await kinapse.storage.whole_deck(world.bob.id)
    now = world.env.now().timestamp()
    assert stored.due <= now

    dues = []
    for _ in range(2):
        card = (await world.bob.slash(world.channel, "review")).response
        turned = (await world.bob.click(card, label="Show answer")).response
        graded = (await world.bob.click(turned, label="Good")).response
        [stored] = await kinapse.storage.whole_deck(world.bob.id)
        dues.append(stored.due - world.env.now().timestamp())
        assert "Good · " in card_text(graded) and "next review" in card_text(graded)
        assert "Nothing is due now" in card_text(graded)
        assert await kinapse.explorer.reviews.streak(world.bob.id) == 1  # reviewed today
        await world.env.advance_time(stored.due - world.env.now().timestamp() + 1)
    # Each Good pushes the next review further out: FSRS's learning step (ten minutes),
    # then, the card learnt, days.
    assert 0 < dues[0] <= 600 + 1
    assert dues[1] >= DAY
    assert await kinapse.explorer.reviews.streak(world.bob.id) == 0  # days since, none


async def test_the_deck_lists_removes_and_exports_for_anki(world: World, kinapse: Kinapse):
    first = await remembered(world, kinapse, world.bob, 0)
    second = await remembered(world, kinapse, world.bob, 1)
    deck = (await world.bob.slash(world.channel, "review", show="deck")).response
    assert deck.ephemeral and "Your review deck · 2 cards" in card_text(deck)
    assert first.title in card_text(deck) and second.title in card_text(deck)

    exported = await world.bob.slash(world.channel, "review", show="export")
    [attachment] = exported.response.attachments
    assert attachment.filename == "kinapse-deck.csv"
    text = (await attachment.read()).decode()
    headers = [line for line in text.splitlines() if line.startswith("#")]
    assert headers == list(ANKI_HEADERS)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[0] for row in rows] == [
        f"What is “{first.title}” in AI Agents, and why does it matter?",
        f"What is “{second.title}” in AI Agents, and why does it matter?",
    ]
    assert rows[0][1].startswith(first.summary) and first.detail in rows[0][1]
    assert rows[0][2] == "kinapse AI_Agents"

    removed = await world.bob.click(deck, custom_id=_remove_id(deck, first.title))
    assert "Removed" in card_text(removed.response)
    assert "Your review deck · 1 card" in card_text(removed.response)
    assert [c.title for c in await kinapse.storage.whole_deck(world.bob.id)] == [second.title]


def _remove_id(message, title: str) -> str:
    for line, button in sections(message):
        if line.startswith(title):
            return button["custom_id"]
    raise AssertionError(f"no {title!r} in the deck")


async def test_remember_twice_keeps_one_card(world: World, kinapse: Kinapse):
    concept = await remembered(world, kinapse, world.bob)
    message = (await world.bob.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.bob, message, concept.title)).response
    again = await world.bob.click(card, label="Remember")
    assert "in your review deck already" in again.response.content
    assert len(await kinapse.storage.whole_deck(world.bob.id)) == 1
