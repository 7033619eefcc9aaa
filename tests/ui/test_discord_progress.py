"""Progress, together: what each member explored (the map card counts its explorers),
/progress privately, and /kinapse leaderboard publicly, by display name, pinging nobody."""

from __future__ import annotations

import pytest

from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    custom_ids,
    small_lines,
)


@pytest.fixture(autouse=True)
def virtual_clock(kinapse: Kinapse, world: World, simcord_bot) -> None:
    assert kinapse.explorer is not None
    kinapse.explorer.clock = lambda: world.env.now().timestamp()


async def explored(world: World, kinapse: Kinapse) -> None:
    """Alice opens two concepts of AI Agents on her card; Bob one of them, on a private copy
    of her card."""
    bundled = kinapse.bundled.find("ai agents")
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    await click_open(world.bob, card, bundled.concepts[0].title)
    first = (await click_open(world.alice, card, bundled.concepts[0].title)).response
    await click_open(world.alice, first, bundled.concepts[0].children[0].title)


async def test_the_map_card_counts_its_explorers(world: World, kinapse: Kinapse):
    await explored(world, kinapse)
    card = (await world.bob.slash(world.channel, "explore", topic="AI Agents")).response
    assert small_lines(card)[-1].endswith(" concepts explored by 2 members")
    assert "· 2 of " in small_lines(card)[-1]
    stored = await kinapse.storage.find_map(world.guild.id, "ai agents")
    assert stored.opened == 2 and stored.explorers == 2


async def test_progress_is_private_and_the_members_own(world: World, kinapse: Kinapse):
    await explored(world, kinapse)
    mine = await world.alice.slash(world.channel, "progress")
    assert mine.response.ephemeral
    text = card_text(mine.response)
    assert "AI Agents: 2 of" in text
    assert "Quizzes: none answered yet" in text
    assert "streak 0 days" in text
    theirs = card_text((await world.bob.slash(world.channel, "progress")).response)
    assert "AI Agents: 1 of" in theirs


async def test_the_leaderboard_names_members_and_pings_nobody(world: World, kinapse: Kinapse):
    await explored(world, kinapse)
    quiz = (await world.bob.slash(world.channel, "quiz", topic="AI Agents", questions=1)).response
    question_id = int(next(c for c in custom_ids(quiz) if c.startswith("kin:qa:")).split(":")[2])
    right = (await kinapse.storage.get_question(question_id)).correct
    await world.bob.click(quiz, custom_id=f"kin:qa:{question_id}:{right}")

    # Any member may ask for it (the managing /kinapse commands still need Manage Server).
    board = await world.bob.slash(world.channel, "kinapse leaderboard")
    shown = board.response
    assert not shown.ephemeral
    text = card_text(shown)
    assert "Leaderboard · this week" in text
    assert "1. alice — 2 concepts" in text and "2. bob — 1 concept" in text
    assert "1. bob — 1 right" in text
    assert "<@" not in text  # names as text, never mentions (allowed mentions are none too)

    all_time = await world.alice.click(shown, label="All time")
    assert all_time.response.id == shown.id
    assert "Leaderboard · all time" in card_text(all_time.response)

    # Next week, this week's board starts empty; all time keeps everything.
    await world.env.advance_time(8 * 86_400)
    fresh = card_text((await world.alice.slash(world.channel, "kinapse leaderboard")).response)
    assert "Nobody has explored yet." in fresh and "No quiz answers yet." in fresh
    kept = await world.alice.slash(world.channel, "kinapse leaderboard", period="all")
    assert "1. alice — 2 concepts" in card_text(kept.response)

    refused = await world.bob.slash(world.channel, "kinapse usage")
    assert refused.response.ephemeral and "Manage Server" in refused.response.content
    assert len(world.env.errors) == 1
