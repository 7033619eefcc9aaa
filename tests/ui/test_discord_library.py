"""Every bundled map through Discord, and command sync across restarts."""

from __future__ import annotations

from tests.support.harness import Kinapse, World, card_text, click_open, heading, small_lines


async def test_every_bundled_map_opens_down_to_its_first_sub_concept(
    world: World, kinapse: Kinapse
):
    assert len(kinapse.bundled.maps) == 14
    for bundled in kinapse.bundled.maps:
        card = (await world.alice.slash(world.channel, "explore", topic=bundled.topic)).response
        assert heading(card) == bundled.topic
        curated = f"Curated · as of {bundled.as_of}" if bundled.as_of else "Curated map"
        assert small_lines(card)[-1].startswith(f"{curated} · ")
        first = bundled.concepts[0]
        card = (await click_open(world.alice, card, first.title)).response
        assert heading(card) == first.title
        sub = first.children[0]
        card = (await click_open(world.alice, card, sub.title)).response
        assert heading(card) == sub.title
        assert small_lines(card)[0] == f"{bundled.topic} › {first.title}"
        assert sub.summary in card_text(card)
        # The server's stored copy still shows the date of the file it came from.
        assert small_lines(card)[-1].startswith(f"{curated} · ")


def command_syncs(world: World) -> int:
    return sum(
        1 for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")
    )


async def test_commands_sync_once_and_not_again_after_a_restart(world: World, kinapse: Kinapse):
    assert command_syncs(world) == 1
    await kinapse.restart(world.env)
    assert command_syncs(world) == 1
    result = await world.alice.slash(world.channel, "explore", topic="Blockchain")
    assert heading(result.response) == "Blockchain"


async def test_a_changed_command_definition_is_synced_at_start(world: World, kinapse: Kinapse):
    await kinapse.storage.set_meta("commands_hash", "an older definition")
    await kinapse.restart(world.env)
    assert command_syncs(world) == 2
