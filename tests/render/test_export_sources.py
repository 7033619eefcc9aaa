"""Exports carry where a map's facts come from: Markdown footnotes, OPML notes, JSON fields,
HTML links; a sub-concept Claude wrote under a curated map says so."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import pytest

from bot.i18n import speaking
from bot.models import Citation, MapTree, Source, TreeConcept
from bot.render.export import ExportFormat, export

IEA = Citation(
    title="Oil Market Report [Nov]",
    url="https://www.iea.org/reports/oil-market-report-november-2026",
    publisher="IEA",
    date="2026-11-14",
    quote="Brent averaged 64 dollars in October.",
)
EIA = Citation(title="Short-Term Energy Outlook", url='https://www.eia.gov/steo/?a=1&b="2"')


def concept(title: str, sources: list[Citation], **kw) -> TreeConcept:
    return TreeConcept(
        title=title,
        summary=f"{title} in one sentence.",
        detail=f"{title} in detail. It matters.",
        sources=sources,
        **kw,
    )


@pytest.fixture
def tree() -> MapTree:
    written = concept("Spot Prices", [], model="claude-sonnet-4-6", written="2026-12-07", leaf=True)
    return MapTree(
        topic="Oil",
        source=Source.BUNDLED,
        as_of="2026-07",
        overview="Oil is a fuel. It is traded worldwide.",
        sources=[IEA],
        concepts=[
            concept("Prices", [IEA, EIA], children=[written, concept("Futures", [EIA])]),
            concept("Producers", []),
            concept("Reserves", [EIA]),
            concept("Demand", []),
        ],
    )


def test_markdown_has_footnotes_once_per_source(tree: MapTree) -> None:
    text = export(tree, ExportFormat.MARKDOWN)
    assert text.startswith("# Oil\n\n*Curated · as of 2026-07*\n\n")
    assert "It is traded worldwide.[^1]" in text
    assert "Prices in detail. It matters.[^1][^2]" in text
    assert "Reserves in detail. It matters.[^2]" in text
    definitions = re.findall(r"^\[\^(\d)\]: (.*)$", text, re.MULTILINE)
    assert [n for n, _ in definitions] == ["1", "2"]
    assert definitions[0][1].startswith(
        "[Oil Market Report \\[Nov\\]](<https://www.iea.org/reports/oil-market-report-november-2026>)"
    )
    assert "IEA, 2026-11-14" in definitions[0][1]
    assert "(<https://www.eia.gov/steo/?a=1&b=%222%22>)" in definitions[1][1]
    assert "*(Written by claude-sonnet-4-6 on 2026-12-07; not checked against" in text


def test_opml_notes_end_with_their_sources(tree: MapTree) -> None:
    root = ET.fromstring(export(tree, ExportFormat.OPML))
    outlines = {o.get("text"): o.get("_note") or "" for o in root.iter("outline")}
    assert outlines["Oil"].endswith(f"Sources:\n- {IEA.title} (IEA, 2026-11-14): {IEA.url}")
    assert f"- {EIA.title}: {EIA.url}" in outlines["Prices"]
    assert "Sources:" not in outlines["Producers"]
    assert (
        "(Written by claude-sonnet-4-6 on 2026-12-07; not checked against sources)"
        in (outlines["Spot Prices"])
    )


def test_json_keeps_sources_and_provenance(tree: MapTree) -> None:
    text = export(tree, ExportFormat.JSON)
    data = json.loads(text)
    assert data["sources"][0]["url"] == IEA.url
    prices = data["concepts"][0]
    assert [s["url"] for s in prices["sources"]] == [IEA.url, EIA.url]
    assert prices["children"][0]["model"] == "claude-sonnet-4-6"
    assert prices["children"][0]["written"] == "2026-12-07"
    assert MapTree.model_validate_json(text) == tree


def test_html_lists_the_sources_as_links(tree: MapTree) -> None:
    page = export(tree, ExportFormat.HTML)
    assert "<em>Curated · as of 2026-07</em>" in page
    assert "<summary>Sources (5)</summary>" in page
    href = html.escape("https://www.eia.gov/steo/?a=1&b=%222%22", quote=True)
    assert f'<li>Prices: <a href="{href}" rel="noopener noreferrer">' in page
    assert html.escape(IEA.title) in page


def test_an_export_made_for_a_french_member_says_where_it_comes_from_in_french(
    tree: MapTree,
) -> None:
    """/export runs in the member's language: the export's own words follow it."""
    with speaking("fr"):
        text = export(tree, ExportFormat.MARKDOWN)
        page = export(tree, ExportFormat.HTML)
    assert text.startswith("# Oil\n\n*Collection · à jour en 2026-07*\n\n")
    # (A line of Markdown has its spaces made plain: "2026-12-07 ;".)
    assert "*(Écrit par claude-sonnet-4-6 le 2026-12-07 ; non vérifié dans des sources)*" in text
    assert "<em>Collection · à jour en 2026-07</em>" in page
