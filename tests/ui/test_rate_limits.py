"""Discord's rate limits, through discord.py's own HTTP client (issue 26).

SimCord bypasses discord.py's HTTP client, so these tests run the bot's new-topic flow
(``map_new_topic``, as /explore runs it) on a real ``discord.Interaction`` built from an
interaction payload as Discord sends it, whose responses and edits go through
discord.py's client over HTTP to a small local server answering as Discord's API does
(``tests/support/discord_api.py``). The map itself streams from the Anthropic
stand-in through the real SDK, into a real SQLite file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.explore import Explorer
from bot.generator import AnthropicGenerator
from bot.maps import BundledMaps
from bot.prompts import load_prompts
from bot.storage import open_storage
from bot.ui import live
from bot.ui.flows.new_topic import map_new_topic
from tests.support import standin as s
from tests.support.discord_api import APPLICATION_ID, DiscordAPI

GUILD, CHANNEL, MEMBER = 1_300_000_000_000_000_000, 1_300_000_000_000_000_001, 1_300_000_000_002
TOPIC = "Volcanoes"


@pytest.fixture
async def discord_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordAPI]:
    api = DiscordAPI()
    await api.start()
    # discord.py's client and its webhook adapter (interaction responses) build every URL
    # from this one base.
    monkeypatch.setattr(discord.http.Route, "BASE", api.base_url)
    try:
        yield api
    finally:
        await api.stop()


def slash_command(interaction_id: int) -> dict[str, Any]:
    """/explore topic:Volcanoes in a server channel, as Discord sends the interaction."""
    user = {"id": str(MEMBER), "username": "alice", "discriminator": "0", "avatar": None}
    return {
        "id": str(interaction_id),
        "application_id": str(APPLICATION_ID),
        "type": 2,
        "token": "interaction-token",
        "version": 1,
        "data": {
            "id": "1300000000000000099",
            "name": "explore",
            "type": 1,
            "options": [{"name": "topic", "type": 3, "value": TOPIC}],
        },
        "guild_id": str(GUILD),
        "channel_id": str(CHANNEL),
        "channel": {
            "id": str(CHANNEL),
            "type": 0,
            "guild_id": str(GUILD),
            "name": "general",
            "position": 0,
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "flags": 0,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "permissions": "2248473465835073",
        },
        "member": {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "flags": 0,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "pending": False,
            "deaf": False,
            "mute": False,
            "permissions": "2248473465835073",
        },
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(GUILD)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }


def texts(components: list[dict[str, Any]]) -> list[str]:
    """Every text display of a message's components, nested ones included."""
    found = []
    for component in components:
        if "content" in component:
            found.append(component["content"])
        found += texts(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            found += texts([component["accessory"]])
    return found


async def explore_a_new_topic(
    discord_api: DiscordAPI, standin: s.StandIn, tmp_path: Path
) -> Explorer:
    """The new-topic flow of /explore, to its end, on discord.py's real client."""
    client = discord.Client(intents=discord.Intents.default())
    # As discord.py's login: GET /users/@me opens the client's session, names the bot.
    me = await client.http.static_login("bot-token")
    client._connection.user = discord.ClientUser(state=client._connection, data=me)
    settings = standin.settings(database=tmp_path / "kinapse.db")
    generator = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
    try:
        async with open_storage(settings.database) as storage:
            explorer = Explorer(storage, BundledMaps.load(settings.maps_dir), settings, generator)
            client.explorer = explorer  # type: ignore[attr-defined]  # as KinapseBot holds it
            created = discord.utils.time_snowflake(datetime.now(UTC))
            interaction = discord.Interaction(data=slash_command(created), state=client._connection)
            await map_new_topic(interaction, TOPIC)
            assert await explorer.topics.lookup(GUILD, TOPIC) is not None  # the map is stored
            return explorer
    finally:
        await generator.aclose()
        await client.http.close()


async def test_a_card_whose_every_edit_is_rate_limited_ends_as_the_map_once_the_limit_passes(
    discord_api: DiscordAPI, standin: s.StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "STREAM_EDIT_INTERVAL", 0.2)
    standin.rate, standin.chunk = 2_000.0, 40
    standin.script(s.answer(s.valid_map(5, title=TOPIC)))
    # Every edit of the card is answered 429 for 5 s, each saying to retry after 0.1 s
    # (discord.py retries one request 5 times, then raises): the "Mapping…" line, the
    # streamed states, and the final card's first tries.
    discord_api.retry_after = 0.1
    discord_api.limit_for(5.0)

    await explore_a_new_topic(discord_api, standin, tmp_path)

    refused = [edit for edit in discord_api.edits if edit.status == 429]
    landed = [edit for edit in discord_api.edits if edit.status == 200]
    assert refused and all(edit.at < discord_api.limited_until for edit in refused)
    # The final edit landed once the limit passed, and the card is the map.
    assert landed and landed[-1].at >= discord_api.limited_until
    assert discord_api.shown is not None
    shown = "\n".join(texts(discord_api.shown["components"]))
    assert "Mapping" not in shown
    assert f"# {TOPIC}" in shown and "Key concept 1" in shown


async def test_a_card_that_is_never_rate_limited_takes_no_extra_edit(
    discord_api: DiscordAPI, standin: s.StandIn, tmp_path: Path
):
    standin.script(s.answer(s.valid_map(5, title=TOPIC)))

    await explore_a_new_topic(discord_api, standin, tmp_path)

    assert all(edit.status == 200 for edit in discord_api.edits)
    assert discord_api.callbacks == [{"type": 5}]  # "thinking…", as Discord shows it
    shown = "\n".join(texts(discord_api.shown["components"])) if discord_api.shown else ""
    assert f"# {TOPIC}" in shown and "Key concept 1" in shown
