"""``python -m bot preview``, driven through the preview page's own HTTP API.

The test talks to the loopback server exactly as the page's script does: it
opens a page session, reads the command catalog, runs /explore, clicks a
concept's button and reads the state, then ends the session from the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.maps import BundledMaps
from bot.models import topic_key
from bot.preview import PREVIEW_DATABASE_NAME, open_preview, preview_settings, run_preview
from tests.support.harness import card_text, components_of, heading, open_id, small_lines

URL_LINE = re.compile(
    r"^Kinapse preview: open (?P<origin>http://127\.0\.0\.1:\d+)/#(?P<capability>[\w-]+) "
    r"in your browser \(Ctrl-C to stop\)$"
)
WAIT_SECONDS = 10
PROTOCOL_VERSION = 3
TOPIC = "AI Agents"


class PageSession:
    """One browser page of the preview: its context, its sequence, its state."""

    def __init__(self, http: aiohttp.ClientSession, capability: str) -> None:
        self.http = http
        self.headers = {"X-Simcord-Capability": capability}
        self.sequence = 0
        self.state: dict[str, Any] = {}

    async def open(self) -> dict[str, Any]:
        async with self.http.post("/api/pages", json={}, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            self.state = await response.json()
        self.headers["X-Simcord-Context"] = self.state["context"]["id"]
        return self.state

    async def get(self, path: str) -> dict[str, Any]:
        async with self.http.get(path, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def read_state(self) -> dict[str, Any]:
        self.state = await self.get("/api/state")
        return self.state

    async def act(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send one action as the page does, on the state last read, and return its receipt."""
        self.sequence += 1
        body = {
            "protocol_version": PROTOCOL_VERSION,
            "sequence": self.sequence,
            "request_id": uuid.uuid4().hex,
            "generation": self.state["context"]["generation"],
            "bot_generation": self.state["botGeneration"],
            "published_revision": self.state["publishedRevision"],
            "kind": kind,
            **fields,
        }
        async with self.http.post("/api/action", json=body, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            receipt = await response.json()
        assert not receipt["rejected"], receipt["diagnostics"]
        assert receipt["settlement"] == "settled", receipt
        assert receipt["diagnostics"] == [], receipt["diagnostics"]
        return receipt

    async def slash(self, invocation: str, **options: Any) -> str:
        """Run a command from the catalog; return the id of the message it answered with."""
        catalog = await self.get("/api/commands")
        [command] = [entry for entry in catalog["entries"] if entry["invocation"] == invocation]
        receipt = await self.act(
            "run_command",
            command_id=command["commandId"],
            path=command["path"],
            schema_fingerprint=command["schemaFingerprint"],
            options=options,
        )
        [outcome] = receipt["outcomes"]
        await self.read_state()
        return outcome["messageId"]


@contextlib.asynccontextmanager
async def preview_task(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[tuple[asyncio.Task[int], str, str, list[str]]]:
    """run_preview in a task; yields it with the URL's origin and capability, and stdout."""
    task = asyncio.create_task(run_preview(settings, port=0))
    lines: list[str] = []
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while not lines:
                assert not task.done(), task.exception()
                await asyncio.sleep(0.05)
                lines += capsys.readouterr().out.splitlines()
        match = URL_LINE.match(lines[0])
        assert match, lines[0]
        yield task, match["origin"], match["capability"], lines
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_preview_explores_a_bundled_map_and_ends_from_the_page(
    database: Path | str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
):
    """On either database: a file, or a PostgreSQL URL used as it is."""
    caplog.set_level(logging.DEBUG)
    settings = Settings(database=database)
    ai_agents = BundledMaps.load(settings.maps_dir).find(topic_key(TOPIC))
    assert ai_agents is not None
    first = ai_agents.concepts[0]

    async with (
        preview_task(settings, capsys) as (task, origin, capability, stdout),
        aiohttp.ClientSession(origin) as http,
    ):
        page = PageSession(http, capability)
        state = await page.open()
        assert state["channel"]["name"] == "explore"
        assert [viewer["name"] for viewer in state["viewers"]] == ["alice", "bob"]

        catalog = await page.get("/api/commands")
        assert catalog["application"]["name"] == "Kinapse"
        commands = {entry["invocation"]: entry for entry in catalog["entries"]}
        assert {"explore", "maps"} <= commands.keys()

        card_id = await page.slash("explore", topic=TOPIC)
        state = page.state
        map_card = state["messages"][card_id]
        assert not map_card["embeds"] and heading(map_card) == TOPIC

        buttons = [c for c in components_of(map_card) if "control_key" in c]
        assert buttons[0]["custom_id"] == open_id(map_card, first.title)
        await page.act("click", target_id=card_id, control_key=buttons[0]["control_key"])

        state = await page.read_state()
        concept_card = state["messages"][card_id]
        assert heading(concept_card) == first.title
        assert small_lines(concept_card)[0] == TOPIC
        assert first.summary in card_text(concept_card)

        await page.act("close")
        assert await asyncio.wait_for(task, WAIT_SECONDS) == 0

    # The URL is printed once, and written nowhere else.
    output = capsys.readouterr()
    assert len(stdout) == 1 and output.out == ""
    assert "Preview session ended" in caplog.text
    assert capability not in output.err and capability not in caplog.text
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession(origin) as http, http.get("/"):
            pass


async def test_a_second_preview_on_the_same_database_has_its_commands_and_new_messages(
    tmp_path: Path,
):
    """The database remembers the last command sync, and outlives SimCord's
    message ids: a second run must still sync, and must not reuse ids."""
    settings = Settings(database=tmp_path / "preview.db")
    card_ids = []
    for _ in range(2):
        async with open_preview(settings) as preview:
            origin, capability = preview.url.split("/#")
            async with aiohttp.ClientSession(origin) as http:
                page = PageSession(http, capability)
                state = await page.open()
                assert state["commands"]["state"] == "available"
                assert "commands-unsynced" not in [d["code"] for d in state["diagnostics"]]
                card_ids.append(await page.slash("explore", topic=TOPIC))
    assert card_ids[1] != card_ids[0]


def test_preview_has_its_own_database_unless_one_is_chosen(tmp_path: Path):
    default = Settings()
    preview = preview_settings(default)
    assert preview.database == PROJECT_ROOT / "data" / PREVIEW_DATABASE_NAME
    # Files attached in the preview come from SimCord's CDN, which it accepts too.
    assert preview.attachment_hosts == f"{default.attachment_hosts},cdn.simcord.invalid"
    hosts = {"attachment_hosts": default.attachment_hosts}
    assert preview.model_copy(update={"database": default.database, **hosts}) == default

    environ = {"KINAPSE_DATABASE": str(tmp_path / "mine.db")}
    chosen = Settings.from_env(environ, env_file=tmp_path / "absent.env")
    assert preview_settings(chosen).model_copy(update=hosts) == chosen

    url = "postgresql://kinapse:secret@db.example/kinapse"
    shared = Settings(database=url)
    assert preview_settings(shared).model_copy(update=hosts) == shared
