"""Take the docs/ screenshots of the cards, as the offline preview shows them.

    uv run python docs/screenshot.py [--out docs/] [--chromium PATH]

Starts the preview on a throwaway database, runs /explore AI Agents as alice
(docs/map-card.png: the map card with its picture), opens the first concept
(docs/concept-card.png), and presses its Map button (docs/map-picture.png: the
map with that concept highlighted); each time a headless Chromium (Debian:
``apt-get install chromium``) opens the preview page and saves what it shows.
Run by hand when the cards change; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import itertools
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.preview import open_preview

TOPIC = "AI Agents"
# CSS pixels: each whole card, with the channel around it.
WINDOWS = {"map-card": (1000, 1640), "concept-card": (1000, 1080), "map-picture": (1000, 1200)}
WAIT_SECONDS = 30
# A palette keeps the PNG small; the preview's flat colours lose nothing visible.
PALETTE_COLOURS = 128
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
DEVTOOLS_LISTENING = re.compile(rb"DevTools listening on ws://127\.0\.0\.1:(\d+)/")
# The page's status line once it has loaded and has nothing in flight, and every
# picture loaded (the preview checks media in a worker before it serves it).
PAGE_IDLE = """(() => {
  const status = document.getElementById("action-status")?.textContent ?? "";
  const pictures = [...document.images].every((i) => i.complete && i.naturalWidth > 0);
  return document.body.innerText.includes(%s) && status !== "" && !status.endsWith("…")
    && pictures;
})()"""


async def take(chromium: str) -> dict[str, bytes]:
    """PNGs of the page showing the map card, the first concept's card and its Map picture."""
    shots: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings.from_env().model_copy(
            update={"database": Path(scratch) / "preview.db", "anthropic_api_key": None}
        )
        async with open_preview(settings) as preview:
            alice = preview.viewers[0]
            profile = Path(scratch) / "chromium"
            card = (await alice.slash(preview.channel, "explore", topic=TOPIC)).response
            shots["map-card"] = await screenshot(chromium, profile, preview.url, TOPIC, "map-card")
            first = next(c for c in walk(card.components) if c.get("label") == "Open")
            card = (await alice.click(card, custom_id=first["custom_id"])).response
            title = heading(card)
            shots["concept-card"] = await screenshot(
                chromium, profile, preview.url, title, "concept-card"
            )
            await alice.click(card, label="Map")
            shots["map-picture"] = await screenshot(
                chromium, profile, preview.url, f"Map of {TOPIC}", "map-picture"
            )
    return shots


def walk(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component of a V2 message, nested ones included."""
    found = []
    for component in components:
        found.append(component)
        found += walk(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            found += walk([component["accessory"]])
    return found


def heading(message: Any) -> str:
    texts = "\n".join(c["content"] for c in walk(message.components) if c.get("type") == 10)
    return next(line[3:] for line in texts.splitlines() if line.startswith("## "))


async def screenshot(chromium: str, profile: Path, url: str, text: str, name: str) -> bytes:
    """Open ``url`` in a headless Chromium, wait until it shows ``text`` and is idle, shoot.

    Driven over the DevTools protocol, so the URL (a secret) is not on a command line.
    """
    browser = await asyncio.create_subprocess_exec(
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert browser.stderr is not None
    announced: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    watcher = asyncio.create_task(watch_stderr(browser.stderr, announced))
    try:
        async with asyncio.timeout(WAIT_SECONDS), aiohttp.ClientSession() as http:
            port = await announced
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                devtools = DevTools(ws)
                width, height = WINDOWS[name]
                await devtools.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                await devtools.call("Page.navigate", url=url)
                idle = PAGE_IDLE % json.dumps(text)
                # The page's state is only seen by asking it.
                while not await devtools.evaluate(idle):  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
                shot = await devtools.call("Page.captureScreenshot", format="png")
                return base64.b64decode(shot["data"])
    finally:
        if browser.returncode is None:
            browser.terminate()
        await browser.wait()
        await watcher


async def watch_stderr(stderr: asyncio.StreamReader, port: asyncio.Future[int]) -> None:
    """Set ``port`` to the DevTools port Chromium announces; read the rest, so it never blocks."""
    async for line in stderr:
        if not port.done() and (listening := DEVTOOLS_LISTENING.search(line)):
            port.set_result(int(listening[1]))
    if not port.done():
        port.set_exception(RuntimeError("Chromium exited before it opened DevTools"))


class DevTools:
    """Just enough of the Chrome DevTools protocol: call a method, get its result."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json()
            if message.get("id") != call_id:
                continue  # an event
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            return message["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    for name, png in asyncio.run(take(args.chromium)).items():
        path = args.out / f"{name}.png"
        image = Image.open(io.BytesIO(png)).convert("RGB")
        image.quantize(PALETTE_COLOURS).save(path, optimize=True)
        print(f"Wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
