"""Take the docs/ screenshots of the cards, as the offline preview shows them.

    uv run python docs/screenshot.py [--out docs/] [--chromium PATH]

Starts the preview on a throwaway database and, as alice, runs /explore AI Agents,
opens the first concept (docs/concept-card.png), presses its Map button
(docs/map-picture.png: the whole map with that concept highlighted, as the Map button
shows it), goes Back and then to the Overview (docs/map-card.png: the map card, one
concept explored, its picture showing it; docs/card-picture.png: that picture alone, as
wide as the card shows it); the Map picture is also shot opened full size
(docs/map-picture-full.png). Then bob opens a concept on alice's card
(docs/private-card.png: his private copy, with Post in channel). Each time a headless
Chromium (Debian: ``apt-get install chromium``) opens the preview page and saves what it
shows. Run by hand when the cards change; it is not part of the test suite.
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
WINDOWS = {
    "map-card": (1000, 1640),
    "card-picture": (1000, 1640),
    "concept-card": (1000, 1080),
    "map-picture": (1000, 1200),
    "map-picture-full": (1600, 1100),
    "private-card": (1000, 1500),
}
# The card's picture alone: the last gallery image on the page, where it is drawn.
CARD_PICTURE = """(() => {
  const images = [...document.querySelectorAll(".gallery-image")];
  const box = images[images.length - 1].getBoundingClientRect();
  return {x: box.x, y: box.y, width: box.width, height: box.height, scale: 1};
})()"""
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
  const text = document.body.innerText;
  return text.includes(%s) && !text.includes(%s) && status !== "" && !status.endsWith("…")
    && pictures;
})()"""
# The Map button's picture opened full size, as a member opens it from the card.
OPEN_FULL = """(() => {
  const triggers = [...document.querySelectorAll(".media-lightbox-trigger")];
  triggers[triggers.length - 1].click();
  return true;
})()"""
FULL_OPENED = """(() => {
  const image = document.querySelector(".media-lightbox[open] .media-lightbox-image");
  return Boolean(image && image.complete && image.naturalWidth > 0);
})()"""
LOADED = PAGE_IDLE % (json.dumps(""), json.dumps("\0"))  # idle, whatever it shows
# The page as bob sees it (his private cards show only to him).
VIEW_AS_BOB = """(() => {
  const picker = document.getElementById("viewer-picker");
  const bob = [...picker.options].find((option) => option.textContent.includes("bob"));
  picker.value = bob.value;
  picker.dispatchEvent(new Event("change"));
  return true;
})()"""
DRAWING = "Drawing the map's picture"  # a map card whose picture is still to be edited in


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
            first = next(c for c in walk(card.components) if c.get("label") == "Open")
            card = (await alice.click(card, custom_id=first["custom_id"])).response
            title = heading(card)
            shots["concept-card"] = await screenshot(
                chromium, profile, preview.url, title, "concept-card"
            )
            card = (await alice.click(card, label="Map")).response
            shots["map-picture"] = await screenshot(
                chromium, profile, preview.url, f"Map of {TOPIC}", "map-picture"
            )
            shots["map-picture-full"] = await screenshot(
                chromium, profile, preview.url, f"Map of {TOPIC}", "map-picture-full", full=True
            )
            card = (await alice.click(card, label="Back")).response
            card = (await alice.click(card, label="Overview")).response
            explored = "1 of "  # the card's counts: its picture shows the same
            shots["map-card"] = await screenshot(
                chromium, profile, preview.url, explored, "map-card"
            )
            shots["card-picture"] = await screenshot(
                chromium, profile, preview.url, explored, "card-picture", clip=CARD_PICTURE
            )
            # Bob opens a concept on alice's card: his own private copy, to post if he likes.
            bob = preview.viewers[1]
            second = [c for c in walk(card.components) if c.get("label") == "Open"][1]
            await bob.click(card, custom_id=second["custom_id"])
            shots["private-card"] = await screenshot(
                chromium, profile, preview.url, "Post in channel", "private-card", as_bob=True
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


async def screenshot(
    chromium: str,
    profile: Path,
    url: str,
    text: str,
    name: str,
    *,
    clip: str | None = None,
    full: bool = False,
    as_bob: bool = False,
) -> bytes:
    """Open ``url`` in a headless Chromium, wait until it shows ``text`` (and no picture
    still being drawn) and is idle, shoot: with ``clip``, a script giving the part to keep;
    with ``full``, the last picture on the page opened full size; ``as_bob``: as bob sees it.

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
                if as_bob:
                    while not await devtools.evaluate(LOADED):  # noqa: ASYNC110
                        await asyncio.sleep(0.2)
                    await devtools.evaluate(VIEW_AS_BOB)
                idle = PAGE_IDLE % (json.dumps(text), json.dumps(DRAWING))
                # The page's state is only seen by asking it.
                while not await devtools.evaluate(idle):  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
                if full:
                    await devtools.evaluate(OPEN_FULL)
                    while not await devtools.evaluate(FULL_OPENED):  # noqa: ASYNC110
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(0.5)  # the lightbox's opening transition
                part = {"clip": await devtools.evaluate(clip)} if clip else {}
                shot = await devtools.call("Page.captureScreenshot", format="png", **part)
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
