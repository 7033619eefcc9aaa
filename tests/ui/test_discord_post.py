"""Post in channel: a private card (opened from /maps, a suggestion, or someone else's
card) posted in the channel as the presser's own card, once; its session starts on it."""

from __future__ import annotations

import asyncio

import simcord

from tests.support.harness import (
    BUTTON,
    Kinapse,
    World,
    click_open,
    components_of,
    heading,
    labels,
    open_id,
    sections,
    small_lines,
    texts,
)

POST = "Post in channel"
POSTED = "Posted in channel"
DRAWING = "Drawing the map's picture"
MEDIA_GALLERY = 12


def public_messages(world: World) -> list:
    """The channel's messages everyone sees, oldest first."""
    return [m for m in world.channel.history() if not m.flags.ephemeral]


def seen(world: World, message):
    """A message as it is now (after edits), with its raw components, to read it."""
    return world.env.backend.get_message(world.channel.id, message.id)


def button(message, label: str) -> dict:
    [found] = [c for c in components_of(message) if c["type"] == BUTTON and c["label"] == label]
    return found


def concept_rows_fit(message) -> None:
    """Discord's action rows hold five buttons at most."""
    for component in components_of(message):
        if component["type"] == 1:
            assert len(component["components"]) <= 5, component


async def test_someone_elses_card_posted_in_the_channel_as_the_pressers_own(
    world: World, kinapse: Kinapse
):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    assert POST not in labels(message)  # a public card has nothing to post
    first_id = int(open_id(message, first.title).rsplit(":", 1)[1])
    opened = await click_open(world.bob, message, first.title)
    copy = opened.response
    assert copy.ephemeral and heading(copy) == first.title
    assert POST in labels(copy)
    concept_rows_fit(copy)
    before = len(public_messages(world))

    await world.bob.click(copy, label=POST)

    posts = public_messages(world)[before:]
    assert len(posts) == 1  # one new public message: the card, as Bob's
    [post] = posts
    assert post.interaction_metadata.user.id == world.bob.id  # Bob's own card
    shown = seen(world, post)
    assert heading(shown) == first.title
    assert POST not in labels(shown) and POSTED not in labels(shown)
    assert "Quiz" in labels(shown)  # the whole card: its buttons work for everyone
    private = seen(world, copy)  # Bob's copy says it is posted, and posts no more
    assert heading(private) == first.title
    assert button(private, POSTED).get("disabled") is True and POST not in labels(private)
    alices = seen(world, message)
    assert heading(alices) == "AI Agents"  # Alice's card did not move

    # The posted card is Bob's: it moves in place for him, from what it showed.
    child = first.children[0]
    pressed = await world.bob.click(post, custom_id=open_id(shown, child.title))
    moved = pressed.response
    assert moved.id == post.id and not moved.ephemeral and heading(moved) == child.title
    session = await kinapse.explorer.sessions.get(post.id)
    assert session.owner_id == world.bob.id and session.history == [first_id]
    back = (await world.bob.click(moved, label="Back")).response
    assert back.id == post.id and heading(back) == first.title
    # Alice pressing on Bob's posted card gets a private copy.
    hers = await click_open(world.alice, back, child.title)
    assert hers.ephemeral and hers.response.id != post.id


async def test_a_second_press_posts_nothing_more(world: World, kinapse: Kinapse):
    first = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    copy = (await click_open(world.bob, message, first.title)).response
    post_id = button(copy, POST)["custom_id"]
    before = len(public_messages(world))

    # A double tap: the second press leaves before the first is answered.
    first_press, second_press = await press_twice(
        world.env, lambda: world.bob.click(copy, custom_id=post_id)
    )

    assert len(public_messages(world)) == before + 1
    assert not first_press.ephemeral or first_press.response.id == copy.id
    assert second_press.ephemeral and "already posted" in second_press.response.content
    assert button(seen(world, copy), POSTED).get("disabled") is True


async def press_twice(env: simcord.Env, press) -> list[simcord.InteractionResult]:
    """``press`` sent twice, the second before the bot answered the first (a double tap).

    SimCord 3.2.1 settles after each interaction it sends and lets no operation overlap
    another, so a second press could never reach the bot before the first is answered,
    as it can on Discord. Here one operation sends both, each built by SimCord itself
    (its settling held off meanwhile), then settles once (as the sessions tests'
    ``press_together`` does).
    """

    async def sent_only(**_: object) -> None:
        await asyncio.sleep(0)

    env._begin_operation("press twice")
    try:
        settle = env._settle_internal
        env._settle_internal = sent_only
        try:
            results = [await press(), await press()]
        finally:
            del env._settle_internal
        await settle(dispatch="INTERACTION_CREATE")
        return results
    finally:
        env._end_operation()


async def test_a_map_from_maps_posted_with_its_picture(world: World, kinapse: Kinapse):
    listing = (await world.bob.slash(world.channel, "maps")).response
    [(_, entry)] = [(t, b) for t, b in sections(listing) if t.endswith(". AI Agents")]
    opened = await world.bob.click(listing, custom_id=entry["custom_id"])
    card = opened.response
    assert opened.ephemeral and heading(card) == "AI Agents" and POST in labels(card)
    before = len(public_messages(world))

    await world.bob.click(card, label=POST)

    [post] = public_messages(world)[before:]
    shown = seen(world, post)
    assert heading(shown) == "AI Agents" and POST not in labels(shown)
    assert [c for c in components_of(shown) if c["type"] == MEDIA_GALLERY]
    assert [a.filename for a in post.attachments] == ["map.png"]
    assert small_lines(shown)[-1] == small_lines(seen(world, card))[-1]  # same counts
    session = await kinapse.explorer.sessions.get(post.id)
    assert session.owner_id == world.bob.id and session.concept_id is None
    first = kinapse.bundled.find("ai agents").concepts[0]
    pressed = await world.bob.click(post, custom_id=open_id(shown, first.title))
    moved = pressed.response
    assert moved.id == post.id and heading(moved) == first.title


async def test_a_posted_map_whose_picture_is_slow_gets_it_on_both_cards(
    world: World, kinapse: Kinapse
):
    """The picture not drawn within the press's answer: the posted card and Bob's private
    card both go without it, then both are edited with it (and the counts it shows)."""
    listing = (await world.bob.slash(world.channel, "maps")).response
    [(_, entry)] = [(t, b) for t, b in sections(listing) if t.endswith(". AI Agents")]
    card = (await world.bob.click(listing, custom_id=entry["custom_id"])).response
    renderer = kinapse.explorer.pictures.renderer
    real_png = renderer.png

    async def slow(dot: str) -> bytes:
        await asyncio.sleep(30)  # SimCord's clock: it moves when the test advances it
        return await real_png(dot)

    # Alice explores a concept: the map's picture changes, and is drawn slowly.
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    await click_open(world.alice, message, kinapse.bundled.find("ai agents").concepts[0].title)
    renderer.png = slow
    before = len(public_messages(world))

    await world.bob.click(card, label=POST)
    await world.env.advance_time(1)

    [post] = public_messages(world)[before:]
    for message in (post, card):
        assert DRAWING in "\n".join(texts(seen(world, message)))
    await world.env.advance_time(30)
    for message in (post, card):
        shown = seen(world, message)
        assert DRAWING not in "\n".join(texts(shown))
        assert [c for c in components_of(shown) if c["type"] == MEDIA_GALLERY]
        assert "1 of 31 concepts explored" in small_lines(shown)[-1]
    assert POSTED in labels(seen(world, card)) and POST not in labels(seen(world, post))
