"""Discuss through Discord: a public thread on the concept's card, named after the concept,
seeded with its summary and a link back; pressed again it reopens the same thread; Ask
pressed in the thread answers in the thread; what the bot may not do there is said
privately. SimCord 3.2.1 simulates threads (creation from a message, in a channel,
archiving), so no route is patched here."""

from __future__ import annotations

import discord

from bot.ui.flows.discuss import CANNOT_THREAD
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    heading,
    labels,
    open_id,
)


async def concept_card(world: World, kinapse: Kinapse, channel=None):
    concept = kinapse.bundled.find("ai agents").concepts[0]
    where = channel or world.channel
    message = (await world.alice.slash(where, "explore", topic="AI Agents")).response
    return concept, (await click_open(world.alice, message, concept.title)).response


def thread_of(world: World, thread_id: int):
    return world.env.backend.get_channel(thread_id)


async def test_discuss_opens_a_thread_on_the_card_and_reopens_it(world: World, kinapse: Kinapse):
    concept, card = await concept_card(world, kinapse)
    pressed = await world.bob.click(card, label="Discuss")
    reply = pressed.response
    assert reply.ephemeral and reply.content.startswith(f"Discussion of **{concept.title}**")
    [thread] = world.channel.threads
    # On the card's own message: Discord gives such a thread the message's id.
    assert thread.id == card.id and thread.name == concept.title
    assert f"<#{thread.id}>" in reply.content
    [seed] = thread.history()
    seeded = world.env.backend.get_message(thread.id, seed.id)
    assert concept.summary in card_text(seeded)
    assert f"/{world.channel.id}/{card.id})" in "\n".join(c for c in [card_text(seeded)])
    assert labels(seeded) == ["Ask", "Open the concept"]

    # Again, with the thread archived meanwhile (set on SimCord's state, as Discord does
    # after a day without messages): the same thread, unarchived.
    thread_of(world, thread.id).thread_metadata.archived = True
    again = await world.alice.click(card, label="Discuss")
    assert again.response.content.startswith(f"Reopened the discussion of **{concept.title}**")
    assert len(world.channel.threads) == 1
    assert not thread_of(world, thread.id).thread_metadata.archived


async def test_ask_in_the_thread_answers_in_the_thread(world: World, kinapse: Kinapse):
    _, card = await concept_card(world, kinapse)
    await world.bob.click(card, label="Discuss")
    [thread] = world.channel.threads
    [seed] = thread.history()

    form = await world.bob.click(seed, label="Ask")
    assert form.modal is not None
    answered = await world.bob.submit_modal(form, {"question": "Why does it matter here?"})
    answer = answered.response
    assert not answer.ephemeral  # the thread's, for everyone
    assert answer.channel_id == thread.id
    assert "Why does it matter here?" in card_text(answer)
    assert "Share" not in labels(answer)  # posted already

    # The same Ask on the card in the channel stays private.
    private = await world.bob.click(card, label="Ask")
    elsewhere = await world.bob.submit_modal(private, {"question": "And outside the thread?"})
    assert elsewhere.response.ephemeral


async def test_no_thread_where_the_bot_may_not_open_one(world: World, kinapse: Kinapse):
    me = world.guild.me
    assert me is not None
    closed = world.guild.create_text_channel(
        "no-threads", overwrites={me: discord.PermissionOverwrite(create_public_threads=False)}
    )
    _, card = await concept_card(world, kinapse, closed)
    refused = await world.alice.click(card, label="Discuss")
    assert refused.response.ephemeral and refused.response.content == CANNOT_THREAD
    assert closed.threads == []


async def test_discuss_on_a_private_copy_opens_the_thread_in_the_channel(
    world: World, kinapse: Kinapse
):
    concept = kinapse.bundled.find("ai agents").concepts[1]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    copy = (await click_open(world.bob, message, concept.title)).response
    assert copy.ephemeral
    await world.bob.click(copy, label="Discuss")
    [thread] = world.channel.threads
    assert thread.name == concept.title and thread.id != message.id


async def test_a_server_may_post_its_maps_in_a_forum(world: World, kinapse: Kinapse):
    role = world.guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = world.guild.add_member(world.env.create_user("root"), roles=[role])
    forum = world.guild.create_forum_channel("maps")
    chosen = await admin.slash(world.channel, "kinapse settings", forum=forum)
    assert f"maps posted in <#{forum.id}>" in chosen.response.content

    explored = await world.alice.slash(world.channel, "explore", topic="AI Agents")
    reply = explored.response
    assert reply.ephemeral and reply.content.startswith("Posted the map of **AI Agents** in")
    [post] = forum.threads
    assert post.name == "AI Agents" and f"<#{post.id}>" in reply.content
    [starter] = post.history()
    card = world.env.backend.get_message(post.id, starter.id)
    assert heading(card) == "AI Agents" and "Quiz" in labels(card)
    # The post is a card like any other: its owner walks it in place.
    first = kinapse.bundled.find("ai agents").concepts[0]
    opened = await world.alice.click(starter, custom_id=open_id(card, first.title))
    assert opened.response.id == starter.id and heading(opened.response) == first.title

    again = await world.bob.slash(world.channel, "explore", topic="AI Agents")
    assert again.response.content.startswith("The map of **AI Agents** is in")
    assert len(forum.threads) == 1

    await admin.slash(world.channel, "kinapse settings", forum_posts=False)
    back = await world.bob.slash(world.channel, "explore", topic="AI Agents")
    assert not back.response.ephemeral and heading(back.response) == "AI Agents"
