"""The whole known map as a picture: Graphviz's radial layout, drawn by graphviz-pure.

``to_dot`` is pure (map data -> DOT text); ``Renderer`` runs the graphviz-pure
program on it in a subprocess, so the event loop never waits on a layout, with
a time limit and a bound on renders at once. graphviz-pure draws with its own
bundled fonts (Arimo, a Helvetica-compatible sans): a label using characters
those fonts lack (CJK, emoji, most non-European scripts) would be drawn as
boxes, so such a map gets an outline instead of a picture (``drawable``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.render.labels import Label

log = logging.getLogger(__name__)

PROGRAM = "graphviz-pure"
RENDER_TIMEOUT_SECONDS = 10.0
# Layouts are CPU-bound: leave a core to the event loop (and the rest of the bot).
RENDERS_AT_ONCE = max(1, (os.cpu_count() or 2) - 1)
DPI = 96
# The picture's long side in pixels: small maps need less room to stay legible.
LONG_SIDE_SMALL, LONG_SIDE_LARGE = 1200, 1600
SMALL_MAP_CONCEPTS = 25
# Past this many concepts, the ones below the sub-concepts are drawn as dots, unless
# they are on the highlighted path or just under the highlighted concept: a
# hundred labels on one picture could not be read on a phone.
LABELLED_CONCEPTS_MAX = 60
LABELLED_DEPTH = 2
DOT_INCHES = 0.22
LABEL_BOX_INCHES = 2.4  # a wrapped label's box, with the space around it
RING_GAP_MIN_INCHES = 1.3
# A card's small picture (``readable_part``): the key concepts and at most this many
# explored sub-concepts, so that it stays about as tall as it is wide.
CARD_SUB_CONCEPTS_MAX = 12
# A card's small picture: a left-to-right tree, its columns and rows this far apart (inches).
TREE_RANKSEP, TREE_NODESEP = 0.6, 0.18
PNG_MAX_BYTES = 400 * 1024  # a quick upload; a larger render is redone smaller
SMALLER_RENDER = 0.75
# Labels: words wrapped to lines of about this many characters (see ``labels``).
WRAP_TOPIC, WRAP_KEY, WRAP_SUB = 16, 14, 14
FONT = "Helvetica"  # Arimo in graphviz-pure; bold is set with <B> in the label
FONT_SIZES = (38, 28, 24)  # topic, key concepts, deeper concepts (points)
MARGIN_X, MARGIN_Y = 0.18, 0.1  # inches between a label and its box
BOX_SLACK_INCHES = 0.06  # the box's rounded corners and border

# Colours: highlighted path in orange, explored concepts in the map's blue.
CURRENT_FILL, PATH_FILL, PATH_LINE = "#E8590C", "#FFE3CC", "#E8590C"
TOPIC_FILL = "#4752C4"
EXPLORED_FILL, EXPLORED_LINE = "#DDE1FC", "#5865F2"
UNOPENED_FILL, UNOPENED_LINE, UNOPENED_TEXT = "#FFFFFF", "#A0A4AB", "#4E5058"
EDGE, TEXT, ON_DARK = "#B5BAC1", "#1E1F22", "#FFFFFF"

# What Arimo draws: Latin (with IPA and Vietnamese), Greek, Cyrillic, Hebrew,
# general punctuation and most currency signs. Conservative: a script not
# listed here is not drawn, even where the font might have it.
DRAWABLE_RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x036F),
    (0x0370, 0x03FF),
    (0x0400, 0x052F),
    (0x0591, 0x05F4),
    (0x1E00, 0x1FFE),
    (0x2010, 0x205E),
    (0x20A0, 0x20BE),
)


class RenderError(RuntimeError):
    """The picture could not be drawn (program missing, too slow, or it failed)."""


@dataclass(frozen=True)
class Node:
    """A concept of the map as the picture needs it."""

    id: int
    parent_id: int | None  # None: a key concept, linked to the topic
    title: str
    opened: bool  # someone has opened it


@dataclass(frozen=True)
class MapPicture:
    """A rendered map, or the reason there is none and the map as an outline."""

    png: bytes | None
    # (depth, title, opened) depth first, for the outline shown instead of a picture.
    outline: tuple[tuple[int, str, bool], ...] = ()
    undrawable: str = ""  # characters the fonts cannot draw, when png is None
    size: tuple[int, int] = field(default=(0, 0))
    # (opened, total): how many concepts of the map were opened and known when it was
    # drawn (set by whoever drew it from a map version; None: not known).
    counts: tuple[int, int] | None = None


def drawable(text: str) -> str:
    """The characters of ``text`` the picture's fonts cannot draw ("" when all can be)."""
    missing = dict.fromkeys(ch for ch in unicodedata.normalize("NFC", text) if not _drawn(ch))
    return "".join(missing)


def _drawn(ch: str) -> bool:
    if ch in "\n\u200c\u200d":
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in DRAWABLE_RANGES)


