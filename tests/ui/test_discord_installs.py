"""Install anywhere: guild and user installs, DMs, and servers that did not install Kinapse."""

from __future__ import annotations

from typing import Any

import pytest
import simcord
from simcord import interactions as simcord_interactions

from tests.support.harness import Kinapse, World, click_open, heading, sections, small_lines

GUILD_INSTALL, USER_INSTALL = 0, 1
GUILD, BOT_DM, PRIVATE_CHANNEL = 0, 1, 2


@pytest.fixture
def user_installed(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """Users whose interactions come from Kinapse installed to their own account.

    SimCord 3.2.1 simulates guild installs only: every interaction it sends has empty
    ``authorizing_integration_owners``. For these users, it is filled in as Discord does
    for a user install used in a server that did not install the app: ``{"1": user_id}``.
    """
    users: set[int] = set()
    original = simcord_interactions.base_payload

    def base_payload(backend: Any, **fields: Any) -> tuple[Any, dict[str, Any]]:
        record, payload = original(backend, **fields)
        if fields["user_id"] in users:
            payload["authorizing_integration_owners"] = {str(USER_INSTALL): str(fields["user_id"])}
        return record, payload

    monkeypatch.setattr(simcord_interactions, "base_payload", base_payload)
    return users


def synced_commands(world: World) -> dict[str, dict]:
    [sync] = [
        r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")
    ]
    return {command["name"]: command for command in sync.json}


async def test_commands_are_declared_for_both_installs_and_admin_for_servers_only(world: World):
    commands = synced_commands(world)
    for name in ("explore", "maps", "export"):
        assert sorted(commands[name]["integration_types"]) == [GUILD_INSTALL, USER_INSTALL]
        assert sorted(commands[name]["contexts"]) == [GUILD, BOT_DM, PRIVATE_CHANNEL]
    assert commands["kinapse"]["integration_types"] == [GUILD_INSTALL]
    assert commands["kinapse"]["contexts"] == [GUILD]


async def test_a_user_install_in_a_server_without_kinapse_uses_the_members_own_maps(
    world: World, kinapse: Kinapse, user_installed: set[int]
):
    elsewhere = world.env.create_guild(name="Elsewhere")
    channel = elsewhere.create_text_channel("general")
    carol_user = world.env.create_user("carol")
    carol = elsewhere.add_member(carol_user)
    user_installed.add(carol.id)

    card = (await carol.slash(channel, "explore", topic="AI Agents")).response
    assert heading(card) == "AI Agents"
    first = kinapse.bundled.find("ai agents").concepts[0]
    opened = await click_open(carol, card, first.title)
    assert heading(opened.response) == first.title and opened.response.id == card.id

    # Stored under carol, not under the server she used it in.
    mine = await kinapse.storage.find_map(carol.id, "ai agents")
    assert mine is not None and mine.opened == 1
    assert await kinapse.storage.find_map(elsewhere.id, "ai agents") is None
    session = await kinapse.storage.get_session(card.id)
    assert session is not None and session.scope == carol.id

    listing = (await carol.slash(channel, "maps")).response
    assert heading(listing) == "Your maps"
    assert sections(listing)[0][0] == "1. AI Agents"

    # Her DMs with Kinapse are the same scope: the map she explored is there.
    in_dm = await carol_user.slash("maps")
    assert sections(in_dm.response)[0][0] == "1. AI Agents"
    again = await carol_user.slash("explore", topic="ai agents")
    assert heading(again.response) == "AI Agents"
    assert "1 of" in small_lines(again.response)[-1]  # her explored concept, counted


async def test_admin_commands_are_not_offered_in_dms(world: World):
    with pytest.raises(simcord.SetupError, match="not visible"):
        await world.env.create_user("dora").slash("kinapse settings")


async def test_learning_commands_are_declared_where_they_work(world: World):
    commands = synced_commands(world)
    for name in ("review", "progress"):
        assert sorted(commands[name]["integration_types"]) == [GUILD_INSTALL, USER_INSTALL]
        assert sorted(commands[name]["contexts"]) == [GUILD, BOT_DM, PRIVATE_CHANNEL]
    # A quiz posts its questions as the bot: only where a server installed Kinapse.
    assert commands["quiz"]["integration_types"] == [GUILD_INSTALL]
    assert commands["quiz"]["contexts"] == [GUILD]


async def test_remember_and_review_with_a_user_install(
    world: World, kinapse: Kinapse, user_installed: set[int]
):
    """The deck is the member's own: Remember in a server that never installed Kinapse,
    /review in DMs; Quiz and Discuss there say what they need."""
    elsewhere = world.env.create_guild(name="Elsewhere")
    channel = elsewhere.create_text_channel("general")
    carol_user = world.env.create_user("carol")
    carol = elsewhere.add_member(carol_user)
    user_installed.add(carol.id)
    first = kinapse.bundled.find("ai agents").concepts[0]
    card = (await carol.slash(channel, "explore", topic="AI Agents")).response
    concept = (await click_open(carol, card, first.title)).response

    remembered = await carol.click(concept, label="Remember")
    assert "to your review deck" in remembered.response.content
    quiz = await carol.click(concept, label="Quiz")
    assert quiz.response.ephemeral and "where Kinapse is installed" in quiz.response.content
    discuss = await carol.click(concept, label="Discuss")
    assert discuss.response.ephemeral and "where Kinapse is installed" in discuss.response.content

    review = (await carol_user.slash("review")).response
    assert review.ephemeral and heading(review) == first.title
