"""Admin commands (Manage Server): forget a map, settings, usage."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from simcord import interactions as simcord_interactions

from bot.errors import KinapseError
from bot.models import Level
from bot.storage import ScopeSettings
from tests.support.harness import Kinapse, World, click_open, small_lines


@pytest.fixture
def admin(world: World):
    role = world.guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return world.guild.add_member(world.env.create_user("root"), roles=[role])


async def test_forget_deletes_the_servers_map_and_curated_maps_come_back_fresh(
    world: World, kinapse: Kinapse, admin
):
    bundled = kinapse.bundled.find("ai agents")
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    first = bundled.concepts[0]
    card = (await click_open(world.alice, message, first.title)).response
    assert (await kinapse.storage.find_map(world.guild.id, "ai agents")).opened == 1

    result = await admin.slash(world.channel, "kinapse forget", topic="ai agents")
    assert result.ephemeral and result.response.content == "Forgot the map of AI Agents."
    assert await kinapse.storage.find_map(world.guild.id, "ai agents") is None
    assert await kinapse.storage.get_session(message.id) is None

    fresh = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    assert "0 of" in small_lines(fresh)[-1]

    # The old message's buttons now say so instead of failing.
    stale = await click_open(world.alice, card, first.children[0].title)
    assert stale.ephemeral and "no longer exists" in stale.response.content


async def test_forget_an_unknown_map_says_so(world: World, kinapse: Kinapse, admin):
    result = await admin.slash(world.channel, "kinapse forget", topic="Nothing Here")
    assert result.ephemeral and "no map called Nothing Here" in result.response.content
    assert len(world.env.errors) == 1


async def test_settings_change_language_and_budget(world: World, kinapse: Kinapse, admin):
    result = await admin.slash(
        world.channel, "kinapse settings", language="Deutsch", daily_budget=5000
    )
    assert result.response.content.startswith(
        "Language: **German** · level: **standard** · daily generation budget: **5,000** tokens\n"
        "Sources: **web**"
    )
    await world.alice.slash(world.channel, "explore", topic="Quantenphysik")
    assert kinapse.generator.calls[-1].language == "de"  # "Deutsch", as its tag
    shown = await admin.slash(world.channel, "kinapse settings")
    assert "**5,000**" in shown.response.content


async def test_settings_level_shapes_new_maps_and_shows_in_their_footer(
    world: World, kinapse: Kinapse, admin
):
    result = await admin.slash(world.channel, "kinapse settings", level="intro")
    assert result.ephemeral
    assert "level: **intro**" in result.response.content
    card = (await world.alice.slash(world.channel, "explore", topic="Quantum Physics")).response
    assert kinapse.generator.calls[-1].level is Level.INTRO
    assert "· for beginners ·" in small_lines(card)[-1]
    assert (await kinapse.storage.find_map(world.guild.id, "quantum physics")).level is Level.INTRO
    # Changing the language keeps the level.
    shown = await admin.slash(world.channel, "kinapse settings", language="fr")
    assert "level: **intro**" in shown.response.content


async def test_usage_reports_tokens_calls_and_top_users_without_pinging(
    world: World, kinapse: Kinapse, admin
):
    await world.alice.slash(world.channel, "explore", topic="Quantum Knitting")
    result = await admin.slash(world.channel, "kinapse usage")
    text = result.response.content
    assert "Today: **150** tokens in 1 calls" in text
    assert f"<@{world.alice.id}> (150)" in text


async def test_members_without_manage_server_are_refused(world: World, kinapse: Kinapse):
    """/kinapse is offered to every member for its leaderboard (issue 22); its managing
    commands refuse whoever lacks Manage Server, and change nothing."""
    commands = world.alice.available_commands(world.channel)
    assert "explore" in commands and "kinapse leaderboard" in commands
    for command, options in (
        ("kinapse settings", {"daily_budget": 1}),
        ("kinapse usage", {}),
        ("kinapse forget", {"topic": "AI Agents"}),
    ):
        refused = await world.alice.slash(world.channel, command, **options)
        assert refused.response.ephemeral
        assert refused.response.content == "You need the Manage Server permission for this command."
    assert (await kinapse.storage.scope_settings(world.guild.id)).daily_token_budget is None
    assert len(world.env.errors) == 3


@pytest.fixture
def by_hand(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Option values sent as a request made by hand would send them, past the client's
    checks (SimCord checks options as Discord's client does): each named option of the
    next command is replaced with its value here."""
    raw: dict[str, object] = {}
    original = simcord_interactions.base_payload

    def base_payload(backend: Any, **fields: Any) -> tuple[Any, dict[str, Any]]:
        record, payload = original(backend, **fields)
        for option in _options(payload["data"]):
            if option.get("name") in raw:
                option["value"] = raw[option["name"]]
        return record, payload

    monkeypatch.setattr(simcord_interactions, "base_payload", base_payload)
    return raw


def _options(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for option in data.get("options") or []:
        found.append(option)
        found.extend(_options(option))
    return found


@pytest.mark.parametrize(
    ("option", "sent", "says"),
    [
        ("daily_budget", -5, "The daily budget is a number of tokens from 0 to 100,000,000."),
        ("daily_budget", 10**30, "The daily budget is a number of tokens from 0 to 100,000,000."),
        (
            "language",
            "Klingon " * 50,
            "A language is 1 to 35 characters, for example English or de.",
        ),
        ("level", "wizard", "Choose a level from the list: intro, standard, expert."),
        ("sources", "maybe", "Sources are web or off."),
        (
            "block_sites",
            "spam.example, " * 30,
            "A list of sites is at most 300 characters, for example iea.org, eia.gov.",
        ),
    ],
)
async def test_settings_are_checked_by_the_bot_whatever_the_client_sent(
    world: World, kinapse: Kinapse, admin, by_hand: dict[str, object], option, sent, says
):
    valid = {
        "daily_budget": 5000,
        "language": "Deutsch",
        "level": "expert",
        "sources": "off",
        "block_sites": "spam.example",
    }[option]
    by_hand[option] = sent

    result = await admin.slash(world.channel, "kinapse settings", **{option: valid})

    assert result.ephemeral and result.response.content == says
    assert await kinapse.storage.scope_settings(world.guild.id) == ScopeSettings()  # unchanged
    assert [type(e.__cause__) for e in world.env.errors] == [KinapseError]  # no apology
