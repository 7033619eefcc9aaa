"""Export formats: each one parsed back holds every concept, escaped by its own rules."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.authoring import export_command
from bot.config import Settings
from bot.explore import Explorer
from bot.maps import BundledMaps
from bot.models import MapTree, Source, TreeConcept
from bot.render.export import ExportFormat, export, filename
from bot.storage import open_storage

SCOPE = 4242
# Each format's own syntax, in titles, summaries and details.
NASTY = [
    'C# & <b>"Quotes"</b>',
    "*star* _under_ `tick` \\slash",
    "# Not a heading",
    "1. Not a list",
    "- Not a bullet",
    "]]> </script> <!-- -->",
    "#quot; #35; &amp; entity look-alikes",
    "Ünïcödé ✓ 量子",
]
DEEPEST = 8  # past Markdown's six heading levels


def concept(title: str, depth: int, children: list[TreeConcept] | None = None) -> TreeConcept:
    return TreeConcept(
        title=title,
        summary=f"Summary of {title} at depth {depth}.",
        detail=f"- {title} sits at depth {depth}. It has *details* & <more>.",
        children=children,
        leaf=children is None and depth == DEEPEST,
    )


def chain(depth: int, prefix: str) -> list[TreeConcept]:
    """Three concepts at ``depth``; the first has children, down to DEEPEST."""
    first_children = chain(depth + 1, prefix + "1") if depth < DEEPEST else None
    return [
        concept(f"{NASTY[(depth + i) % len(NASTY)][:40]} {prefix}{i}", depth, children)
        for i, children in ((1, first_children), (2, None), (3, None))
    ]


@pytest.fixture
def tree() -> MapTree:
    return MapTree(
        topic='Escapes & "Edge" <Cases>',
        source=Source.GENERATED,
        model="claude-test",
        overview="An overview with *stars*, <tags> & a [link](x). Second sentence.",
        concepts=[*chain(1, "k"), concept("Plain key concept", 1)],
    )


def expected(tree: MapTree) -> list[tuple[int, str]]:
    return [(depth, c.title) for depth, c in tree.walk()]


def unescape_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_markdown(text: str) -> tuple[str, list[tuple[int, str]], str]:
    """The title, the outline (depth, title) and the text with escapes undone."""
    outline = []
    heading = re.compile(r"^(#{1,6}) (.*)$")
    item = re.compile(r"^( *)- \*\*((?:\\.|[^*\\])+)\*\*: ")
    title = ""
    for line in text.splitlines():
        if match := heading.match(line):
            level = len(match[1])
            if level == 1:
                title = unescape_markdown(match[2])
            else:
                outline.append((level - 1, unescape_markdown(match[2])))
        elif match := item.match(line):
            outline.append((6 + len(match[1]) // 2, unescape_markdown(match[2])))
    return title, outline, unescape_markdown(text)


def test_markdown_outline_holds_every_concept(tree: MapTree):
    text = export(tree, ExportFormat.MARKDOWN)
    title, outline, plain = parse_markdown(text)
    assert title == tree.topic
    assert outline == expected(tree)
    assert max(depth for depth, _ in outline) == DEEPEST
    for _, c in tree.walk():
        assert c.summary in plain and c.detail in plain
    # No line of text turns into a heading, list or quote of its own.
    assert not re.search(r"^(#+ |- |\d+\. |> )(?!\*\*)Not", text, re.MULTILINE)


def parse_mermaid(text: str) -> tuple[str, list[tuple[int, str]]]:
    lines = text.splitlines()
    assert lines[0] == "mindmap"
    decode = lambda label: re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label)  # noqa: E731
    root = re.fullmatch(r'  root\(\("([^"]*)"\)\)', lines[1])
    assert root, lines[1]
    outline = []
    for line in lines[2:]:
        node = re.fullmatch(r'( +)n\d+\["([^"]*)"\]', line)
        assert node, line
        # Nothing Mermaid reads as syntax is left raw inside a label.
        assert not re.search(r"[#&<>*_`\\](?!\d+;)", node[2]), line
        outline.append((len(node[1]) // 2 - 1, decode(node[2])))
    return decode(root[1]), outline


def test_mermaid_mindmap_holds_every_concept(tree: MapTree):
    topic, outline = parse_mermaid(export(tree, ExportFormat.MERMAID))
    assert topic == tree.topic
    assert outline == expected(tree)


def test_opml_parses_as_xml_and_holds_every_concept(tree: MapTree):
    opml = ET.fromstring(export(tree, ExportFormat.OPML).encode())
    assert opml.tag == "opml" and opml.get("version") == "2.0"
    assert opml.findtext("head/title") == tree.topic
    [root] = opml.findall("body/outline")
    assert (root.get("text"), root.get("_note")) == (tree.topic, tree.overview)

    outline: list[tuple[int, str]] = []
    notes: dict[str, str | None] = {}

    def walk(element: ET.Element, depth: int) -> None:
        for child in element.findall("outline"):
            outline.append((depth, child.get("text") or ""))
            notes[child.get("text") or ""] = child.get("_note")
            walk(child, depth + 1)

    walk(root, 1)
    assert outline == expected(tree)
    for _, c in tree.walk():
        assert notes[c.title] == f"{c.summary}\n\n{c.detail}"


def test_json_reads_back_into_the_model_unchanged(tree: MapTree):
    text = export(tree, ExportFormat.JSON)
    assert MapTree.model_validate_json(text) == tree
    assert json.loads(text)["source"] == "generated"


def test_html_embeds_the_markmap_data_and_its_scripts(tree: MapTree):
    page = export(tree, ExportFormat.HTML)
    [data] = re.findall(
        r'<script type="application/json" id="markmap-data">(.*?)</script>', page, re.DOTALL
    )
    root = json.loads(data)
    outline: list[tuple[int, str]] = []

    def text_of(node: dict) -> str:
        match = re.fullmatch(r'<span title="[^"]*">([^<]*)</span>', node["content"])
        assert match, node["content"]
        return html.unescape(match[1])

    def walk(node: dict, depth: int) -> None:
        for child in node["children"]:
            outline.append((depth, text_of(child)))
            walk(child, depth + 1)

    assert text_of(root) == tree.topic
    walk(root, 1)
    assert outline == expected(tree)
    # Self-contained: markmap and d3 inline, nothing fetched when the file is opened.
    assert "markmap.Markmap.create" in page and "d3js.org v7" in page
    assert " src=" not in page and "<link" not in page
    assert f"<title>{html.escape(tree.topic)}</title>" in page


def test_file_names_are_ascii_and_after_the_topic(tree: MapTree):
    assert filename(tree, ExportFormat.OPML) == "escapes-edge-cases.opml"
    unnamed = tree.model_copy(update={"topic": "量子"})
    assert filename(unnamed, ExportFormat.HTML) == "map.html"


# -- python -m bot maps export --------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database=tmp_path / "kinapse.db")


def titles_of(tree: MapTree) -> list[str]:
    return [c.title for _, c in tree.walk()]


@pytest.mark.parametrize("fmt", list(ExportFormat))
async def test_cli_exports_everything_a_server_explored(
    settings: Settings, fmt: ExportFormat, capsys: pytest.CaptureFixture[str]
):
    bundled = BundledMaps.load(settings.maps_dir)
    async with open_storage(settings.database) as storage:
        explorer = Explorer(storage, bundled, settings)
        stored = await explorer.topics.lookup(SCOPE, bundled.maps[0].topic)
        assert stored is not None
        first = (await storage.key_concepts(stored.id))[0]
        grown = (await storage.children(first.id))[0]
        deeper = [concept(f"Deeper {i}", 3) for i in range(3)]
        await storage.store_expansion(grown.id, deeper, leaf=False)
        tree = await explorer.library.map_tree(SCOPE, stored.topic)
    assert tree is not None
    assert {"Deeper 0", "Deeper 1", "Deeper 2"} <= set(titles_of(tree))

    assert await export_command(settings, stored.topic, fmt.value, SCOPE) == 0
    out = capsys.readouterr().out
    assert out == export(tree, fmt)
    if fmt is ExportFormat.MERMAID:
        assert parse_mermaid(out)[1] == expected(tree)
    elif fmt is ExportFormat.MARKDOWN:
        assert parse_markdown(out)[1] == expected(tree)
    elif fmt is ExportFormat.JSON:
        assert MapTree.model_validate_json(out) == tree
