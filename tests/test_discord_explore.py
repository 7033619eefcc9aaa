"""/explore and the drill-down buttons, through SimCord driving the unmodified bot."""

from __future__ import annotations

from tests.harness import Kinapse, World


async def test_explore_bundled_topic_answers_with_the_map_card(world: World, kinapse: Kinapse):
    result = await world.alice.slash(world.channel, "explore", topic="ai agents")

    assert result.acknowledged and not result.deferred and not result.ephemeral
    card = result.response.embeds[0]
    assert card.title == "AI Agents"
    assert card.description.startswith("AI agents are software systems")
    bundled = kinapse.bundled.find("ai agents")
    assert [f.name for f in card.fields] == [
        f"{n} · {c.title}" for n, c in enumerate(bundled.concepts, start=1)
    ]
    labels = [b["label"] for row in result.response.components for b in row["components"]]
    assert labels == [f"{n} · {c.title}" for n, c in enumerate(bundled.concepts, start=1)]
    curated = f"Curated · as of {bundled.as_of}" if bundled.as_of else "Curated map"
    assert card.footer.text.startswith(f"{curated} · ")
