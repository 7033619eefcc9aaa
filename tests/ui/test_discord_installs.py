"""Install anywhere: guild and user installs, DMs, and servers that did not install Kinapse."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord
from simcord import interactions as simcord_interactions

from bot.ui.context import scope_of
from tests.support.harness import (
    Kinapse,
    World,
    click_open,
    heading,
    labels,
    sections,
    small_lines,
)

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


@pytest.fixture
def installed_in(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Servers that did not install Kinapse, each with the member whose own install brings
    it there: every interaction in such a server carries that member in
    ``authorizing_integration_owners``, as Discord sends it for a user install, whoever
    presses (SimCord 3.2.1 sends it empty)."""
    servers: dict[int, int] = {}
    original = simcord_interactions.base_payload

    def base_payload(backend: Any, **fields: Any) -> tuple[Any, dict[str, Any]]:
        record, payload = original(backend, **fields)
        installer = servers.get(fields["guild_id"])
        if installer is not None:
            payload["authorizing_integration_owners"] = {str(USER_INSTALL): str(installer)}
        return record, payload

    monkeypatch.setattr(simcord_interactions, "base_payload", base_payload)
    return servers


async def test_every_member_can_use_a_card_a_user_install_posted(
    world: World, kinapse: Kinapse, installed_in: dict[int, int]
):
    elsewhere = world.env.create_guild(name="Elsewhere")
    channel = elsewhere.create_text_channel("general")
    carol = elsewhere.add_member(world.env.create_user("carol"))
    dave = elsewhere.add_member(world.env.create_user("dave"))  # never installed Kinapse
    installed_in[elsewhere.id] = carol.id
    card = (await carol.slash(channel, "explore", topic="AI Agents")).response
    first = kinapse.bundled.find("ai agents").concepts[0]

    pressed = await click_open(dave, card, first.title)

    copy = pressed.response
    assert pressed.ephemeral and heading(copy) == first.title  # his own copy of her card
    form = await dave.click(copy, label="Ask")
    answered = await dave.submit_modal(form, {"question": "Why does it matter?"})
    assert "Share" in labels(answered.response)
    # All of it in Carol's maps, the scope of the install that posted the card.
    mine = await kinapse.storage.find_map(carol.id, "ai agents")
    assert mine is not None and mine.opened == 1
    assert await kinapse.storage.find_map(dave.id, "ai agents") is None
    assert await kinapse.storage.find_map(elsewhere.id, "ai agents") is None


def interaction_from(bot: Any, payload: dict[str, Any]) -> discord.Interaction:
    return discord.Interaction(data=payload, state=bot._connection)


async def test_a_press_in_a_group_dm_reaches_the_installers_maps(world: World, kinapse: Kinapse):
    """SimCord 3.2.1 has no group DMs: the press is the payload Discord's API reference
    gives for a button in a group DM (context 2, a channel of type 3, the presser as
    ``user``, the member whose install posted the card in ``authorizing_integration_owners``)."""
    carol, dave = 4_000_000_001, 4_000_000_002
    payload = {
        "id": "4000000010",
        "application_id": str(kinapse.bot.application_id),
        "type": 3,
        "token": "a-token",
        "version": 1,
        "data": {"custom_id": "kin:open:1", "component_type": 2},
        "channel_id": "4000000020",
        "channel": {"id": "4000000020", "type": 3, "recipients": []},
        "user": {"id": str(dave), "username": "dave", "discriminator": "0", "avatar": None},
        "authorizing_integration_owners": {str(USER_INSTALL): str(carol)},
        "context": PRIVATE_CHANNEL,
        "locale": "en-US",
        "entitlements": [],
        "app_permissions": "0",
        "attachment_size_limit": 26_214_400,
    }
    assert scope_of(interaction_from(kinapse.bot, payload)) == carol
    # In Carol's own DM with the bot, and in a server that installed Kinapse, as before.
    payload["user"]["id"] = str(carol)
    assert scope_of(interaction_from(kinapse.bot, payload)) == carol
    payload.update(guild_id="4000000030", context=GUILD)
    payload["authorizing_integration_owners"] = {str(GUILD_INSTALL): "4000000030"}
    assert scope_of(interaction_from(kinapse.bot, payload)) == 4000000030


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
