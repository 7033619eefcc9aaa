"""SimCord fixtures: the real, unmodified bot on a real SQLite file, restartable.

``simcord_bot`` builds the bot the way ``python -m bot`` does; ``kinapse``
gives tests the pieces (explorer, generator, a restart that closes the
database and opens it again, as a new process would). After every test the
recorded requests are checked: every message-bearing request says
allowed_mentions with nothing to parse, and custom_ids are unique per message.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import simcord

from bot.client import KinapseBot
from bot.config import PROJECT_ROOT, Settings
from bot.explorer import Explorer
from bot.generator import AnthropicGenerator, Generator
from bot.maps import BundledMaps
from bot.prompts import load_prompts
from bot.storage import Storage
from tests.fakes import FakeGenerator
from tests.standin import StandIn

MESSAGE_ROUTES = ("/messages", "/callback", "/webhooks/")


@dataclass
class Kinapse:
    """The bot under test and what it stands on."""

    settings: Settings
    bundled: BundledMaps
    generator: Generator | None
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    explorer: Explorer | None = None
    bot: KinapseBot | None = None

    async def build(self) -> KinapseBot:
        storage = await self.stack.enter_async_context(Storage.open(self.settings.database))
        self.explorer = Explorer(storage, self.bundled, self.settings, self.generator)
        self.bot = KinapseBot(self.settings, self.explorer)
        return self.bot

    async def restart(self, env: simcord.Env) -> KinapseBot:
        """Stop the bot and close the database, then start a new bot on the same file."""
        await env.settle()
        old = self.stack
        self.stack = contextlib.AsyncExitStack()
        bot = await self.build()
        await env.restart_bot(bot)
        await old.aclose()
        return bot

    @property
    def storage(self) -> Storage:
        assert self.explorer is not None
        return self.explorer.storage


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_generator: run the bot with no API key")
    config.addinivalue_line("markers", "anthropic: the real generator against the stand-in")


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    return Settings(
        database=tmp_path / "kinapse.db",
        maps_dir=PROJECT_ROOT / "maps",
        anthropic_api_key="test-key",
    )


@pytest.fixture
def bundled_maps(bot_settings: Settings) -> BundledMaps:
    return BundledMaps.load(bot_settings.maps_dir)


@pytest.fixture
async def generator(
    request: pytest.FixtureRequest, standin: StandIn
) -> AsyncIterator[Generator | None]:
    """A FakeGenerator; none with ``no_generator``; the real Anthropic one, talking to
    the local stand-in Messages API, with ``anthropic``."""
    if request.node.get_closest_marker("no_generator"):
        yield None
    elif request.node.get_closest_marker("anthropic"):
        settings = standin.settings()
        real = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
        try:
            yield real
        finally:
            await real.aclose()
    else:
        yield FakeGenerator()


@pytest.fixture
async def kinapse(
    bot_settings: Settings, bundled_maps: BundledMaps, generator: Generator | None
) -> AsyncIterator[Kinapse]:
    harness = Kinapse(bot_settings, bundled_maps, generator)
    try:
        yield harness
    finally:
        await harness.stack.aclose()


@pytest.fixture
async def simcord_bot(kinapse: Kinapse) -> KinapseBot:
    return await kinapse.build()


@dataclass
class World:
    env: simcord.Env
    guild: Any
    channel: Any
    alice: Any
    bob: Any


@pytest.fixture
async def world(simcord_env: simcord.Env) -> AsyncIterator[World]:
    """A server with a channel and two members, and the request checks after the test."""
    guild = simcord_env.create_guild(name="Kinapse Test")
    channel = guild.create_text_channel("explore")
    alice = guild.add_member(simcord_env.create_user("alice"))
    bob = guild.add_member(simcord_env.create_user("bob"))
    yield World(simcord_env, guild, channel, alice, bob)
    check_requests(simcord_env.http_requests)


def check_requests(requests: list[simcord.HttpLogEntry]) -> None:
    for entry in requests:
        body = entry.json
        if entry.method not in ("POST", "PATCH") or not isinstance(body, dict):
            continue
        if not any(part in entry.path for part in MESSAGE_ROUTES):
            continue
        data = body.get("data", body) if "/callback" in entry.path else body
        if not isinstance(data, dict) or not _bears_message(data):
            continue
        mentions = data.get("allowed_mentions")
        assert mentions is not None, f"{entry.method} {entry.path} has no allowed_mentions"
        assert mentions.get("parse") == [], f"{entry.path} allows mentions: {mentions}"
        assert not mentions.get("users") and not mentions.get("roles"), mentions
        ids = [c["custom_id"] for c in _components(data.get("components") or [])]
        assert len(ids) == len(set(ids)), f"duplicate custom_ids in {entry.path}: {ids}"
        assert all(len(i) <= 100 for i in ids), ids


def _bears_message(data: dict) -> bool:
    return any(key in data for key in ("content", "embeds", "components"))


def _components(components: list[dict]) -> list[dict]:
    found = []
    for component in components:
        if "custom_id" in component:
            found.append(component)
        found += _components(component.get("components") or [])
    return found
