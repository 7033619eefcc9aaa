"""/explore and the drill-down buttons, through SimCord driving the unmodified bot."""

from __future__ import annotations

from tests.support.harness import (
    COMPONENTS_V2_FLAG,
    Kinapse,
    World,
    concept_lines,
    heading,
    labels,
    small_lines,
    texts,
)


async def test_explore_bundled_topic_answers_with_the_map_card(world: World, kinapse: Kinapse):
    result = await world.alice.slash(world.channel, "explore", topic="ai agents")

    assert result.acknowledged and not result.deferred and not result.ephemeral
    card = result.response
    assert card.flags.value & COMPONENTS_V2_FLAG and not card.embeds and not card.content
    assert heading(card) == "AI Agents"
    assert texts(card)[0].splitlines()[1].startswith("AI agents are software systems")
    bundled = kinapse.bundled.find("ai agents")
    assert concept_lines(card) == [
        f"{n} · {c.title}" for n, c in enumerate(bundled.concepts, start=1)
    ]
    assert labels(card) == ["Open"] * len(bundled.concepts) + ["Sources", "Ask", "Quiz"]
    curated = f"Curated · as of {bundled.as_of}" if bundled.as_of else "Curated map"
    assert small_lines(card)[-1].startswith(f"{curated} · ")
