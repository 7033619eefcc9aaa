"""The map picture on the map card and behind every concept card's Map button."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from bot.models import BundledMap
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
)

MEDIA_GALLERY = 12


async def picture_of(message) -> Image.Image:
    """The PNG the card shows in its media gallery, opened as an image."""
    [gallery] = [c for c in components_of(message) if c["type"] == MEDIA_GALLERY]
    assert gallery["items"][0]["media"]["url"].endswith("/map.png")
    [attachment] = message.attachments
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


async def test_the_map_card_shows_the_last_picture_while_its_new_version_is_drawn(
    world: World, kinapse: Kinapse
):
    """Opening a concept changes the map's picture; the next map card does not wait for
    the drawing: it shows the picture drawn last, and the one after shows the new one."""
    first = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    before = await picture_of(message)
    await click_open(world.alice, message, first.title)  # one more concept explored

    renderer = kinapse.explorer.pictures.renderer
    real_png = renderer.png

    async def slow(dot: str) -> bytes:
        await asyncio.sleep(60)  # a drawing far slower than the card may wait
        return await real_png(dot)

    renderer.png = slow
    again = (await world.bob.slash(world.channel, "explore", topic="AI Agents")).response
    assert heading(again) == "AI Agents"
    assert (await picture_of(again)).tobytes() == before.tobytes()

    await world.env.advance_time(61)  # the new version is drawn meanwhile
    renderer.png = real_png
    newer = (await world.bob.slash(world.channel, "explore", topic="AI Agents")).response
    assert (await picture_of(newer)).tobytes() != before.tobytes()
