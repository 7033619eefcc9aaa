"""Presses that follow each other: each applies to the card as the press before it left it,
whatever its timing, on both backends and through a restart; a crash between an answer
and its write loses that move and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import PROJECT_ROOT, Settings
from tests.support.faults import stall_click_writes
from tests.support.harness import (
    UPDATE_MESSAGE,
    Kinapse,
    World,
    click_open,
    heading,
    open_id,
    press_together,
)

TOPIC = "AI Agents"
# Apart in real time: the second press reaches the bot before the first is answered
# and written (0), or a double tap's 10 ms after it.
GAPS = [0.0, 0.01]


@pytest.fixture
def bot_settings(database: Path | str) -> Settings:
    """The bot on each backend: a SQLite file, or a PostgreSQL database."""
    return Settings(
        database=database,
        maps_dir=PROJECT_ROOT / "maps",
        anthropic_api_key="test-key",
        shard_count=1,
    )


def answer_of(world: World, result: Any) -> dict | None:
    """The card a press's own answer carried (its update of the message, or the edit that
    followed its acknowledgement), None if it has not answered with a card."""
    interaction = result._interaction
    for entry in world.env.http_requests:
        body = entry.json if isinstance(entry.json, dict) else {}
        if entry.path.startswith(f"/interactions/{interaction.id}/"):
            if body.get("type") == UPDATE_MESSAGE:
                return body["data"]
        elif interaction.token in entry.path and entry.method == "PATCH" and "components" in body:
            return body
    return None


def shown(world: World, message: Any) -> str:
    """The heading of the card the message shows now."""
    return heading(world.env.backend.get_message(world.channel.id, message.id))


async def deep_card(world: World, kinapse: Kinapse):
    """Alice's card on a sub-concept, reached from the overview through its key concept."""
    first = kinapse.bundled.find(TOPIC.casefold()).concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic=TOPIC)).response
    await click_open(world.alice, card, first.title)
    await click_open(world.alice, card, first.children[1].title)
    return card, first


@pytest.mark.parametrize("gap", GAPS)
async def test_two_backs_pressed_together_go_back_twice(world: World, kinapse: Kinapse, gap: float):
    card, first = await deep_card(world, kinapse)

    pressed = await press_together(
        world.env,
        lambda: world.alice.click(card, label="Back"),
        lambda: world.alice.click(card, label="Back"),
        gap=gap,
    )

    # In order: the first Back to the key concept, the second from there to the overview.
    assert [heading(answer_of(world, p)) for p in pressed] == [first.title, TOPIC]
    assert shown(world, card) == TOPIC
    session = await kinapse.storage.get_session(card.id)
    assert (session.concept_id, session.history) == (None, [])


@pytest.mark.parametrize("gap", GAPS)
async def test_an_open_and_a_back_pressed_together_both_apply(
    world: World, kinapse: Kinapse, gap: float
):
    first = kinapse.bundled.find(TOPIC.casefold()).concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic=TOPIC)).response
    await click_open(world.alice, card, first.title)
    sub = first.children[2]
    sub_button = open_id(card, sub.title)

    pressed = await press_together(
        world.env,
        lambda: world.alice.click(card, custom_id=sub_button),
        lambda: world.alice.click(card, label="Back"),
        gap=gap,
    )

    # Back returns from the sub-concept the Open showed, not from where the card was.
    assert [heading(answer_of(world, p)) for p in pressed] == [sub.title, first.title]
    assert shown(world, card) == first.title
    session = await kinapse.storage.get_session(card.id)
    assert session.history == [None]
    opened = await kinapse.storage.children(first_id(session))
    assert [c.opened for c in opened if c.title == sub.title] == [True]  # the open counted


def first_id(session: Any) -> int:
    assert session.concept_id is not None
    return session.concept_id


@pytest.mark.parametrize("gap", GAPS)
async def test_presses_together_after_a_restart_read_the_stored_card_once(
    world: World, kinapse: Kinapse, gap: float
):
    card, first = await deep_card(world, kinapse)
    await kinapse.restart(world.env)  # nothing held in memory: the card is read from storage

    pressed = await press_together(
        world.env,
        lambda: world.alice.click(card, label="Back"),
        lambda: world.alice.click(card, label="Back"),
        gap=gap,
    )

    assert [heading(answer_of(world, p)) for p in pressed] == [first.title, TOPIC]
    assert shown(world, card) == TOPIC
    session = await kinapse.storage.get_session(card.id)
    assert (session.concept_id, session.history) == (None, [])


async def test_a_crash_between_an_answer_and_its_write_loses_that_move_only(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch
):
    bundled = kinapse.bundled.find(TOPIC.casefold())
    first, second = bundled.concepts[:2]
    card = (await world.alice.slash(world.channel, "explore", topic=TOPIC)).response
    await click_open(world.alice, card, first.title)
    other = (await world.alice.slash(world.channel, "explore", topic=TOPIC)).response
    await click_open(world.alice, other, second.title)
    copy = (await click_open(world.bob, card, first.children[0].title)).response
    written = {m.id: await kinapse.storage.get_session(m.id) for m in (card, other, copy)}
    opened = (await kinapse.storage.find_map(world.guild.id, TOPIC.casefold())).opened
    assert opened == 3

    stall_click_writes(world.env, kinapse.storage, monkeypatch)
    back = await world.alice.click(card, label="Back")
    assert heading(answer_of(world, back)) == TOPIC  # answered; its write never lands
    # The card's next press waits for that write: it must not become a second lost move.
    again = await click_open(world.alice, card, second.title)
    assert answer_of(world, again) is None and shown(world, card) == TOPIC

    await kinapse.crash(world.env)

    # The card's session is where the last written move left it; nothing else was lost.
    for message_id, session in written.items():
        assert await kinapse.storage.get_session(message_id) == session
    assert (await kinapse.storage.find_map(world.guild.id, TOPIC.casefold())).opened == opened
    # The restarted bot follows the card from there: its Back returns to the key concept
    # the lost move had left.
    assert heading((await click_open(world.alice, card, second.title)).response) == second.title
    assert heading((await world.alice.click(card, label="Back")).response) == first.title
