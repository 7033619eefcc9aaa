"""/export through Discord: a private message with the map's file attached."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.models import MapTree, Source
from bot.render.export import ExportFormat
from tests.support.fakes import draft
from tests.support.harness import Kinapse, World


async def test_export_attaches_the_file_privately_with_every_explored_concept(
    world: World, kinapse: Kinapse
):
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    bundled = kinapse.bundled.find("ai agents")
    assert bundled is not None
    # A third level, beyond the bundled file, explored in this server.
    stored = await kinapse.explorer.topics.lookup(world.guild.id, "AI Agents")
    first = (await kinapse.storage.key_concepts(stored.id))[0]
    grown = (await kinapse.storage.children(first.id))[0]
    await kinapse.storage.store_expansion(
        grown.id, [draft("Deep One"), draft("Deep Two"), draft("Deep Three")], leaf=False
    )
    assert card is not None

    result = await world.bob.slash(world.channel, "export", topic="ai agents", format="opml")
    assert result.ephemeral
    assert result.response.content == "**AI Agents** · OPML (outliners, mind-map apps)"
    [attachment] = result.response.attachments
    assert attachment.filename == "ai-agents.opml"
    opml = ET.fromstring(await attachment.read())
    titles = [o.get("text") for o in opml.iter("outline")]
    expected = MapTree.of_bundled(bundled)
    assert titles[0] == "AI Agents"
    assert {c.title for _, c in expected.walk()} < set(titles)
    assert {"Deep One", "Deep Two", "Deep Three"} < set(titles)

    result = await world.bob.slash(world.channel, "export", topic="AI Agents", format="json")
    [attachment] = result.response.attachments
    tree = MapTree.model_validate_json(await attachment.read())
    assert [c.title for c in tree.concepts] == [c.title for c in bundled.concepts]


async def test_export_of_an_unknown_topic_says_so(world: World):
    result = await world.alice.slash(world.channel, "export", topic="Nowhere Map", format="html")
    assert result.ephemeral
    assert "no map called Nowhere Map yet" in result.response.content
    assert not result.response.attachments
    assert len(world.env.errors) == 1


async def test_export_autocompletes_topics_like_explore(world: World):
    choices = await world.alice.autocomplete(world.channel, "export", "topic", "ai ag")
    assert [c["name"] for c in choices][:1] == ["AI Agents"]


async def test_a_concept_with_more_sub_concepts_than_maps_have_now_still_exports(
    world: World, kinapse: Kinapse
):
    """Older versions stored up to eight sub-concepts (and a map of eight key concepts);
    the limits are for writing maps, and an export shows what is stored."""
    many = [draft(f"Older part {n}") for n in range(1, 9)]
    stored = await kinapse.storage.create_map(
        scope=world.guild.id,
        key="tides",
        topic="Tides",
        language="en",
        overview="Tides are the rise and fall of the sea. The Moon drives them.",
        source=Source.GENERATED,
        model="claude-sonnet-4-6",
        concepts=[draft(f"Tide part {n}") for n in range(1, 9)],
        now=0.0,
    )
    first = (await kinapse.storage.key_concepts(stored.id))[0]
    await kinapse.storage.store_expansion(first.id, many, leaf=False)

    files = {}
    for fmt in ExportFormat:
        result = await world.alice.slash(world.channel, "export", topic="Tides", format=fmt.value)
        [attachment] = result.response.attachments
        files[fmt] = (await attachment.read()).decode()
        assert all(f"Older part {n}" in files[fmt] for n in range(1, 9)), fmt
    tree = MapTree.model_validate_json(files[ExportFormat.JSON])  # and reads back
    assert len(tree.concepts) == 8 and len(tree.concepts[0].children) == 8
