"""New topics and lazy sub-concepts through Discord, with the real SDK and the stand-in."""

from __future__ import annotations

import re

import pytest

from tests import standin as s
from tests.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    heading,
    labels,
    small_lines,
    texts,
)


def callback_types(world: World) -> list[int]:
    return [r.json["type"] for r in world.env.http_requests if r.path.endswith("/callback")]


@pytest.mark.anthropic
async def test_new_topic_is_deferred_then_generated_then_drilled(world: World, standin):
    result = await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    assert callback_types(world) == [5]  # deferred at once
    card = result.response
    assert card.content == "" and not card.embeds  # "Mapping…" gave way to the V2 card
    assert heading(card) == "Volcanoes"
    assert concept_lines(card) == [f"{n} · Key concept {n}" for n in range(1, 6)]
    assert "Mapped by claude-sonnet-4-6" in small_lines(card)[-1]
    assert "Volcanoes" in standin.requests[0].prompt

    opened = (await click_open(world.alice, card, "Key concept 1")).response
    assert opened.id == card.id
    assert heading(opened) == "Key concept 1"
    assert concept_lines(opened) == [f"{n} · Sub-concept {n}" for n in range(1, 4)]
    assert len(standin.requests) == 2
    assert "Key concept 1" in standin.requests[1].prompt


@pytest.mark.anthropic
async def test_a_failed_new_map_says_so_and_stores_nothing(world: World, kinapse: Kinapse, standin):
    standin.always(s.answer("no json here"))
    result = await world.alice.slash(world.channel, "explore", topic="Volcanoes")
    assert result.response.content.startswith("Couldn't map *Volcanoes*:")
    assert not result.response.embeds
    assert await kinapse.storage.find_map(world.guild.id, "volcanoes") is None


@pytest.mark.anthropic
async def test_a_refused_topic_is_answered_politely(world: World, standin):
    standin.script(s.refusal())
    result = await world.alice.slash(world.channel, "explore", topic="Something")
    assert "declined" in result.response.content
    again = await world.bob.slash(world.channel, "explore", topic="something")
    # Not asked again: when it can be, and the maps that can be opened now.
    assert again.ephemeral and "declined" in card_text(again.response)
    assert re.search(r"<t:\d+:R>", card_text(again.response))
    assert labels(again.response)
    assert world.env.errors == []


async def test_cooldown_answer_names_a_relative_time(world: World, kinapse: Kinapse):
    for n in range(kinapse.settings.cooldown_generations):
        await world.alice.slash(world.channel, "explore", topic=f"Topic {n}")
    result = await world.alice.slash(world.channel, "explore", topic="One too many")
    assert result.ephemeral
    assert re.search(r"try again <t:\d+:R>\.$", texts(result.response)[0])
    # What can be opened now: the maps made so far come first, and open.
    assert labels(result.response)[0] == "Topic 0"
    opened = await world.alice.click(result.response, label="Topic 0")
    assert heading(opened.response) == "Topic 0"
    assert world.env.errors == []
