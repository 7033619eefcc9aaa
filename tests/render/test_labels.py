"""Map pictures a member can read: labels wrapped at word boundaries and never split,
every label inside its box as drawn, and a card's small picture readable at the width
Discord shows it inline."""

from __future__ import annotations

import asyncio
import io
import re
from xml.etree import ElementTree

import pytest
from PIL import Image, ImageChops

from bot.config import PROJECT_ROOT
from bot.maps import BundledMaps
from bot.models import BundledConcept
from bot.render.labels import Label, wrapped
from bot.render.picture import (
    CARD_SUB_CONCEPTS_MAX,
    DPI,
    Node,
    Renderer,
    long_side_for,
    readable_part,
    to_dot,
)

INLINE_WIDTH = 520  # about the width at which Discord shows a card's picture
READABLE_PX = 11  # the smallest label a reader makes out at that width
SVG = "{http://www.w3.org/2000/svg}"
PROBE_DPI = DPI // 2  # a quarter of the pixels to scan; glyphs and boxes scale alike
BUNDLED = BundledMaps.load(PROJECT_ROOT / "maps").maps


def nodes_of(concepts: list[BundledConcept], opened_every: int = 3) -> list[Node]:
    """A bundled map as picture nodes, every ``opened_every``-th concept explored."""
    nodes: list[Node] = []

    def walk(concepts: list[BundledConcept], parent: int | None) -> None:
        for concept in concepts:
            nodes.append(
                Node(len(nodes) + 1, parent, concept.title, len(nodes) % opened_every == 0)
            )
            walk(concept.children or [], nodes[-1].id)

    walk(concepts, None)
    return nodes


def shapes(topic: str, nodes: list[Node], *, card: bool) -> str:
    """The DOT of the map card's picture (``card``) or of the whole map (the Map button's)."""
    if card:
        return to_dot(topic, readable_part(nodes), None, long_side=long_side_for(nodes), tree=True)
    return to_dot(topic, nodes, nodes[-1].id, long_side=long_side_for(nodes))


def probe(dot: str) -> str:
    """The same picture in test colours: boxes pure red (fill and border), text pure
    blue, edges white on the white page. Text drawn past its box is then blue on white,
    a colour that nothing else in the picture has."""
    lines = []
    for line in dot.splitlines():
        if " -- " in line or line.startswith("  edge ["):
            line = re.sub(r'color="#[0-9A-Fa-f]{6}"', 'color="#FFFFFF"', line)
        else:
            line = re.sub(r'(?<![a-z])(fill)?color="#[0-9A-Fa-f]{6}"', r'\1color="#FF0000"', line)
            line = re.sub(r'fontcolor="#[0-9A-Fa-f]{6}"', 'fontcolor="#0000FF"', line)
            line = line.replace("dashed", "solid").replace(f"dpi={DPI}", f"dpi={PROBE_DPI}")
        lines.append(line)
    return "\n".join(lines)


def text_on_the_page(png: bytes) -> int:
    """How many pixels are text antialiased against the white page (not a box): blue
    well above red and green, green not near zero (as it is over the red boxes)."""
    red, green, blue = Image.open(io.BytesIO(png)).convert("RGB").split()
    bluer_than_red = ImageChops.subtract(blue, red).point(lambda v: 255 if v > 60 else 0)
    bluer_than_green = ImageChops.subtract(blue, green).point(lambda v: 255 if v > 60 else 0)
    some_green = green.point(lambda v: 255 if v > 40 else 0)
    found = ImageChops.multiply(ImageChops.multiply(bluer_than_red, bluer_than_green), some_green)
    return found.histogram()[255]


CASES = [(m, card) for m in BUNDLED for card in (True, False)]
IDS = [f"{m.key}-{'card' if card else 'whole'}" for m, card in CASES]


@pytest.fixture(scope="module")
def drawn() -> dict[str, tuple[str, bytes, bytes]]:
    """Every bundled map, both pictures: (DOT, SVG, probe PNG), drawn two at a time."""
    renderer = Renderer(at_once=2)

    async def draw(bundled, card: bool) -> tuple[str, bytes, bytes]:
        dot = shapes(bundled.topic, nodes_of(bundled.concepts), card=card)
        svg, png = await asyncio.gather(render(renderer, dot, "-Tsvg"), renderer.png(probe(dot)))
        return dot, svg, png

    async def everything():
        return await asyncio.gather(*(draw(m, card) for m, card in CASES))

    return dict(zip(IDS, asyncio.run(everything()), strict=True))


