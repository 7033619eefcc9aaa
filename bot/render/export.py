"""Export formats: pure functions from a whole map (``MapTree``) to a file's text.

Markdown outline, Mermaid mindmap, OPML, JSON and a self-contained interactive
HTML mind map (markmap, with its JavaScript inlined: it opens offline). Each
format carries every concept of the tree at every depth, escaped by that
format's own rules. Nothing here reads storage or talks to Discord.
"""

from __future__ import annotations

import enum
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path

from bot.i18n import N_
from bot.models import BundledConcept, MapTree

VENDOR = Path(__file__).parent / "vendor"
# markmap-view's browser build expects d3 as a global: d3 first.
MARKMAP_SCRIPTS = ("d3.min.js", "markmap-view.js")
MARKDOWN_HEADING_MAX = 6  # Markdown has no heading deeper than ######
FILENAME_STEM_MAX = 60
MARKMAP_NODE_WIDTH = 280  # px before a label wraps, so long titles stay readable


class ExportFormat(enum.StrEnum):
    MARKDOWN = "markdown"
    MERMAID = "mermaid"
    OPML = "opml"
    JSON = "json"
    HTML = "html"

    @property
    def suffix(self) -> str:
        return _SUFFIXES[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_SUFFIXES = {
    ExportFormat.MARKDOWN: ".md",
    ExportFormat.MERMAID: ".mmd",
    ExportFormat.OPML: ".opml",
    ExportFormat.JSON: ".json",
    ExportFormat.HTML: ".html",
}
_LABELS = {
    # Shown to members (the /export choices), so in the catalogs.
    ExportFormat.MARKDOWN: N_("Markdown outline"),
    ExportFormat.MERMAID: N_("Mermaid mindmap"),
    ExportFormat.OPML: N_("OPML (outliners, mind-map apps)"),
    ExportFormat.JSON: N_("JSON"),
    ExportFormat.HTML: N_("Interactive HTML mind map"),
}


def export(tree: MapTree, fmt: ExportFormat) -> str:
    return _RENDERERS[fmt](tree)


def filename(tree: MapTree, fmt: ExportFormat) -> str:
    """An ASCII file name after the topic: ``interest-rates.opml``."""
    stem = re.sub(r"[^a-z0-9]+", "-", tree.topic.casefold()).strip("-")
    return (stem[:FILENAME_STEM_MAX].rstrip("-") or "map") + fmt.suffix


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- Markdown ----------------------------------------------------------------------

# Inline punctuation Markdown may read as syntax; a backslash makes any ASCII
# punctuation literal (CommonMark 2.4).
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&#])")
# What makes a line a heading, quote, list item or rule when it starts one.
_MD_LINE_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def markdown_text(text: str) -> str:
    """Text shown literally in Markdown, safe at the start of a line too."""
    escaped = _MD_INLINE.sub(r"\\\1", _one_line(text))
    return _MD_LINE_START.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], escaped)


def to_markdown(tree: MapTree) -> str:
    """``# Topic``, the overview, then each concept as a heading as deep as it sits.

    Past the sixth heading level, deeper concepts are nested list items under it.
    """
    blocks = [f"# {markdown_text(tree.topic)}", markdown_text(tree.overview)]
    for depth, concept in tree.walk():
        title, summary = markdown_text(concept.title), markdown_text(concept.summary)
        detail = markdown_text(concept.detail)
        level = depth + 1
        if level <= MARKDOWN_HEADING_MAX:
            blocks += [f"{'#' * level} {title}", f"**{summary}**", detail]
        else:
            indent = "  " * (level - MARKDOWN_HEADING_MAX - 1)
            item = f"{indent}- **{title}**: {summary}\n{indent}  {detail}"
            # List items of one nested list stay together, without blank lines between.
            if blocks[-1].lstrip().startswith("- **"):
                blocks[-1] += "\n" + item
            else:
                blocks.append(item)
    return "\n\n".join(blocks) + "\n"


# -- Mermaid -----------------------------------------------------------------------

# Inside a quoted label Mermaid still reads entity codes (#35;), HTML and, in
# Markdown labels, * _ and backticks: write those as numeric entity codes.
_MERMAID_SPECIAL = re.compile(r"[\"#&<>*_`\\]")


