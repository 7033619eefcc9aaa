"""The Retry of a new topic whose map failed: its button carries a stored retry's id, never
the topic; it works after a restart, for a topic of any length, records a chosen meaning's
alias, refuses another scope's id, expires with upkeep; and the buttons posted before
retries were stored (the topic in the custom_id) keep working."""

from __future__ import annotations

import re
import time
from typing import Any

import discord
import pytest

from bot.errors import StorageFull
from bot.explore.topics import RETRY_EXPIRED
from bot.explore.upkeep import DAY
from bot.models import TOPIC_MAX, topic_key
from bot.ui.flows import new_topic
from tests.support.fakes import FakeGenerator
from tests.support.faults import free_disk, full_disk
from tests.support.harness import Kinapse, World, card_text, custom_ids, heading, labels, walk
from tests.ui.test_discord_meanings import MERCURY, choice_id

FAILURE = "Claude could not map that topic."
RETRY_ID = re.compile(r"kin:topicretry:(\d+)")


def fake(kinapse: Kinapse) -> FakeGenerator:
    assert isinstance(kinapse.generator, FakeGenerator)
    return kinapse.generator


def retry_id(message: Any) -> int:
    """The stored retry's id that the message's one Retry button carries."""
    assert labels(message) == ["Retry"]
    [custom_id] = custom_ids(message)
    match = RETRY_ID.fullmatch(custom_id)
    assert match is not None, custom_id
    return int(match[1])


async def test_a_failed_topic_retry_carries_an_id_only_and_works_after_a_restart(
    world: World, kinapse: Kinapse
):
    fake(kinapse).fail_with(FAILURE)
    failed = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    assert failed.content == f"Couldn't map *Volcanoes*: {FAILURE}"
    stored = await kinapse.storage.get_retry(retry_id(failed))
    assert stored is not None
    assert (stored.scope, stored.topic, stored.meaning_id) == (world.guild.id, "Volcanoes", None)
    assert not any("volcano" in c.casefold() for c in custom_ids(failed))

    await kinapse.restart(world.env)
    fake(kinapse).failure = None
    retried = (await world.bob.click(failed, label="Retry")).response

    assert retried.id == failed.id  # the same message ends as the card
    assert heading(retried) == "Volcanoes" and "Retry" not in labels(retried)
    assert await kinapse.storage.find_map(world.guild.id, "volcanoes") is not None
    assert [call.subject for call in fake(kinapse).calls] == ["Volcanoes", "Volcanoes"]


async def test_a_retry_posted_before_retries_were_stored_still_maps_its_topic(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch
):
    async def old_retry(*_: Any) -> discord.ui.Button:
        # What a failed new topic carried before: the topic itself in the custom_id.
        return discord.ui.Button(label="Retry", custom_id="kin:topic:Volcanoes")

    monkeypatch.setattr(new_topic, "retry_button", old_retry)
    fake(kinapse).fail_with(FAILURE)
    old = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    monkeypatch.undo()
    assert custom_ids(old) == ["kin:topic:Volcanoes"]

    await kinapse.restart(world.env)  # the upgrade
    fake(kinapse).failure = None
    retried = (await world.alice.click(old, label="Retry")).response

    assert retried.id == old.id and heading(retried) == "Volcanoes"
    assert await kinapse.storage.find_map(world.guild.id, "volcanoes") is not None


async def test_a_topic_as_long_as_explore_accepts_gets_a_retry(world: World, kinapse: Kinapse):
    topic = ("Plate tectonics and the volcanic arcs of the western Pacific " * 2)[:TOPIC_MAX]
    assert len(topic) == TOPIC_MAX
    fake(kinapse).fail_with(FAILURE)
    failed = (await world.alice.slash(world.channel, "explore", topic=topic)).response
    assert "Run /explore again" not in failed.content
    stored = await kinapse.storage.get_retry(retry_id(failed))
    assert stored is not None and stored.topic == topic.strip()

    fake(kinapse).failure = None
    retried = (await world.alice.click(failed, label="Retry")).response

    assert retried.id == failed.id and "Couldn't map" not in card_text(retried)
    assert await kinapse.storage.find_map(world.guild.id, topic_key(topic)) is not None


