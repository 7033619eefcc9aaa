"""/explore autocomplete, /maps, the no-key path and error replies, through SimCord."""

from __future__ import annotations

import logging

import pytest

from bot.errors import NoGenerator
from tests.harness import Kinapse, World, card_text, click_open, concept_lines, heading, texts


def handled(world: World) -> list[type]:
    """The errors that reached the tree's error handler (acknowledging them for SimCord)."""
    return [type(e.__cause__ or e) for e in world.env.errors]


async def test_autocomplete_offers_matching_bundled_topics(world: World, kinapse: Kinapse):
    choices = await world.alice.autocomplete(world.channel, "explore", "topic", "ai")
    names = [c["name"] for c in choices]
    assert names[0] == "AI Agents"
    assert all(len(n) <= 100 for n in names) and len(names) <= 25
    assert all(c["value"] == c["name"] for c in choices)


async def test_autocomplete_with_empty_input_offers_the_bundled_topics(
    world: World, kinapse: Kinapse
):
    choices = await world.alice.autocomplete(world.channel, "explore", "topic", "")
    topics = sorted(m.topic for m in kinapse.bundled.maps)
    assert sorted(c["name"] for c in choices) == topics[:25]


async def test_autocomplete_finds_an_alias_and_this_servers_generated_maps(
    world: World, kinapse: Kinapse
):
    await world.alice.slash(world.channel, "explore", topic="Quantum Knitting")
    choices = await world.alice.autocomplete(world.channel, "explore", "topic", "quantum")
    assert [c["name"] for c in choices] == ["Quantum Knitting"]
    llm = await world.alice.autocomplete(world.channel, "explore", "topic", "LLM")
    assert [c["name"] for c in llm][:1] == ["Large Language Models"]


async def test_explore_by_alias_and_odd_spelling_opens_the_same_map(world: World, kinapse: Kinapse):
    first = await world.alice.slash(world.channel, "explore", topic="LLMs")
    second = await world.bob.slash(world.channel, "explore", topic="ＬＡＲＧＥ  language models")
    assert heading(first.response) == "Large Language Models"
    assert heading(second.response) == "Large Language Models"
    assert kinapse.generator.call_count == 0


async def test_maps_lists_most_explored_first_and_pages(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("blockchain")
    message = (await world.alice.slash(world.channel, "explore", topic="Blockchain")).response
    await click_open(world.alice, message, bundled.concepts[0].title)

    result = await world.bob.slash(world.channel, "maps")
    listing = result.response
    assert result.ephemeral
    lines = texts(listing)[0].splitlines()[1:]
    assert lines[0].startswith("**1. Blockchain**") and "1 of" in lines[0]
    assert "curated" in lines[0]
    assert len(lines) == min(10, len(kinapse.bundled.maps))
    if len(kinapse.bundled.maps) > 10:
        after = (await world.bob.click(listing, label="Next")).response
        assert texts(after)[0].splitlines()[1].startswith("**11. ")
        before = (await world.bob.click(after, label="Previous")).response
        assert texts(before)[0].splitlines()[1] == lines[0]


@pytest.mark.no_generator
async def test_new_topic_without_api_key_names_the_setting_and_the_maps(
    world: World, kinapse: Kinapse
):
    result = await world.alice.slash(world.channel, "explore", topic="Quantum Knitting")
    assert result.ephemeral
    text = result.response.content
    assert "ANTHROPIC_API_KEY" in text and "AI Agents" in text
    assert handled(world) == [NoGenerator]


@pytest.mark.no_generator
async def test_unexpanded_concept_without_api_key_says_so(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, first.title)).response
    sub = (await click_open(world.alice, card, first.children[0].title)).response
    assert "ANTHROPIC_API_KEY" in card_text(sub)
    assert "Mapping" not in card_text(sub)


async def test_unexpected_error_is_logged_and_answered_with_an_apology(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch, caplog
):
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(kinapse.explorer, "lookup", broken)
    with caplog.at_level(logging.ERROR):
        result = await world.alice.slash(world.channel, "explore", topic="AI Agents")
    assert result.ephemeral
    assert result.response.content.startswith("Sorry, something went wrong")
    reference = result.response.content.split("`")[1]
    record = next(r for r in caplog.records if reference in r.getMessage())
    assert record.exc_info and "database on fire" in str(record.exc_info[1])
    assert "database on fire" not in result.response.content
    assert handled(world) == [RuntimeError]


async def test_unexpected_error_in_a_button_is_answered_too(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch
):
    bundled = kinapse.bundled.find("ai agents")
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(kinapse.explorer, "concept_view", broken)
    result = await click_open(world.alice, message, bundled.concepts[0].title)
    assert result.ephemeral
    assert result.response.content.startswith("Sorry, something went wrong")


async def test_expansions_stay_in_their_server(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]

    async def drill(member, channel):
        message = (await member.slash(channel, "explore", topic="AI Agents")).response
        card = (await click_open(member, message, first.title)).response
        return (await click_open(member, card, first.children[0].title)).response

    ours = await drill(world.alice, world.channel)
    assert len(concept_lines(ours)) == 3
    assert kinapse.generator.call_count == 1

    other = world.env.create_guild(name="Other")
    channel = other.create_text_channel("x")
    carol = other.add_member(world.env.create_user("carol"))
    theirs = await drill(carol, channel)
    assert kinapse.generator.call_count == 2  # guild B generated its own; it saw nothing of A's
    a_map = await kinapse.storage.find_map(world.guild.id, "ai agents")
    b_map = await kinapse.storage.find_map(other.id, "ai agents")
    assert a_map.id != b_map.id and a_map.opened == b_map.opened == 2
    assert len(concept_lines(theirs)) == 3
