"""/explore autocomplete, /maps, the no-key path and error replies, through SimCord."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from tests.support.fakes import store_many_maps
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    heading,
    labels,
    sections,
    small_lines,
)


def handled(world: World) -> list[type]:
    """The errors that reached the tree's error handler (acknowledging them for SimCord)."""
    return [type(e.__cause__ or e) for e in world.env.errors]


async def test_autocomplete_offers_matching_bundled_topics(world: World, kinapse: Kinapse):
    choices = await world.alice.autocomplete(world.channel, "explore", "topic", "ai")
    names = [c["name"] for c in choices]
    assert names[0] == "AI Agents"
    assert all(len(n) <= 100 for n in names) and len(names) <= 25
    assert all(c["value"] == c["name"] for c in choices)


async def test_autocomplete_with_empty_input_offers_topic_chips(world: World, kinapse: Kinapse):
    """Focusing the field sends an empty value: the server's most explored maps come
    first, then its other maps, then the bundled ones it has not opened."""
    bundled = kinapse.bundled.find("blockchain")
    message = (await world.alice.slash(world.channel, "explore", topic="Blockchain")).response
    await click_open(world.alice, message, bundled.concepts[0].title)
    await world.alice.slash(world.channel, "explore", topic="Quantum Knitting")

    choices = await world.bob.autocomplete(world.channel, "explore", "topic", "")
    names = [c["name"] for c in choices]
    rest = sorted((m.topic for m in kinapse.bundled.maps if m.topic != "Blockchain"), key=str.lower)
    assert names == ["Blockchain", "Quantum Knitting", *rest][:25]
    # Another server has explored nothing: its chips are the bundled maps.
    other = world.env.create_guild(name="Other")
    carol = other.add_member(world.env.create_user("carol"))
    chips = await carol.autocomplete(other.create_text_channel("x"), "explore", "topic", "  ")
    assert [c["name"] for c in chips] == sorted(
        (m.topic for m in kinapse.bundled.maps), key=str.lower
    )


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
    assert heading(listing) == "Maps in Kinapse Test"
    entries = [line for line, _ in sections(listing)]
    assert entries[0] == "1. Blockchain"
    total = sum(1 + len(c.children or []) for c in bundled.concepts)
    assert small_lines(listing)[0] == f"1 of {total} explored · curated"
    assert len(entries) == min(10, len(kinapse.bundled.maps))
    if len(kinapse.bundled.maps) > 10:
        after = (await world.bob.click(listing, label="Next")).response
        assert sections(after)[0][0].startswith("11. ")
        before = (await world.bob.click(after, label="Previous")).response
        assert sections(before)[0][0] == entries[0]