def mermaid_text(text: str) -> str:
    return _MERMAID_SPECIAL.sub(lambda m: f"#{ord(m[0])};", _one_line(text))


def to_mermaid(tree: MapTree) -> str:
    """A ``mindmap``: the topic as the round root, each concept indented under its parent."""
    lines = ["mindmap", f'  root(("{mermaid_text(tree.topic)}"))']
    for number, (depth, concept) in enumerate(tree.walk(), start=1):
        lines.append(f'{"  " * (depth + 1)}n{number}["{mermaid_text(concept.title)}"]')
    return "\n".join(lines) + "\n"


# -- OPML --------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


def to_opml(tree: MapTree) -> str:
    """OPML 2.0: one outline for the topic, concepts nested in it; text in ``_note``."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = _xml_text(tree.topic)
    body = ET.SubElement(opml, "body")
    root = ET.SubElement(
        body, "outline", text=_xml_text(tree.topic), _note=_xml_text(tree.overview)
    )

    def add(parent: ET.Element, concepts: list[BundledConcept]) -> None:
        for concept in concepts:
            note = f"{concept.summary}\n\n{concept.detail}"
            outline = ET.SubElement(
                parent, "outline", text=_xml_text(concept.title), _note=_xml_text(note)
            )
            add(outline, concept.children or [])

    add(root, tree.concepts)
    ET.indent(opml)
    return ET.tostring(opml, encoding="unicode", xml_declaration=True) + "\n"


# -- JSON --------------------------------------------------------------------------


def to_json(tree: MapTree) -> str:
    """The ``MapTree`` model as JSON: ``MapTree.model_validate_json`` reads it back."""
    return tree.model_dump_json(indent=2) + "\n"


# -- HTML (markmap) ----------------------------------------------------------------

_HTML_PAGE = """<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Kinapse">
<title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; font-family: system-ui, sans-serif; }}
body {{ display: flex; flex-direction: column; }}
header {{ padding: 0.6rem 1rem; border-bottom: 1px solid #ddd; }}
header h1 {{ margin: 0 0 0.2rem; font-size: 1.2rem; }}
header p {{ margin: 0; color: #444; font-size: 0.9rem; }}
svg#mindmap {{ flex: 1; width: 100%; }}
</style>
</head>
<body>
<header><h1>{title}</h1><p>{overview}</p></header>
<svg id="mindmap"></svg>
<script type="application/json" id="markmap-data">{data}</script>
{scripts}
<script>
const data = JSON.parse(document.getElementById("markmap-data").textContent);
markmap.Markmap.create("svg#mindmap", {{ maxWidth: {node_width} }}, data);
</script>
</body>
</html>
"""


def markmap_data(tree: MapTree) -> dict:
    """The tree as markmap nodes: HTML content (escaped), the summary as a tooltip."""

    def node(title: str, about: str, concepts: list[BundledConcept]) -> dict:
        content = f'<span title="{html.escape(_one_line(about))}">{html.escape(title)}</span>'
        children = [node(c.title, c.summary, c.children or []) for c in concepts]
        return {"content": content, "children": children}

    return node(tree.topic, tree.overview, tree.concepts)


def _script_json(value: object) -> str:
    """JSON that cannot end its <script> element early or open a comment."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _inline_scripts() -> str:
    return "\n".join(
        f"<script>\n{(VENDOR / name).read_text(encoding='utf-8')}\n</script>"
        for name in MARKMAP_SCRIPTS
    )


def to_html(tree: MapTree) -> str:
    """A single HTML file that draws the map with markmap, with no network at view time."""
    return _HTML_PAGE.format(
        language=html.escape(tree.language),
        title=html.escape(_one_line(tree.topic)),
        overview=html.escape(_one_line(tree.overview)),
        data=_script_json(markmap_data(tree)),
        scripts=_inline_scripts(),
        node_width=MARKMAP_NODE_WIDTH,
    )


_RENDERERS: dict[ExportFormat, Callable[[MapTree], str]] = {
    ExportFormat.MARKDOWN: to_markdown,
    ExportFormat.MERMAID: to_mermaid,
    ExportFormat.OPML: to_opml,
    ExportFormat.JSON: to_json,
    ExportFormat.HTML: to_html,
}
