"""New topics and lazy sub-concepts through Discord, with the real SDK and the stand-in."""

from __future__ import annotations

import re

import pytest

from bot.ui import live
from tests.support import standin as s
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    custom_ids,
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
    assert small_lines(card)[-1].startswith("Written by claude-sonnet-4-6 on ")
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
    result = await world.alice.slash(world.channel, "explore", topic="Topic too many")
    assert result.ephemeral
    assert re.search(r"try again <t:\d+:R>\.$", texts(result.response)[0])
    # What can be opened now: the related maps made so far, and they open.
    assert labels(result.response)[0] == "Topic 0"
    opened = await world.alice.click(result.response, label="Topic 0")
    assert heading(opened.response) == "Topic 0"
    assert world.env.errors == []


def card_edits(world: World) -> list[dict]:
    """The V2 payloads the bot put on interaction messages, in order."""
    return [
        r.json
        for r in world.env.http_requests
        if r.method == "PATCH" and "/messages/@original" in r.path and r.json.get("components")
    ]


@pytest.mark.anthropic
async def test_a_new_map_grows_on_the_card_concept_by_concept(
    world: World, kinapse: Kinapse, standin, monkeypatch: pytest.MonkeyPatch
):
    # SimCord's clock stands still while the stand-in streams in real time: no pause
    # between edits here (1 s in the bot), one in flight at a time all the same.
    monkeypatch.setattr(live, "STREAM_EDIT_INTERVAL", 0.0)
    standin.rate, standin.chunk = 800.0, 10
    standin.script(s.answer(s.valid_map(5, title="Volcanoes")))

    result = await world.alice.slash(world.channel, "explore", topic="volcanoes")

    edits = card_edits(world)
    growing, final = edits[:-1], edits[-1]
    counts = [len([t for t in texts(e) if re.match(r"\*\*\d · ", t)]) for e in growing]
    # It grew, step by step (how many steps show depends on how fast edits land).
    assert counts == sorted(counts) and len(set(counts)) >= 3
    assert any(0 < count < 5 for count in counts)
    for edit, count in zip(growing, counts, strict=True):
        assert heading(edit) == "Volcanoes"
        assert not custom_ids(edit)  # no buttons while the concepts are still arriving
        noun = "concept" if count == 1 else "concepts"
        assert small_lines(edit)[-1] == f"⏳ Mapping… {count} {noun} so far"
    # The last edit is the stored card: buttons, and the footer instead of the progress.
    assert result.response.id and concept_lines(final) == [
        f"{n} · Key concept {n}" for n in range(1, 6)
    ]
    assert small_lines(final)[-1].startswith("Written by claude-sonnet-4-6 on ")
    assert await kinapse.storage.find_map(world.guild.id, "volcanoes") is not None


@pytest.mark.anthropic
@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(s.interrupted(s.valid_map(5), "drop", at=0.7), id="dropped"),
        pytest.param(s.interrupted(s.valid_map(5), "error", at=0.7), id="error-event"),
        pytest.param(s.answer(s.valid_map(5), stop_reason="max_tokens"), id="max-tokens"),
        pytest.param(s.answer(s.valid_map(2)), id="invalid-twice"),
        pytest.param(s.refusal(), id="refused"),
    ],
)
async def test_a_stream_that_fails_ends_with_the_error_and_stores_nothing(
    world: World, kinapse: Kinapse, standin, monkeypatch: pytest.MonkeyPatch, reply
):
    monkeypatch.setattr(live, "STREAM_EDIT_INTERVAL", 0.0)
    standin.rate, standin.chunk = 2000.0, 10
    standin.always(reply)

    await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    final = card_edits(world)[-1]  # the last edit of the card: the error, with Retry
    shown = final.get("content") or card_text(final)
    assert shown.startswith("Couldn't map *Volcanoes*:")
    assert not any(re.match(r"\*\*\d · ", t) for t in texts(final))  # no half map left
    assert [c for c in custom_ids(final) if re.fullmatch(r"kin:topicretry:\d+", c)]
    assert await kinapse.storage.find_map(world.guild.id, "volcanoes") is None
    assert world.env.errors == []


@pytest.mark.anthropic
async def test_sub_concepts_grow_on_the_concept_card(
    world: World, standin, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "STREAM_EDIT_INTERVAL", 0.0)
    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    before = len(card_edits(world))
    standin.rate, standin.chunk = 800.0, 10
    standin.script(s.answer(s.valid_expansion(5)))

    opened = (await click_open(world.alice, card, "Key concept 1")).response

    growing = [e for e in card_edits(world)[before:] if any("so far" in t for t in texts(e))]
    counts = [len([t for t in texts(e) if re.match(r"\*\*\d · ", t)]) for e in growing]
    assert counts and counts == sorted(counts) and counts[0] < 5
    for edit, count in zip(growing, counts, strict=True):
        assert heading(edit) == "Key concept 1"
        assert f"Mapping sub-concepts… {count} so far" in card_text(edit)
        assert not [c for c in custom_ids(edit) if c.startswith("kin:open:")]
    assert concept_lines(opened) == [f"{n} · Sub-concept {n}" for n in range(1, 6)]