async def test_maps_next_shows_the_second_page_of_a_server_with_many_maps(
    world: World, kinapse: Kinapse
):
    stored = await store_many_maps(kinapse.storage, world.guild.id, 12)
    curated = sorted((m.topic for m in kinapse.bundled.maps), key=str.casefold)
    pages = -(-(len(stored) + len(curated)) // 10)

    listing = (await world.bob.slash(world.channel, "maps")).response
    assert [line for line, _ in sections(listing)] == [
        f"{n}. {m.topic}" for n, m in enumerate(stored[:10], start=1)
    ]
    assert small_lines(listing)[-1] == f"Page 1 of {pages} · Open a map, or /explore a topic"

    after = (await world.bob.click(listing, label="Next")).response
    assert after.id == listing.id  # the list pages in place
    entries = [line for line, _ in sections(after)]
    assert entries == [
        f"11. {stored[10].topic}",
        f"12. {stored[11].topic}",
        *(f"{n}. {topic}" for n, topic in enumerate(curated[:8], start=13)),
    ]
    assert small_lines(after)[-1] == f"Page 2 of {pages} · Open a map, or /explore a topic"
    # A page-2 entry opens its own map.
    [(_, button)] = [(t, b) for t, b in sections(after) if t == entries[0]]
    opened = await world.bob.click(after, custom_id=button["custom_id"])
    assert heading(opened.response) == stored[10].topic


async def test_a_maps_entry_opens_its_map_privately(world: World, kinapse: Kinapse):
    """Both kinds of entry: a map the server has stored, and a bundled map it has not opened
    (which has no row yet); the buttons still work after a restart."""
    await world.alice.slash(world.channel, "explore", topic="Blockchain")
    listing = (await world.bob.slash(world.channel, "maps")).response
    [(_, stored_button)] = [(t, b) for t, b in sections(listing) if t == "1. Blockchain"]
    unopened = next(t for t, _ in sections(listing) if t != "1. Blockchain")
    topic = unopened.split(". ", 1)[1]
    assert await kinapse.storage.find_map(world.guild.id, topic.casefold()) is None

    await kinapse.restart(world.env)
    opened = await world.bob.click(listing, custom_id=stored_button["custom_id"])
    assert opened.ephemeral and heading(opened.response) == "Blockchain"
    assert opened.response.id != listing.id  # a message of its own; the list stays

    [(_, button)] = [(t, b) for t, b in sections(listing) if t == unopened]
    result = await world.bob.click(listing, custom_id=button["custom_id"])
    assert result.ephemeral and heading(result.response) == topic
    stored = await kinapse.storage.find_map(world.guild.id, topic.casefold())
    assert stored is not None  # copied into the server on first open, as /explore does

    # bob drives his private card: its Open buttons move it in place.
    first = kinapse.bundled.find(topic.casefold()).concepts[0]
    moved = await click_open(world.bob, result.response, first.title)
    assert heading(moved.response) == first.title and moved.response.id == result.response.id


@pytest.mark.no_generator
async def test_new_topic_without_api_key_offers_the_nearest_maps_to_open(
    world: World, kinapse: Kinapse
):
    result = await world.bob.slash(world.channel, "explore", topic="Agents of change")
    assert result.ephemeral
    assert card_text(result.response).startswith(
        "No map of Agents of change yet. New topics can't be mapped in this server for now."
    )
    assert "ANTHROPIC" not in card_text(result.response)  # Bob does not manage the server
    # Maps related to the words: shared words in topics ("agents") first, then concept
    # titles; one row of buttons.
    offered = labels(result.response)
    assert offered[0] == "AI Agents" and len(offered) == 5
    assert handled(world) == []  # a suggestion, not an error
    # A member who manages the server also reads why, in small text.
    managers = world.guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    manager = world.guild.add_member(world.env.create_user("root"), roles=[managers])
    told = (await manager.slash(world.channel, "explore", topic="Agents of change")).response
    note = "For this server's managers: generation is off because ANTHROPIC_API_KEY is not set."
    assert note in card_text(told)

    opened = await world.bob.click(result.response, label="AI Agents")
    assert opened.ephemeral and heading(opened.response) == "AI Agents"

    # What autocomplete would offer comes first: a half-typed topic finds its map.
    typed = await world.alice.slash(world.channel, "explore", topic="blockch")
    assert labels(typed.response)[0] == "Blockchain"
    opened = await world.alice.click(typed.response, label="Blockchain")
    assert heading(opened.response) == "Blockchain"
    # Nothing related: no unrelated maps, and where to find them all.
    nothing = await world.alice.slash(world.channel, "explore", topic="Photosynthesis")
    assert labels(nothing.response) == []
    assert "/maps lists every map you can open" in card_text(nothing.response)


@pytest.mark.no_generator
async def test_unexpanded_concept_without_api_key_says_so(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, first.title)).response
    sub = (await click_open(world.alice, card, first.children[0].title)).response
    assert "Its sub-concepts can't be mapped in this server for now." in card_text(sub)
    assert "ANTHROPIC" not in card_text(sub) and "Mapping" not in card_text(sub)


async def test_unexpected_error_is_logged_and_answered_with_an_apology(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch, caplog
):
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(kinapse.explorer.topics, "lookup", broken)
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

    monkeypatch.setattr(kinapse.explorer.concepts, "concept_view", broken)
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


async def test_the_bot_keeps_no_timer_for_the_private_cards_it_sends(
    world: World, kinapse: Kinapse
):
    """Every button is answered from its custom_id alone, so no card's view needs keeping;
    kept, each private card's view would hold a task and a 15-minute timer."""
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    first = kinapse.bundled.find("ai agents").concepts[0]
    private = (await click_open(world.bob, card, first.title)).response  # a private copy
    await click_open(world.alice, card, first.title)  # in place
    listing = (await world.bob.slash(world.channel, "maps")).response  # private too
    await world.bob.click(listing, label="Next")

    # discord.py runs a view's timeout as a task of its own.
    timers = [
        task
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__.endswith("__timeout_task_impl")
    ]
    assert timers == []
    # The buttons work all the same.
    back = await world.bob.click(private, label="Back")
    assert heading(back.response) == "AI Agents"
