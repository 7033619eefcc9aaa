"""SimCord fixtures: the real, unmodified bot on a real SQLite file, restartable.

``simcord_bot`` builds the bot the way ``python -m bot`` does; ``kinapse``
gives tests the pieces (explorer, generator, a restart that closes the
database and opens it again, as a new process would). After every test the
recorded requests are checked: every message-bearing request says
allowed_mentions with nothing to parse, custom_ids are unique per message, and a
Components V2 message stays within Discord's V2 limits and carries no content or
embeds (an edit into V2 clears them). The helpers at the end read a V2 card the
way a member sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import simcord

from bot.config import PROJECT_ROOT, Settings
from bot.explore import Explorer
from bot.generator import AnthropicGenerator, Generator
from bot.maps import BundledMaps
from bot.prompts import load_prompts
from bot.storage import Storage, open_storage
from bot.ui.client import KinapseBot
from bot.ui.limits import COMPONENTS_MAX, CUSTOM_ID_MAX, TEXT_TOTAL_MAX
from tests.support.fakes import FakeGenerator
from tests.support.standin import StandIn

MESSAGE_ROUTES = ("/messages", "/callback", "/webhooks/")
COMPONENTS_V2_FLAG = 1 << 15  # discord.MessageFlags.components_v2
UPDATE_MESSAGE = 7  # interaction callback type: edit the clicked message
MODAL = 9  # interaction callback type: open a form
MODAL_TITLE_MAX = 45
TEXT_INPUT = 4
TEXT_DISPLAY, SECTION, BUTTON, SELECT = 10, 9, 2, 3
OPEN = "kin:open:"


@dataclass
class Kinapse:
    """The bot under test and what it stands on."""

    settings: Settings
    bundled: BundledMaps
    generator: Generator | None
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    explorer: Explorer | None = None
    bot: KinapseBot | None = None
    _crashed: set[contextlib.AsyncExitStack] = field(default_factory=set)

    async def build(self) -> KinapseBot:
        storage = await self.stack.enter_async_context(open_storage(self.settings.database))
        explorer = self.explorer = Explorer(storage, self.bundled, self.settings, self.generator)
        # Before the database closes, what was answered is written, as runtime.py does;
        # unless the process "crashed".
        stack = self.stack

        async def close() -> None:
            if stack not in self._crashed:
                await explorer.aclose()

        self.stack.push_async_callback(close)
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

    async def crash(self, env: simcord.Env) -> KinapseBot:
        """As after a killed process, a new bot on the same database: the old one writes
        nothing more (no flush of what it answered; stop its writes in flight first, e.g.
        with ``faults.StalledWrites``), its connections are dropped."""
        old = self.stack
        self._crashed.add(old)
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
        shard_count=1,  # SimCord needs a count; on Discord, unset asks Discord for one
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
        if body.get("type") == MODAL:
            _check_modal(entry, data)
            continue
        if not isinstance(data, dict) or not _bears_message(data):
            continue
        mentions = data.get("allowed_mentions")
        assert mentions is not None, f"{entry.method} {entry.path} has no allowed_mentions"
        assert mentions.get("parse") == [], f"{entry.path} allows mentions: {mentions}"
        assert not mentions.get("users") and not mentions.get("roles"), mentions
        components = list(walk(data.get("components") or []))
        ids = [c["custom_id"] for c in components if "custom_id" in c]
        assert len(ids) == len(set(ids)), f"duplicate custom_ids in {entry.path}: {ids}"
        assert all(len(i) <= CUSTOM_ID_MAX for i in ids), ids
        if int(data.get("flags") or 0) & COMPONENTS_V2_FLAG:
            _check_v2(entry, data, components)


def _check_v2(entry: simcord.HttpLogEntry, data: dict, components: list[dict]) -> None:
    where = f"{entry.method} {entry.path}"
    assert len(components) <= COMPONENTS_MAX, f"{where}: {len(components)} components"
    text = sum(len(c["content"]) for c in components if c.get("type") == TEXT_DISPLAY)
    assert text <= TEXT_TOTAL_MAX, f"{where}: {text} characters of text"
    assert not data.get("content") and not data.get("embeds"), f"{where}: V2 with content"
    editing = entry.method == "PATCH" or (entry.json or {}).get("type") == UPDATE_MESSAGE
    if editing:
        # Whatever the message carried before (an embed card, "Mapping…") must go.
        assert "content" in data and data["content"] is None, f"{where} keeps its content"
        assert data.get("embeds") == [], f"{where} keeps its embeds"


def _check_modal(entry: simcord.HttpLogEntry, data: dict) -> None:
    """A form is not a message (nothing in it can ping), but it has limits of its own."""
    where = f"{entry.method} {entry.path}"
    assert 1 <= len(data["title"]) <= MODAL_TITLE_MAX, f"{where}: title {data['title']!r}"
    ids = [data["custom_id"]] + [
        c["custom_id"] for c in walk(data["components"]) if "custom_id" in c
    ]
    assert len(ids) == len(set(ids)) and all(len(i) <= CUSTOM_ID_MAX for i in ids), ids


def _bears_message(data: dict) -> bool:
    return any(key in data for key in ("content", "embeds", "components"))


def walk(components: list[dict]) -> Iterator[dict]:
    """Every component, nested ones included (rows, containers, section accessories)."""
    for component in components:
        yield component
        yield from walk(component.get("components") or [])
        if isinstance(component.get("component"), dict):  # a form's label and its input
            yield from walk([component["component"]])
        if isinstance(component.get("accessory"), dict):
            yield from walk([component["accessory"]])


# -- reading a V2 card as a member sees it ----------------------------------------


def components_of(message: Any) -> list[dict]:
    components = message.components if hasattr(message, "components") else message["components"]
    return list(walk(components))


def plain(markdown: str) -> str:
    """Markdown text without its escapes and emphasis: what the reader sees."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("**", ""))