async def test_the_retry_of_a_chosen_meaning_records_its_alias(world: World, kinapse: Kinapse):
    fake(kinapse).meanings["mercury"] = MERCURY
    asked = (await world.alice.slash(world.channel, "explore", topic="Mercury")).response
    fake(kinapse).fail_with(FAILURE)
    failed = (await world.bob.click(asked, custom_id=choice_id(asked, "Mercury (planet)"))).response
    assert failed.id == asked.id
    assert f"Couldn't map *Mercury (planet)*: {FAILURE}" in (failed.content or card_text(failed))
    stored = await kinapse.storage.get_retry(retry_id(failed))
    assert stored is not None and stored.meaning_id is not None
    assert await kinapse.storage.alias_of(world.guild.id, "mercury") is None

    await kinapse.restart(world.env)
    fake(kinapse).failure = None
    retried = (await world.alice.click(failed, label="Retry")).response

    assert heading(retried) == "Mercury (planet)"
    assert await kinapse.storage.alias_of(world.guild.id, "mercury") == "mercury (planet)"
    calls = fake(kinapse).call_count
    # The typed text now finds the chosen meaning's map: no model call.
    exported = await world.alice.slash(world.channel, "export", topic="mercury", format="json")
    assert exported.response.content.startswith("**Mercury (planet)** · ")
    assert fake(kinapse).call_count == calls


async def test_a_retry_id_from_another_server_is_refused(world: World, kinapse: Kinapse):
    fake(kinapse).fail_with(FAILURE)
    ours = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    other = world.env.create_guild(name="Other")
    channel = other.create_text_channel("x")
    carol = other.add_member(world.env.create_user("carol"))
    theirs = (await carol.slash(channel, "explore", topic="Lava")).response
    # Carol's Retry crafted to carry our server's retry.
    stored = world.env.backend.get_message(channel.id, theirs.id)
    [button] = [c for c in walk(stored.components) if c.get("custom_id")]
    button["custom_id"] = f"kin:topicretry:{retry_id(ours)}"
    fake(kinapse).failure = None
    calls = fake(kinapse).call_count

    pressed = await carol.click(theirs, label="Retry")

    assert pressed.ephemeral and pressed.response.content == RETRY_EXPIRED
    assert fake(kinapse).call_count == calls
    assert await kinapse.storage.find_map(other.id, "volcanoes") is None
    assert world.env.backend.get_message(channel.id, theirs.id).content.startswith(
        "Couldn't map *Lava*"
    )


async def test_a_pruned_retry_says_it_has_expired(world: World, kinapse: Kinapse):
    fake(kinapse).fail_with(FAILURE)
    failed = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    explorer = kinapse.explorer
    assert explorer is not None
    days = kinapse.settings.session_days
    explorer.clock = lambda: time.time() + (days - 1) * DAY
    assert (await explorer.upkeep.prune()).retries == 0  # younger than a session: kept
    explorer.clock = lambda: time.time() + (days + 1) * DAY
    assert (await explorer.upkeep.prune()).retries == 1
    fake(kinapse).failure = None

    pressed = await world.alice.click(failed, label="Retry")

    assert pressed.ephemeral and pressed.response.content == RETRY_EXPIRED
    assert fake(kinapse).call_count == 1
    assert await kinapse.storage.find_map(world.guild.id, "volcanoes") is None


async def test_when_storage_cannot_keep_a_retry_the_button_makes_do_without_it(
    world: World, kinapse: Kinapse
):
    fake(kinapse).meanings["mercury"] = MERCURY
    asked = (await world.alice.slash(world.channel, "explore", topic="Mercury")).response
    planet = choice_id(asked, "Mercury (planet)")
    await full_disk(kinapse.storage)
    with pytest.raises(StorageFull):  # the little room left, taken: no retry can be stored
        for n in range(10_000):
            await kinapse.storage.save_retry(world.guild.id, f"Filler {n}", meaning_id=None, now=0)
    fake(kinapse).fail_with(FAILURE)

    short = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    long_topic = "Volcanoes " * 10
    long = (await world.alice.slash(world.channel, "explore", topic=long_topic)).response
    chosen = (await world.bob.click(asked, custom_id=planet)).response

    # A short topic rides in the custom_id, as before retries were stored; a chosen
    # meaning's Retry is that meaning's own button; a long topic says what to do instead.
    assert short.content == f"Couldn't map *Volcanoes*: {FAILURE}"
    assert custom_ids(short) == ["kin:topic:Volcanoes"] and labels(short) == ["Retry"]
    assert custom_ids(chosen) == [planet]
    assert labels(chosen) == ["Retry"]
    assert long.content.endswith("Run /explore again to retry.") and not custom_ids(long)

    await free_disk(kinapse.storage)
    fake(kinapse).failure = None
    retried = (await world.alice.click(short, label="Retry")).response
    assert retried.id == short.id and heading(retried) == "Volcanoes"
    mapped = (await world.bob.click(chosen, label="Retry")).response
    assert mapped.id == chosen.id and heading(mapped) == "Mercury (planet)"
    assert await kinapse.storage.alias_of(world.guild.id, "mercury") == "mercury (planet)"
