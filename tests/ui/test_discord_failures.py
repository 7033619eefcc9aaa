"""No stuck cards: whatever fails between "Mapping…" and the card (an acknowledgement,
an edit to Discord, the API), the message ends as the card or as an error with Retry,
and generation never depends on the Discord calls succeeding."""

from __future__ import annotations

import pytest

from bot.generator import MALFORMED
from tests.support import standin as s
from tests.support.harness import Kinapse, World, card_text, click_open, heading, labels

CALLBACK = "/interactions/*/callback"
ORIGINAL = "/webhooks/*/messages/@original"


def callback_types(world: World) -> list[int]:
    return [r.json["type"] for r in world.env.http_requests if r.path.endswith("/callback")]


async def test_a_failed_defer_still_generates_and_stores_the_map(world: World, kinapse: Kinapse):
    world.env.inject_error("POST", CALLBACK, status=500)
    await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    stored = await kinapse.storage.find_map(world.guild.id, "volcanoes")
    assert stored is not None and stored.topic == "Volcanoes"
    assert kinapse.generator.call_count == 1

    before = len(callback_types(world))
    again = await world.bob.slash(world.channel, "explore", topic="volcanoes")
    assert callback_types(world)[before:] == [4]  # the card is the first response: instant
    assert heading(again.response) == "Volcanoes"
    assert kinapse.generator.call_count == 1


async def test_a_failed_progress_edit_does_not_stop_the_card(world: World, kinapse: Kinapse):
    world.env.inject_error("PATCH", ORIGINAL, status=500)  # the "Mapping…" edit
    result = await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    card = result.response
    assert card.content == ""
    assert heading(card) == "Volcanoes"
    session = await kinapse.storage.get_session(card.id)
    assert session is not None and session.owner_id == world.alice.id


async def test_a_failed_final_edit_is_tried_again(world: World, kinapse: Kinapse):
    world.env.inject_error("PATCH", ORIGINAL, status=502, times=3)  # progress + 2 of 3 final
    result = await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    assert heading(result.response) == "Volcanoes"


@pytest.mark.anthropic
async def test_a_malformed_api_reply_ends_as_an_error_with_retry(world: World, standin):
    standin.always(s.raw("<html><body>Sign in to the proxy</body></html>"))
    result = await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    failed = result.response
    assert failed.content == f"Couldn't map *Volcanoes*: {MALFORMED}"
    assert labels(failed) == ["Retry"]
    assert not failed.embeds

    standin.fallback = None  # the proxy is fixed: valid answers again
    retried = (await world.alice.click(failed, label="Retry")).response
    assert retried.id == failed.id  # the same message ends as the card
    assert retried.content == ""
    assert heading(retried) == "Volcanoes"
    assert "Retry" not in labels(retried)


@pytest.mark.anthropic
async def test_a_failed_subconcept_generation_ends_with_retry(world: World, standin):
    result = await world.alice.slash(world.channel, "explore", topic="Volcanoes")
    standin.always(s.without_usage(s.valid_expansion()))
    opened = (await click_open(world.alice, result.response, "Key concept 1")).response

    assert MALFORMED in card_text(opened)
    assert "Mapping" not in card_text(opened)
    assert "Retry" in labels(opened)