def outline(nodes: Iterable[Node]) -> tuple[tuple[int, str, bool], ...]:
    """(depth, title, opened) for every concept, depth first in stored order."""
    children: dict[int | None, list[Node]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    rows: list[tuple[int, str, bool]] = []

    def visit(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            rows.append((depth, node.title, node.opened))
            visit(node.id, depth + 1)

    visit(None, 1)
    return tuple(rows)


def to_dot(
    topic: str, nodes: list[Node], highlight: int | None, *, long_side: int, tree: bool = False
) -> str:
    """The map as a DOT graph: the topic at the centre (twopi), ``highlight`` and its
    path to the topic in orange (None: the topic itself), explored concepts filled.

    With ``tree``, the topic on the left and each level in a column to its right (dot):
    the compact shape of a card's small picture, whose labels must stay readable."""
    by_id = {node.id: node for node in nodes}
    path: set[int] = set()
    at = by_id.get(highlight) if highlight is not None else None
    while at is not None:
        path.add(at.id)
        at = by_id.get(at.parent_id) if at.parent_id is not None else None
    depth = _depths(nodes)
    labelled = {
        node.id
        for node in nodes
        if len(nodes) <= LABELLED_CONCEPTS_MAX
        or depth[node.id] <= LABELLED_DEPTH
        or node.id in path
        or (highlight is not None and node.parent_id == highlight)
    }
    inches = long_side / DPI
    ranksep = _ranksep(nodes, depth, labelled)
    if tree:
        layout = f"layout=dot rankdir=LR ranksep={TREE_RANKSEP} nodesep={TREE_NODESEP}"
        scale = f'size="{inches:.2f},{inches:.2f}"'  # shrunk to fit, never blown up
    else:
        layout = f'layout=twopi root=topic ranksep="{ranksep}" overlap=prism splines=false'
        scale = f'size="{inches:.2f},{inches:.2f}!"'
    lines = [
        "graph map {",
        f'  graph [{layout} outputorder=edgesfirst bgcolor="#FFFFFF" pad=0.4 dpi={DPI} {scale}]',
        f'  node [shape=box style="rounded,filled" fontname="{FONT}"'
        f' margin="{MARGIN_X},{MARGIN_Y}" penwidth=1.5 color="{EXPLORED_LINE}"'
        f' fontcolor="{TEXT}"]',
        f'  edge [color="{EDGE}" penwidth=1.4]',
    ]
    topic_current = highlight is None or not path
    lines.append(
        "  topic ["
        + _attrs(
            **_labelled(Label.of(topic, WRAP_TOPIC, FONT_SIZES[0], bold=True)),
            fillcolor=CURRENT_FILL if topic_current else TOPIC_FILL,
            color=PATH_LINE if topic_current else TOPIC_FILL,
            penwidth=3 if topic_current else 1.5,
            fontcolor=ON_DARK,
        )
        + "]"
    )
    for node in nodes:
        level = min(depth[node.id], len(FONT_SIZES) - 1)
        style: dict[str, object]
        if node.id == highlight:
            style = {"fillcolor": CURRENT_FILL, "color": PATH_LINE, "fontcolor": ON_DARK}
            style |= {"penwidth": 3}
        elif node.id in path:
            style = {"fillcolor": PATH_FILL, "color": PATH_LINE, "penwidth": 2.5}
        elif node.opened:
            style = {"fillcolor": EXPLORED_FILL}
        else:
            style = {"fillcolor": UNOPENED_FILL, "color": UNOPENED_LINE}
            style |= {"fontcolor": UNOPENED_TEXT, "style": "rounded,filled,dashed"}
        if node.id in labelled:
            wrap = WRAP_KEY if level == 1 else WRAP_SUB
            bold = level == 1 or node.id == highlight
            attrs = _attrs(**_labelled(Label.of(node.title, wrap, FONT_SIZES[level], bold=bold)))
        else:
            style["style"] = str(style.get("style", "filled")).replace("rounded,", "")
            attrs = _attrs(label="", shape="circle", width=DOT_INCHES, fixedsize="true")
        lines.append(f"  c{node.id} [{attrs} {_attrs(**style)}]")
    for node in nodes:
        parent = "topic" if node.parent_id is None else f"c{node.parent_id}"
        if node.parent_id is not None and node.parent_id not in by_id:
            continue  # a concept whose parent is not in the data: nothing to hang it on
        on_path = node.id in path
        edge = _attrs(color=PATH_LINE, penwidth=3.5) if on_path else ""
        lines.append(f"  {parent} -- c{node.id}" + (f" [{edge}]" if edge else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _labelled(label: Label) -> dict[str, object]:
    """A node's label attributes, its box at least as wide as the label as we measure it
    (graphviz-pure measures characters beyond ASCII too narrow)."""
    width = label.width() + 2 * MARGIN_X + BOX_SLACK_INCHES
    return {"label": Html(label.html()), "fontsize": label.size, "width": round(width, 2)}


def _ranksep(nodes: list[Node], depth: dict[int, int], labelled: set[int]) -> str:
    """Distances between twopi's rings (inches), wide enough that each ring's boxes fit
    around it side by side, so the overlap removal has little left to push apart."""
    room: dict[int, float] = {}
    for node in nodes:
        needs = LABEL_BOX_INCHES if node.id in labelled else DOT_INCHES * 2
        room[depth[node.id]] = room.get(depth[node.id], 0.0) + needs
    radius, gaps = 0.0, []
    for ring in range(1, max(room, default=1) + 1):
        wanted = max(radius + RING_GAP_MIN_INCHES, room.get(ring, 0.0) / (2 * math.pi))
        gaps.append(f"{wanted - radius:.2f}")
        radius = wanted
    return " ".join(gaps)


def readable_part(nodes: list[Node]) -> list[Node]:
    """What the map card's small picture shows, so that it reads at Discord's inline size:
    the key concepts and the sub-concepts someone explored, taken from each key concept in
    turn, at most ``CARD_SUB_CONCEPTS_MAX`` of them; the Map button's picture shows all."""
    keys = [node for node in nodes if node.parent_id is None]
    explored = {key.id: [n for n in nodes if n.parent_id == key.id and n.opened] for key in keys}
    chosen: set[int] = set()
    for rank in range(max((len(subs) for subs in explored.values()), default=0)):
        for key in keys:
            subs = explored[key.id]
            if rank < len(subs) and len(chosen) < CARD_SUB_CONCEPTS_MAX:
                chosen.add(subs[rank].id)
    return [node for node in nodes if node.parent_id is None or node.id in chosen]


def long_side_for(nodes: list[Node]) -> int:
    return LONG_SIDE_SMALL if len(nodes) <= SMALL_MAP_CONCEPTS else LONG_SIDE_LARGE


def _depths(nodes: list[Node]) -> dict[int, int]:
    by_id = {node.id: node for node in nodes}
    depths: dict[int, int] = {}

    def depth_of(node: Node) -> int:
        if node.id not in depths:
            parent = by_id.get(node.parent_id) if node.parent_id is not None else None
            depths[node.id] = 1 if parent is None else depth_of(parent) + 1
        return depths[node.id]

    for node in nodes:
        depth_of(node)
    return depths


def _attrs(**attrs: object) -> str:
    parts = []
    for name, value in attrs.items():
        if value in (None, 0.0) and name == "width":
            continue
        parts.append(f"{name}={_quote(value)}")
    return " ".join(parts)


class Html(str):
    """A Graphviz HTML-like label: written between ``<`` and ``>``, not quoted."""


def _quote(value: object) -> str:
    if isinstance(value, Html):
        return f"<{value}>"
    if isinstance(value, int | float):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


class Renderer:
    """Runs graphviz-pure in a subprocess: at most ``at_once`` renders, each within ``timeout``."""

    def __init__(
        self,
        *,
        at_once: int = RENDERS_AT_ONCE,
        timeout: float = RENDER_TIMEOUT_SECONDS,
        program: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.program = program
        self.at_once = at_once
        self._slots: asyncio.Semaphore | None = None

    async def draw(
        self, topic: str, nodes: list[Node], highlight: int | None, *, whole: bool = True
    ) -> MapPicture:
        """The map's picture, or its outline when its labels cannot be drawn; without
        ``whole``, only what can be read in a card (``readable_part``)."""
        if not whole:
            nodes = readable_part(nodes)
        rows = outline(nodes)
        missing = drawable(topic + "".join(node.title for node in nodes))
        if missing:
            return MapPicture(None, rows, missing)
        long_side = long_side_for(nodes)
        tree = not whole
        png = await self.png(to_dot(topic, nodes, highlight, long_side=long_side, tree=tree))
        if len(png) > PNG_MAX_BYTES:
            smaller = int(long_side * SMALLER_RENDER)
            log.info("Map picture of %r is %d bytes; drawing it smaller", topic, len(png))
            png = await self.png(to_dot(topic, nodes, highlight, long_side=smaller, tree=tree))
        return MapPicture(png, rows, "", png_size(png))

    async def png(self, dot: str) -> bytes:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.at_once)
        program = self.program or find_program()
        async with self._slots:
            process = await asyncio.create_subprocess_exec(
                program,
                "-Tpng",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(process.communicate(dot.encode()), self.timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise RenderError(f"the map picture took over {self.timeout:g} s") from None
            except BaseException:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                raise
        if process.returncode != 0 or not out.startswith(PNG_SIGNATURE):
            detail = err.decode(errors="replace").strip()[:300]
            raise RenderError(f"{PROGRAM} failed ({process.returncode}): {detail}")
        return out


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def find_program() -> str:
    """graphviz-pure, installed beside this Python (the venv) or on PATH."""
    beside = Path(sys.executable).parent / PROGRAM
    if beside.exists():
        return str(beside)
    found = shutil.which(PROGRAM)
    if found is None:
        raise RenderError(f"{PROGRAM} is not installed (uv sync installs it)")
    return found