def texts(message: Any) -> list[str]:
    """Every text display's markdown, in order."""
    return [c["content"] for c in components_of(message) if c.get("type") == TEXT_DISPLAY]


def card_text(message: Any) -> str:
    return plain("\n".join(texts(message)))


def heading(message: Any) -> str:
    """The card's ``## `` heading."""
    for line in "\n".join(texts(message)).splitlines():
        if line.startswith("## "):
            return plain(line.removeprefix("## "))
    raise AssertionError(f"no heading in {texts(message)}")


def small_lines(message: Any) -> list[str]:
    """The small-text (``-# ``) lines: breadcrumb first on a concept card, footer last."""
    lines = "\n".join(texts(message)).splitlines()
    return [plain(line.removeprefix("-# ")) for line in lines if line.startswith("-# ")]


def sections(message: Any) -> list[tuple[str, dict]]:
    """(the text's first line, the accessory button) for every section."""
    found = []
    for component in components_of(message):
        if component.get("type") == SECTION:
            text = "\n".join(c["content"] for c in component["components"])
            found.append((plain(text.splitlines()[0]), component["accessory"]))
    return found


def concept_lines(message: Any) -> list[str]:
    """The numbered concepts shown as sections: ``1 · Title``."""
    return [line for line, button in sections(message) if button["custom_id"].startswith(OPEN)]


def open_id(message: Any, title: str) -> str:
    """The custom_id of the Open button beside the concept ``title``."""
    for line, button in sections(message):
        if line.split(" · ", 1)[-1] == title:
            return button["custom_id"]
    raise AssertionError(f"no concept {title!r} in {concept_lines(message)}")


async def press_together(
    env: simcord.Env, *presses: Callable[[], Awaitable[simcord.InteractionResult]], gap: float
) -> list[simcord.InteractionResult]:
    """Presses sent ``gap`` seconds apart (real time), whether or not the bot answered the
    one before: a double tap. Each ``press`` is a SimCord click or select, e.g.
    ``lambda: alice.click(card, label="Back")``.

    SimCord 3.2.1 settles after each interaction it sends and lets no operation overlap
    another, so a second press could never reach the bot before the first is answered
    and its work done, as it can on Discord. Here one operation sends every press, each
    built by SimCord itself (its settling held off meanwhile), then settles once.
    """
    env._begin_operation("press together")
    try:
        settle = env._settle_internal
        env._settle_internal = _sent_only  # type: ignore[method-assign]
        try:
            results = []
            for number, press in enumerate(presses):
                if number and gap:
                    await asyncio.sleep(gap)
                results.append(await press())
        finally:
            del env._settle_internal  # SimCord's own again
        await settle(dispatch="INTERACTION_CREATE")
        return results
    finally:
        env._end_operation()


async def _sent_only(**_: Any) -> None:
    return None


async def click_open(actor: Any, message: Any, title: str) -> simcord.InteractionResult:
    """``actor`` presses the Open button beside ``title``."""
    return await actor.click(message, custom_id=open_id(message, title))


def labels(message: Any) -> list[str]:
    return [c.get("label") for c in components_of(message) if c.get("type") == BUTTON]


def custom_ids(message: Any) -> list[str]:
    return [c["custom_id"] for c in components_of(message) if "custom_id" in c]
