"""Which meaning? An ambiguous topic through the choice to a map, and again with no model call."""

from __future__ import annotations

import re

import pytest

from bot.errors import NotFound
from bot.models import Meaning
from tests.support.fakes import FakeGenerator
from tests.support.harness import Kinapse, World, card_text, heading, sections

MERCURY = [
    Meaning(title="Mercury (planet)", line="The planet closest to the Sun."),
    Meaning(title="Element", line="The metal that is liquid at room temperature."),
]


def choice_id(card, title: str) -> str:
    """The custom_id of the button beside the meaning ``title``."""
    for line, button in sections(card):
        if line == title:
            return button["custom_id"]
    raise AssertionError(f"no meaning {title!r} in {sections(card)}")


async def test_an_ambiguous_topic_is_chosen_then_asked_again_without_a_model_call(
    world: World, kinapse: Kinapse
):
    fake = kinapse.generator
    assert isinstance(fake, FakeGenerator)
    fake.meanings["mercury"] = MERCURY

    asked = (await world.alice.slash(world.channel, "explore", topic="Mercury")).response
    assert heading(asked) == "Which Mercury?"
    assert "The planet closest to the Sun." in card_text(asked)
    assert [line for line, _ in sections(asked)] == ["Mercury (planet)", "Element"]
    assert all(re.fullmatch(r"kin:meaning:\d+", b["custom_id"]) for _, b in sections(asked))
    assert [b["label"] for _, b in sections(asked)] == ["Map this", "Map this"]
    assert fake.call_count == 1
    assert await kinapse.storage.find_map(world.guild.id, "mercury") is None

    # Anyone may choose, and the buttons outlive a restart.
    await kinapse.restart(world.env)
    chosen = (await world.bob.click(asked, custom_id=choice_id(asked, "Mercury (planet)"))).response
    assert chosen.id == asked.id
    assert heading(chosen) == "Mercury (planet)"
    assert [call.subject for call in fake.calls] == ["Mercury", "Mercury (planet)"]
    assert await kinapse.storage.alias_of(world.guild.id, "mercury") == "mercury (planet)"

    # The same text asks again from what is stored: no model call.
    again = (await world.alice.slash(world.channel, "explore", topic="mercury")).response
    assert heading(again) == "Which Mercury?"
    assert [line for line, _ in sections(again)] == ["Mercury (planet)", "Element"]
    assert fake.call_count == 2

    # A meaning already mapped opens at once; a title that does not name the topic is
    # qualified by it.
    opened = (
        await world.alice.click(again, custom_id=choice_id(again, "Mercury (planet)"))
    ).response
    assert heading(opened) == "Mercury (planet)"
    assert fake.call_count == 2
    element = (await world.bob.slash(world.channel, "explore", topic="Mercury")).response
    mapped = (await world.bob.click(element, custom_id=choice_id(element, "Element"))).response
    assert heading(mapped) == "Mercury (Element)"
    assert [call.subject for call in fake.calls][2:] == ["Mercury (Element)"]
    assert await kinapse.storage.alias_of(world.guild.id, "mercury") == "mercury (element)"


async def test_a_bundled_topic_is_never_ambiguous(world: World, kinapse: Kinapse):
    fake = kinapse.generator
    assert isinstance(fake, FakeGenerator)
    fake.meanings["ai agents"] = MERCURY
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    assert heading(card) == "AI Agents"
    assert fake.call_count == 0


async def test_a_choice_belongs_to_its_server(world: World, kinapse: Kinapse):
    fake = kinapse.generator
    assert isinstance(fake, FakeGenerator)
    fake.meanings["mercury"] = MERCURY
    await world.alice.slash(world.channel, "explore", topic="Mercury")
    mine = (await kinapse.storage.meanings(world.guild.id, "mercury"))[0]
    assert kinapse.explorer is not None
    with pytest.raises(NotFound, match="no longer stored"):
        await kinapse.explorer.topics.choose_meaning(4004, world.bob.id, mine.id)
    assert fake.call_count == 1
