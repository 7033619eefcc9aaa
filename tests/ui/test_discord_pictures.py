"""The map picture on the map card and behind every concept card's Map button."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from bot.models import BundledMap
from bot.render import Node
from tests.support.harness import (
    COMPONENTS_V2_FLAG,
    Kinapse,
    World,
    card_text,
    click_open,
    components_of,
    heading,
    labels,
    small_lines,
    walk,
)

MEDIA_GALLERY = 12


async def picture_of(message, attachments=None) -> Image.Image:
    """The PNG the card shows in its media gallery, opened as an image (``attachments``:
    the message's, when it is read from SimCord's backend, whose are not readable)."""
    [gallery] = [c for c in components_of(message) if c["type"] == MEDIA_GALLERY]
    assert gallery["items"][0]["media"]["url"].endswith("/map.png")
    [attachment] = message.attachments if attachments is None else attachments
    assert attachment.filename == "map.png"
    data = await attachment.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) <= 400 * 1024
    image = Image.open(io.BytesIO(data))
    image.load()
    # The map card's small picture is drawn at its natural size; the Map button's, larger.
    assert image.format == "PNG" and 400 <= max(image.size) <= 1600
    return image


async def test_map_card_shows_the_picture_and_map_highlights_the_concept(
    world: World, kinapse: Kinapse
):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    overview = await picture_of(message)
    legend = small_lines(message)[0]  # under the picture
    assert legend.startswith("🟧 the topic") and "explored" in legend

    card = (await click_open(world.alice, message, first.title)).response
    assert "Map" in labels(card) and not card.attachments  # the picture left with the map card
    shown = (await world.alice.click(card, label="Map")).response

    assert shown.id == message.id and not shown.ephemeral  # the owner's card, in place
    assert heading(shown) == "Map of AI Agents"
    assert small_lines(shown)[0] == f"AI Agents › {first.title}"
    assert f"{first.title} and its path to the topic" in card_text(shown)
    highlighted = await picture_of(shown)
    assert highlighted.tobytes() != overview.tobytes()

    back = (await world.alice.click(shown, label="Back")).response
    assert heading(back) == first.title and not back.attachments
    again = (await world.alice.click(back, label="Back")).response
    assert heading(again) == "AI Agents"  # Back from the concept: the map, as before Map


async def test_map_on_someone_elses_card_is_private(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, first.title)).response

    result = await world.bob.click(card, label="Map")

    copy = result.response
    assert result.ephemeral and copy.ephemeral and copy.id != message.id
    assert copy.flags.value & COMPONENTS_V2_FLAG and not copy.content
    await picture_of(copy)
    public = world.env.backend.get_message(world.channel.id, message.id)
    assert heading(public) == first.title  # Alice's card did not move
    back = (await world.bob.click(copy, label="Back")).response
    assert back.id == copy.id and heading(back) == first.title


async def test_many_presses_render_each_picture_once(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, bundled.concepts[0].title)).response
    drawn = kinapse.explorer.pictures.renderer
    calls = 0
    real_png = drawn.png

    async def counted(dot: str) -> bytes:
        nonlocal calls
        calls += 1
        return await real_png(dot)

    drawn.png = counted
    for _ in range(3):
        await world.bob.click(card, label="Map")
    assert calls == 1


CJK_MAP = {
    "topic": "量子力学",
    "overview": "量子力学は微視的な世界を記述する理論です。粒子は波のようにも振る舞います。",
    "concepts": [
        {
            "title": title,
            "summary": f"{title}は量子力学の基本的な考え方の一つです。",
            "detail": f"{title}は量子力学の中心にあります。多くの現象を説明します。",
            "leaf": True,
        }
        for title in ("波動関数", "不確定性原理", "重ね合わせ", "量子もつれ")
    ],
}


async def test_a_map_the_fonts_cannot_draw_is_shown_as_an_outline(world: World, kinapse: Kinapse):
    kinapse.bundled.add(BundledMap.model_validate(CJK_MAP))
    message = (await world.alice.slash(world.channel, "explore", topic="量子力学")).response

    assert not message.attachments
    assert not [c for c in components_of(message) if c["type"] == MEDIA_GALLERY]
    text = card_text(message)
    assert "cannot draw some characters of this map (量" in text
    assert "- 波動関数\n- 不確定性原理" in text


async def expected_card_picture(
    world: World, kinapse: Kinapse, key: str, opened: set[str]
) -> Image.Image:
    """The map card's picture drawn straight from the stored concepts, with exactly the
    concepts titled ``opened`` explored: what a card counting them must show."""
    found = await kinapse.storage.find_map(world.guild.id, key)
    concepts = await kinapse.storage.map_concepts(found.id)
    nodes = [Node(c.id, c.parent_id, c.title, c.title in opened) for c in concepts]
    renderer = kinapse.explorer.pictures.renderer
    picture = await renderer.draw(found.topic, nodes, None, whole=False)
    image = Image.open(io.BytesIO(picture.png))
    image.load()
    return image


def current(world: World, message_id: int):
    """The message as it is now (after any edits), with its raw components, to read it."""
    return world.env.backend.get_message(world.channel.id, message_id)


async def picture_now(world: World, message_id: int, viewer=None) -> Image.Image:
    """The picture the message shows now (to ``viewer``, for a private message)."""
    [message] = [m for m in world.channel.history(viewer=viewer) if m.id == message_id]
    return await picture_of(current(world, message_id), message.attachments)


def explored_line(message) -> str:
    return next(line for line in small_lines(message) if "concepts explored" in line)


async def test_the_map_card_picture_shows_the_cards_own_counts(world: World, kinapse: Kinapse):
    """Back to the overview after opening a concept: the card says one concept explored,
    and its picture (drawn within the answer) shows that concept explored, not the picture
    drawn before it was opened."""
    first = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    before = await picture_of(message)
    assert (
        before.tobytes()
        == (await expected_card_picture(world, kinapse, "ai agents", set())).tobytes()
    )
    card = (await click_open(world.alice, message, first.title)).response

    back = (await world.alice.click(card, label="Back")).response

    assert heading(back) == "AI Agents" and " 1 of " in explored_line(back)
    shown = await picture_of(back)
    expected = await expected_card_picture(world, kinapse, "ai agents", {first.title})
    assert shown.tobytes() == expected.tobytes() != before.tobytes()
    # Someone else's /explore of the map just after: the same counts, the same picture.
    other = (await world.bob.slash(world.channel, "explore", topic="AI Agents")).response
    assert " 1 of " in explored_line(other)
    assert (await picture_of(other)).tobytes() == expected.tobytes()


def slow_pictures(kinapse: Kinapse, seconds: float) -> None:
    """Every picture drawn from now on takes ``seconds`` longer on SimCord's clock, which
    moves when the test advances it."""
    renderer = kinapse.explorer.pictures.renderer
    real_png = renderer.png

    async def slow(dot: str) -> bytes:
        await asyncio.sleep(seconds)
        return await real_png(dot)

    renderer.png = slow


async def test_a_map_card_whose_picture_is_slow_gets_it_edited_in(world: World, kinapse: Kinapse):
    """A picture that is not drawn within the answer: the card goes without it (saying it
    is being drawn, never with the picture of the map before), then is edited with the
    picture of its own counts."""
    first = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, first.title)).response
    slow_pictures(kinapse, 30)

    sent = len(world.env.http_requests)
    await world.alice.click(card, label="Back")
    await world.env.advance_time(1)  # the card waits for its picture less than a second

    answer, *edits = [r.json for r in world.env.http_requests[sent:] if r.method != "GET"]
    data = answer["data"]  # the answer to the press, as sent
    text = "\n".join(c["content"] for c in walk(data["components"]) if "content" in c)
    assert "# AI Agents" in text and " 1 of " in text and "Drawing the map's picture" in text
    assert not data.get("attachments")
    assert not edits
    await world.env.advance_time(30)  # the picture is drawn
    edited = current(world, message.id)
    assert heading(edited) == "AI Agents" and " 1 of " in explored_line(edited)
    assert "Drawing the map's picture" not in card_text(edited)
    expected = await expected_card_picture(world, kinapse, "ai agents", {first.title})
    assert (await picture_now(world, message.id)).tobytes() == expected.tobytes()


async def test_a_slow_picture_does_not_replace_the_card_the_reader_moved_to(
    world: World, kinapse: Kinapse
):
    """The reader opens a concept before the overview's picture is drawn: the concept's
    card stays; the picture is not edited over it."""
    bundled = kinapse.bundled.find("ai agents")
    first, second = bundled.concepts[0], bundled.concepts[1]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, first.title)).response
    slow_pictures(kinapse, 30)
    back = (await world.alice.click(card, label="Back")).response
    await world.env.advance_time(1)
    assert "Drawing the map's picture" in card_text(current(world, message.id))

    moved = (await click_open(world.alice, back, second.title)).response
    await world.env.settle()

    assert heading(moved) == second.title
    now = current(world, message.id)
    assert heading(now) == second.title and not now.attachments


async def test_a_private_map_card_gets_its_slow_picture_edited_in(world: World, kinapse: Kinapse):
    """Bob's private copy of the overview, from Alice's concept card: sent without the
    picture that is not drawn in time, then edited with it (through the interaction that
    sent it: a private message has no other way to be edited)."""
    first = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, first.title)).response
    slow_pictures(kinapse, 30)

    copy = await world.bob.click(card, label="Overview")
    await world.env.advance_time(1)

    assert copy.ephemeral and copy.response.id != message.id
    assert "Drawing the map's picture" in card_text(current(world, copy.response.id))
    await world.env.advance_time(30)
    edited = current(world, copy.response.id)
    assert heading(edited) == "AI Agents" and " 1 of " in explored_line(edited)
    assert "Drawing the map's picture" not in card_text(edited)
    expected = await expected_card_picture(world, kinapse, "ai agents", {first.title})
    assert (await picture_now(world, copy.response.id, world.bob)).tobytes() == expected.tobytes()