async def render(renderer: Renderer, dot: str, kind: str) -> bytes:
    from bot.render.picture import find_program

    process = await asyncio.create_subprocess_exec(
        find_program(), kind, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate(dot.encode())
    assert process.returncode == 0
    return out


def labels_in(svg: bytes) -> list[list[str]]:
    """The lines of every node's label, as the SVG draws them."""
    root = ElementTree.fromstring(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node":
            lines = [text.text or "" for text in group.iter(f"{SVG}text")]
            if lines:
                found.append(lines)
    return found


@pytest.mark.parametrize(("bundled", "card"), CASES, ids=IDS)
def test_every_word_of_every_label_is_drawn_whole(drawn, bundled, card: bool) -> None:
    _, svg, _ = drawn[f"{bundled.key}-{'card' if card else 'whole'}"]
    titles = {bundled.topic, *(node.title for node in nodes_of(bundled.concepts))}
    for lines in labels_in(svg):
        # A line ends at a space or just after a hyphen: joined back, the title is whole.
        title = ""
        for line in lines:
            title += line if not title or title.endswith("-") else f" {line}"
        assert title in titles, lines


@pytest.mark.parametrize(("bundled", "card"), CASES, ids=IDS)
def test_no_label_runs_past_its_box(drawn, bundled, card: bool) -> None:
    _, _, png = drawn[f"{bundled.key}-{'card' if card else 'whole'}"]
    assert text_on_the_page(png) == 0


@pytest.mark.parametrize("bundled", BUNDLED, ids=[m.key for m in BUNDLED])
def test_a_cards_picture_is_readable_where_discord_shows_it(drawn, bundled) -> None:
    _, svg, _ = drawn[f"{bundled.key}-card"]
    root = ElementTree.fromstring(svg)
    width = float(root.get("width", "0").removesuffix("pt")) * 96 / 72  # as the PNG is drawn
    scale = float(re.search(r"scale\(([\d.]+)", svg.decode()).group(1))
    smallest = min(float(t.get("font-size")) for t in root.iter(f"{SVG}text"))
    on_screen = smallest * 96 / 72 * scale * min(1.0, INLINE_WIDTH / width)
    assert on_screen >= READABLE_PX


def test_the_test_colours_catch_a_label_past_its_box() -> None:
    """The probe is not blind: a box forced narrower than its text shows blue on white."""
    dot = to_dot("Interest Rates", [Node(1, None, "Interpretability", True)], None, long_side=600)
    topic = next(line for line in dot.splitlines() if line.startswith("  topic ["))
    squeezed = dot.replace(topic, re.sub(r"\bwidth=[\d.]+", "width=1.0 fixedsize=true", topic))
    png = asyncio.run(Renderer().png(probe(squeezed)))
    assert text_on_the_page(png) > 0


def test_a_card_shows_the_key_concepts_and_at_most_so_many_explored_ones() -> None:
    keys = [Node(n, None, f"Key {n}", opened=False) for n in range(1, 8)]
    subs = [Node(10 + n, 1 + n % 7, f"Sub {n}", opened=n % 2 == 0) for n in range(40)]
    shown = readable_part(keys + subs)
    assert [n for n in shown if n.parent_id is None] == keys
    explored = [n for n in shown if n.parent_id is not None]
    assert len(explored) == CARD_SUB_CONCEPTS_MAX and all(n.opened for n in explored)
    # Taken from each key concept in turn, not all from the first.
    assert len({n.parent_id for n in explored}) == 7


@pytest.mark.parametrize(
    ("title", "lines"),
    [
        ("Interpretability and Safety", ["Interpretability", "and Safety"]),
        ("Framework Implementations", ["Framework", "Implementations"]),
        ("Multi-Agent Coordination", ["Multi-Agent", "Coordination"]),
        ("Retrieval-Augmented Generation", ["Retrieval-", "Augmented", "Generation"]),
    ],
)
def test_labels_wrap_at_spaces_and_hyphens_and_never_split_a_word(title, lines) -> None:
    assert wrapped(title, 14) == lines


def test_a_long_title_is_wrapped_wider_not_cut() -> None:
    title = "How Central Banks Signal Future Policy Through Their Public Statements"
    lines = wrapped(title, 14)
    assert len(lines) <= 4 and " ".join(lines) == title


def test_bold_labels_are_set_in_bold_with_bold_metrics() -> None:
    regular = Label.of("Interest Rates", 16, 38, bold=False)
    bold = Label.of("Interest Rates", 16, 38, bold=True)
    assert bold.html() == "<B>Interest Rates</B>" and bold.width() > regular.width()
    assert Label.of("Ürgüp <Ça>", 16, 24, bold=False).html() == "Ürgüp &lt;Ça&gt;"


def test_no_bundled_label_needs_a_bold_font_name() -> None:
    # A font name Graphviz has no metrics for is measured in Times and overflows its box.
    nodes = nodes_of(BUNDLED[0].concepts)
    assert "Bold" not in to_dot(BUNDLED[0].topic, nodes, nodes[-1].id, long_side=1600)
