"""Export formats: pure functions from a whole map (``MapTree``) to a file's text.

Markdown outline, Mermaid mindmap, OPML, JSON and a self-contained interactive
HTML mind map (markmap, with its JavaScript inlined: it opens offline). Each
format carries every concept of the tree at every depth, escaped by that
format's own rules, and where its facts come from: Markdown as footnotes, OPML
in the notes, JSON as fields, HTML as a list of links (a mindmap has no room).
Nothing here reads storage or talks to Discord.
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
from bot.models import Citation, MapTree, Source, TreeConcept

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


def provenance(tree: MapTree) -> str:
    """Where the map comes from, in a line: "Curated · as of 2026-06" or "Written by
    claude-sonnet-4-6 on 2026-12-07"."""
    if tree.source is Source.BUNDLED:
        return f"Curated · as of {tree.as_of}" if tree.as_of else "Curated map"
    who = f"Written by {tree.model or 'Claude'}"
    return f"{who} on {tree.written}" if tree.written else who


def concept_provenance(tree: MapTree, concept: TreeConcept) -> str | None:
    """A concept's provenance when it differs from its map's: a sub-concept Claude wrote
    under a curated map, or a generated concept not checked against sources."""
    if concept.model is None:
        return None
    who = f"Written by {concept.model}" + (f" on {concept.written}" if concept.written else "")
    if not concept.sources:
        return f"{who}; not checked against sources"
    if tree.source is Source.BUNDLED:
        return who
    return None


def _about(source: Citation) -> str:
    return ", ".join(part for part in (source.pages_label, source.publisher, source.date) if part)


def _safe_url(url: str) -> str:
    """A URL that cannot close the markup around it: spaces, angle brackets and quotes
    percent-encoded (a stored source's URL has none, but a curated file might)."""
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E").replace('"', "%22")


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


class _Footnotes:
    """Markdown footnotes, one per URL, numbered in the order the text cites them."""

    def __init__(self) -> None:
        self.numbers: dict[object, int] = {}
        self.sources: list[Citation] = []

    def marks(self, sources: list[Citation]) -> str:
        marks = []
        for source in sources:
            if source.key not in self.numbers:
                self.sources.append(source)
                self.numbers[source.key] = len(self.sources)
            marks.append(f"[^{self.numbers[source.key]}]")
        return "".join(dict.fromkeys(marks))

    def definitions(self) -> list[str]:
        lines = []
        for number, source in enumerate(self.sources, start=1):
            line = f"[^{number}]: {markdown_text(source.title)}"
            if source.url is not None:
                line = f"[^{number}]: [{markdown_text(source.title)}](<{_safe_url(source.url)}>)"
            if about := _about(source):
                line += f", {markdown_text(about)}"
            if source.quote:
                line += f': "{markdown_text(source.quote)}"'
            lines.append(line)
        return lines


def to_markdown(tree: MapTree) -> str:
    """``# Topic``, where it comes from, the overview, then each concept as a heading as
    deep as it sits; sources as footnotes to the text they support.

    Past the sixth heading level, deeper concepts are nested list items under it.
    """
    notes = _Footnotes()
    blocks = [
        f"# {markdown_text(tree.topic)}",
        f"*{markdown_text(provenance(tree))}*",
        markdown_text(tree.overview) + notes.marks(tree.sources),
    ]
    for depth, concept in tree.walk():
        title, summary = markdown_text(concept.title), markdown_text(concept.summary)
        detail = markdown_text(concept.detail) + notes.marks(concept.sources)
        if (written := concept_provenance(tree, concept)) is not None:
            detail += f" *({markdown_text(written)})*"
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
    if notes.sources:
        blocks.append("\n".join(notes.definitions()))
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


def _opml_sources(sources: list[Citation], written: str | None = None) -> str:
    """Sources (and a provenance line) as the end of an OPML note."""
    parts = [f"({written})"] if written else []
    if sources:
        lines = []
        for source in sources:
            about = f" ({_about(source)})" if _about(source) else ""
            lines.append(f"- {source.title}{about}" + (f": {source.url}" if source.url else ""))
        parts.append("Sources:\n" + "\n".join(lines))
    return "".join(f"\n\n{part}" for part in parts)


def to_opml(tree: MapTree) -> str:
    """OPML 2.0: one outline for the topic, concepts nested in it; text in ``_note``, with
    its sources (and, when it differs from the map's, its provenance) at its end."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = _xml_text(tree.topic)
    body = ET.SubElement(opml, "body")
    overview = f"{tree.overview}{_opml_sources(tree.sources)}"
    root = ET.SubElement(body, "outline", text=_xml_text(tree.topic), _note=_xml_text(overview))

    def add(parent: ET.Element, concepts: list[TreeConcept]) -> None:
        for concept in concepts:
            written = concept_provenance(tree, concept)
            note = f"{concept.summary}\n\n{concept.detail}"
            note += _opml_sources(concept.sources, written)
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
header details {{ font-size: 0.85rem; color: #444; }}
svg#mindmap {{ flex: 1; width: 100%; }}
</style>
</head>
<body>
<header><h1>{title}</h1><p>{overview}</p>{sources}</header>
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

    def node(title: str, about: str, concepts: list[TreeConcept]) -> dict:
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


def html_sources(tree: MapTree) -> str:
    """Where the map comes from, and every source as a link under the text it supports."""
    groups = [(None, tree.sources)] + [
        (concept.title, concept.sources) for _, concept in tree.walk() if concept.sources
    ]
    items = []
    for heading, sources in groups:
        for source in sources:
            about = f" ({html.escape(_about(source))})" if _about(source) else ""
            where = f"{html.escape(_one_line(heading))}: " if heading else ""
            link = html.escape(source.title)
            if source.url is not None:
                href = html.escape(_safe_url(source.url), quote=True)
                link = f'<a href="{href}" rel="noopener noreferrer">{link}</a>'
            items.append(f"<li>{where}{link}{about}</li>")
    line = f"<p><em>{html.escape(provenance(tree))}</em></p>"
    if not items:
        return line
    listed = "".join(items)
    return f"{line}<details><summary>Sources ({len(items)})</summary><ol>{listed}</ol></details>"


def to_html(tree: MapTree) -> str:
    """A single HTML file that draws the map with markmap, with no network at view time."""
    return _HTML_PAGE.format(
        language=html.escape(tree.language),
        title=html.escape(_one_line(tree.topic)),
        overview=html.escape(_one_line(tree.overview)),
        sources=html_sources(tree),
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
