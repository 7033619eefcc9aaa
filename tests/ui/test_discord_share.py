"""Share posts a private answer in the channel: only its asker's, and only once, however
it is pressed (twice at once, again later, or forged by another member's client)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import simcord

from tests.support.harness import BUTTON, Kinapse, World, card_text, click_open, components_of

QUESTION = "Why does it matter so much?"


async def answered(world: World, kinapse: Kinapse, actor: Any) -> simcord.InteractionResult:
    """``actor`` asks QUESTION about the first key concept of AI Agents: the private
    answer (Alice's public card is opened first)."""
    concept = kinapse.bundled.find("ai agents").concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    opened = (await click_open(world.alice, card, concept.title)).response
    form = await actor.click(opened, label="Ask")
    return await actor.submit_modal(form, {"question": QUESTION})


def share_id(message: Any) -> str:
    [button] = [c for c in components_of(message) if c.get("type") == BUTTON]
    return button["custom_id"]


async def press(actor: Any, world: World, message: Any, custom_id: str) -> Any:
    """``actor`` sends a press of ``custom_id`` from ``message``'s Share button, whatever
    the button now shows: a client showing an older state of the message, or a forged
    request (Discord passes any custom_id on; the bot must check it). SimCord only
    clicks what the stored message shows, so the stored button is set to it first."""
    stored = world.env.backend.get_message(message.channel_id, message.id)
    [button] = [c for c in components_of(stored) if c.get("type") == BUTTON]
    button["custom_id"], button["disabled"] = custom_id, False
    return await actor.click(message, custom_id=custom_id)


def told(result: simcord.InteractionResult) -> list[str]:
    """The private lines of text the presser got."""
    messages = [result.response, *result.followups] if result.response else result.followups
    return [m.content for m in messages if m.ephemeral and m.content]


def posts(world: World) -> list[Any]:
    """The public messages in the channel that quote the question: shared answers."""
    stored = world.env.backend.messages.get(world.channel.id, {}).values()
    return [m for m in stored if not m.is_ephemeral and QUESTION in card_text(m)]


async def test_two_presses_at_once_post_the_answer_once(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch
):
    mine = (await answered(world, kinapse, world.alice)).response
    questions = kinapse.explorer.questions
    read = questions.answer_view

    async def slow_read(*args: Any) -> Any:
        await asyncio.sleep(5)  # in SimCord's time
        return await read(*args)

    monkeypatch.setattr(questions, "answer_view", slow_read)
    # A click returns once acknowledged (at 2 s, the read being slow), so both presses
    # are in the bot's hands before either has read its answer.
    first = await world.alice.click(mine, label="Share")
    second = await world.alice.click(mine, label="Share")
    await world.env.advance_time(10)

    assert len(posts(world)) == 1
    assert told(first) + told(second) == ["This answer is already shared in the channel."]


async def test_pressing_share_again_posts_nothing_more(world: World, kinapse: Kinapse):
    mine = (await answered(world, kinapse, world.alice)).response
    custom_id = share_id(mine)
    await world.alice.click(mine, label="Share")
    assert len(posts(world)) == 1

    again = await press(world.alice, world, mine, custom_id)  # a stale client's button

    assert len(posts(world)) == 1
    assert told(again) == ["This answer is already shared in the channel."]


async def test_another_member_cannot_share_someone_elses_answer(world: World, kinapse: Kinapse):
    alices = (await answered(world, kinapse, world.alice)).response
    bobs = (await answered(world, kinapse, world.bob)).response  # the same stored answer
    his = share_id(bobs)
    assert his != share_id(alices)  # his own asking, his own button

    forged = await press(world.bob, world, bobs, share_id(alices))
    assert told(forged) == ["Only the member who asked this question can share its answer."]
    # Share buttons from before askers were recorded carried the answer's id.
    asked = await kinapse.storage.get_ask(int(share_id(alices).rsplit(":", 1)[1]))
    old = await press(world.bob, world, bobs, f"kin:share:{asked.answer_id}")
    assert "older version of Kinapse" in told(old)[0]
    assert posts(world) == []

    # His own share works, once; Alice's stays hers to share.
    await press(world.bob, world, bobs, his)
    await world.alice.click(alices, label="Share")
    assert len(posts(world)) == 2
